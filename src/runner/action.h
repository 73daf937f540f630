// Action metadata (action.yml / action.yaml) and where an action's files come from:
// `./path` in the workspace, or owner/repo[/path]@ref from the action mirror directory
// (`--action-dir DIR`, laid out as DIR/owner/repo@ref). Built-in actions (checkout,
// artifacts, cache) are in builtin_actions.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "workflow/model.h"

namespace gantry::runner {

struct ActionInput {
  std::string name;
  std::optional<std::string> default_value;  // may contain ${{ }}
  bool required = false;
};

struct ActionOutput {
  std::string name;
  workflow::Text value;  // composite actions only
};

struct ActionMetadata {
  std::string file;  // the action.yml read, for messages
  std::string name;
  std::vector<ActionInput> inputs;
  std::vector<ActionOutput> outputs;
  std::string using_;  // "composite", "node12", "node16", "node20", "docker"
  // JavaScript actions: files relative to the action directory; *_if are conditions.
  std::string main, pre, post;
  std::string pre_if = "always()", post_if = "always()";
  std::vector<workflow::Step> steps;  // composite
};

// Limits on action.yml (it comes from a repository, i.e. outside input).
inline constexpr size_t kMaxActionFileBytes = 1u << 20;
inline constexpr int kMaxActionDepth = 32;
inline constexpr size_t kMaxCompositeSteps = 1000;

// Parses action metadata; errors are "file:line:col: message".
Result<ActionMetadata> ReadActionMetadata(std::string_view yaml, const std::string& file);
// Reads DIR/action.yml or DIR/action.yaml.
Result<ActionMetadata> LoadAction(const std::string& dir);

// A parsed `uses:` reference.
struct ActionRef {
  enum class Kind { kLocal, kRemote, kDocker };
  Kind kind = Kind::kLocal;
  std::string owner, repo, path, ref;  // remote: owner/repo[/path]@ref
  std::string local_path;              // local: "./dir" as written
  std::string image;                   // docker://image
  std::string ToString() const;
};
Result<ActionRef> ParseActionRef(std::string_view uses);

// The directory of a remote action in the mirror: DIR/owner/repo@ref[/path]; an error naming
// the action (and where it was looked for) when absent.
Result<std::string> ResolveRemoteAction(const ActionRef& ref, const std::string& action_dir);

}  // namespace gantry::runner
