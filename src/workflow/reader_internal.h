// Internal to the workflow reader: the error collector and the typed accessors over yaml-cpp
// nodes that every part of the reader (workflow level, triggers, jobs, steps) shares.
// Included only by src/workflow/reader*.cc, so yaml-cpp stays out of public headers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workflow/model.h"
#include "workflow/reader.h"

namespace gantry::workflow::internal {

// How a string value may use ${{ }}.
enum class ExprUse {
  kNone,       // no expressions allowed here
  kTemplate,   // "text ${{ expr }} text", contexts of `key`
  kCondition,  // an `if:` value, contexts of `key`
};

class Reader {
 public:
  Reader(std::string file, const ReadOptions& options)
      : file_(std::move(file)),
        options_(options),
        calls_read_(options.calls_read ? options.calls_read : std::make_shared<size_t>(0)) {}

  const ReadOptions& options() const { return options_; }
  // Called workflows read so far by this read and the nested ones.
  const std::shared_ptr<size_t>& calls_read() const { return calls_read_; }
  const std::string& file() const { return file_; }
  std::vector<Diagnostic>& errors() { return errors_; }

  void Error(Mark mark, std::string message);
  void Error(const YAML::Node& node, std::string message) { Error(MarkOf(node), std::move(message)); }
  static Mark MarkOf(const YAML::Node& node);

  // Shape checks that report "A sequence was not expected" and the like.
  bool ExpectMap(const YAML::Node& node);
  bool ExpectSeq(const YAML::Node& node);
  bool ExpectScalar(const YAML::Node& node);
  // A null value (`key:` with nothing) counts as an empty mapping where GitHub allows it.
  static bool IsNull(const YAML::Node& node);

  // Walks a mapping: reports duplicate keys, keys with expressions and keys not in `known`
  // (when `known` is non-empty), then calls `fn` for each accepted key.
  using KeyFn = std::function<void(const std::string& key, const YAML::Node& key_node, const YAML::Node& value)>;
  // `on_insert`, when given, receives `${{ insert }}` keys (refused otherwise).
  void ForEachKey(const YAML::Node& map, const std::vector<std::string_view>& known, const KeyFn& fn,
                  const KeyFn* on_insert = nullptr);
  // "Required property is missing: name" at the mapping when `key` is absent.
  bool Require(const YAML::Node& map, std::string_view key);

  // A scalar as a string (booleans and numbers coerced as GitHub does: "true", "3.10").
  std::optional<std::string> String(const YAML::Node& node);
  // A string that may hold expressions as `use` says, checked against the contexts of `key`.
  std::optional<Text> ReadText(const YAML::Node& node, std::string_view key, ExprUse use);
  // A boolean or an expression ("true"/"false" or "${{ ... }}").
  std::optional<Text> ReadBoolOrExpr(const YAML::Node& node, std::string_view key);
  // A number or an expression.
  std::optional<Text> ReadNumberOrExpr(const YAML::Node& node, std::string_view key);
  // A string or a sequence of strings (no expressions).
  std::optional<std::vector<std::string>> StringList(const YAML::Node& node);
  // `name: value` pairs whose values are templates of `key`.
  TextMap ReadTextMap(const YAML::Node& node, std::string_view key);
  // Plain YAML data (no expression check), within the depth and node limits. With `expr_key`
  // (e.g. a matrix), strings with ${{ }} are checked against that key's contexts and
  // `${{ insert }}` keys are accepted (a mapping is merged now, an expression kept as
  // kInsertKey member for evaluation).
  std::optional<Literal> ReadLiteral(const YAML::Node& node, int depth = 0, std::string_view expr_key = {});

  // Expression checks (syntax + contexts of `key`), reporting at `text.mark`.
  void CheckTemplate(const Text& text, std::string_view key);
  void CheckCondition(const Text& text, std::string_view key);

  // Counts YAML nodes visited; false (after one error) when over the limit.
  bool CountNode(const YAML::Node& node);

 private:
  std::string file_;
  const ReadOptions& options_;
  std::vector<Diagnostic> errors_;
  size_t nodes_ = 0;
  bool node_limit_reported_ = false;
  std::shared_ptr<size_t> calls_read_;
};

// Scalar resolution of YAML 1.2's core schema (what GitHub's parser uses).
enum class ScalarType { kNull, kBool, kInt, kFloat, kString };
ScalarType ResolveScalar(const YAML::Node& node);
bool IsValidId(std::string_view id);

// Parts of the reader, one file each.
void ReadTriggers(Reader& r, const YAML::Node& on, Workflow& wf);
void ReadJobs(Reader& r, const YAML::Node& jobs, Workflow& wf);
void ReadConcurrency(Reader& r, const YAML::Node& node, std::string_view key, std::optional<Concurrency>& out);
void ReadPermissions(Reader& r, const YAML::Node& node, std::optional<Permissions>& out);
void ReadRunDefaults(Reader& r, const YAML::Node& node, std::string_view key, RunDefaults& out);
void CheckNeedsGraph(Reader& r, const Workflow& wf);
// Loads, reads and checks the workflow a job calls (`uses`, `with`, `secrets`); sets job.called.
void ReadCalledWorkflow(Reader& r, Job& job);

}  // namespace gantry::workflow::internal
