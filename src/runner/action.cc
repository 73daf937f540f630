#include "runner/action.h"

#include <yaml-cpp/yaml.h>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::runner {

namespace {

class MetadataReader {
 public:
  explicit MetadataReader(const std::string& file) : file_(file) {}

  std::string Where(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.line < 0) return file_ + ": ";
    return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
  }
  workflow::Mark MarkOf(const YAML::Node& n) const {
    auto m = n.Mark();
    return m.line < 0 ? workflow::Mark{} : workflow::Mark{m.line + 1, m.column + 1};
  }
  void Error(const YAML::Node& n, const std::string& msg) {
    if (errors_.size() < 50) errors_.push_back(Where(n) + msg);
  }
  bool CheckDepth(const YAML::Node& n, int depth) {
    if (depth > kMaxActionDepth) {
      Error(n, "nesting deeper than " + std::to_string(kMaxActionDepth) + " levels");
      return false;
    }
    if (n.IsSequence() || n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (n.IsMap()) {
          if (!CheckDepth(it->second, depth + 1)) return false;
        } else if (!CheckDepth(*it, depth + 1)) {
          return false;
        }
      }
    }
    return true;
  }
  std::optional<std::string> Scalar(const YAML::Node& n, const std::string& what) {
    if (n.IsNull()) return std::string();
    if (!n.IsScalar()) {
      Error(n, what + " must be a string");
      return std::nullopt;
    }
    return n.Scalar();
  }
  workflow::Text TextOf(const YAML::Node& n, const std::string& what) {
    workflow::Text t;
    t.value = Scalar(n, what).value_or("");
    t.mark = MarkOf(n);
    t.has_expression = t.value.find("${{") != std::string::npos;
    return t;
  }
  workflow::TextMap MapOf(const YAML::Node& n, const std::string& what) {
    workflow::TextMap out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) {
      Error(n, what + " must be a mapping");
      return out;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      out.emplace_back(it->first.Scalar(), TextOf(it->second, what + "." + it->first.Scalar()));
    }
    return out;
  }

  void ReadStep(const YAML::Node& n, size_t index, ActionMetadata& md) {
    if (!n.IsMap()) {
      Error(n, "a step must be a mapping");
      return;
    }
    workflow::Step s;
    s.mark = MarkOf(n);
    s.condition.value = "success()";
    s.condition.has_expression = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const YAML::Node v = it->second;  // a copy: it-> yields a temporary
      if (key == "id") {
        s.id = Scalar(v, "id").value_or("");
      } else if (key == "name") {
        s.name = TextOf(v, "name");
      } else if (key == "if") {
        s.condition = TextOf(v, "if");
        s.condition.has_expression = true;
        if (Trim(s.condition.value).empty()) s.condition.value = "success()";
      } else if (key == "run") {
        s.run = TextOf(v, "run");
      } else if (key == "shell") {
        s.shell = TextOf(v, "shell");
      } else if (key == "working-directory") {
        s.working_directory = TextOf(v, "working-directory");
      } else if (key == "uses") {
        s.uses = Scalar(v, "uses").value_or("");
      } else if (key == "with") {
        s.with = MapOf(v, "with");
      } else if (key == "env") {
        s.env = MapOf(v, "env");
      } else if (key == "continue-on-error") {
        s.continue_on_error = TextOf(v, "continue-on-error");
      } else if (key == "timeout-minutes") {
        s.timeout_minutes = TextOf(v, "timeout-minutes");
      } else {
        Error(it->first, "unknown key '" + key + "' in a composite step");
      }
    }
    if (!s.run && !s.uses) Error(n, "a step needs 'run' or 'uses'");
    if (s.run && s.uses) Error(n, "a step cannot have both 'run' and 'uses'");
    if (s.run && !s.shell) Error(n, "a 'run' step of a composite action needs 'shell'");
    if (s.id.empty()) {
      s.id = "__composite_" + std::to_string(index);
      s.id_generated = true;
    }
    md.steps.push_back(std::move(s));
  }

  Result<ActionMetadata> Read(std::string_view yaml) {
    if (yaml.size() > kMaxActionFileBytes)
      return Result<ActionMetadata>::Error(file_ + ": larger than " + std::to_string(kMaxActionFileBytes) + " bytes");
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return Result<ActionMetadata>::Error(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                           std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    ActionMetadata md;
    md.file = file_;
    if (!root.IsMap()) return Result<ActionMetadata>::Error(Where(root) + "action metadata must be a mapping");
    if (!CheckDepth(root, 0)) return Result<ActionMetadata>::Error(errors_.front());
    if (auto n = root["name"]) md.name = Scalar(n, "name").value_or("");
    if (auto inputs = root["inputs"]) {
      if (!inputs.IsMap() && !inputs.IsNull()) Error(inputs, "inputs must be a mapping");
      if (inputs.IsMap()) {
        for (auto it = inputs.begin(); it != inputs.end(); ++it) {
          ActionInput in;
          in.name = it->first.Scalar();
          if (it->second.IsMap()) {
            if (auto d = it->second["default"]) in.default_value = Scalar(d, "default").value_or("");
            if (auto r = it->second["required"]) in.required = r.IsScalar() && r.Scalar() == "true";
          }
          md.inputs.push_back(std::move(in));
        }
      }
    }
    if (auto outputs = root["outputs"]) {
      if (outputs.IsMap()) {
        for (auto it = outputs.begin(); it != outputs.end(); ++it) {
          ActionOutput out;
          out.name = it->first.Scalar();
          if (it->second.IsMap() && it->second["value"]) out.value = TextOf(it->second["value"], "value");
          md.outputs.push_back(std::move(out));
        }
      } else if (!outputs.IsNull()) {
        Error(outputs, "outputs must be a mapping");
      }
    }
    auto runs = root["runs"];
    if (!runs || !runs.IsMap()) {
      Error(runs ? runs : root, "missing 'runs' mapping");
    } else {
      md.using_ = runs["using"] ? Scalar(runs["using"], "runs.using").value_or("") : "";
      if (md.using_ == "composite") {
        auto steps = runs["steps"];
        if (!steps || !steps.IsSequence()) {
          Error(steps ? steps : runs, "a composite action needs 'runs.steps' as a list");
        } else if (steps.size() > kMaxCompositeSteps) {
          Error(steps, "more than " + std::to_string(kMaxCompositeSteps) + " steps");
        } else {
          for (size_t i = 0; i < steps.size(); ++i) ReadStep(steps[i], i, md);
        }
      } else if (StartsWith(md.using_, "node")) {
        if (md.using_ != "node12" && md.using_ != "node16" && md.using_ != "node20" && md.using_ != "node24")
          Error(runs["using"], "unsupported runtime '" + md.using_ + "' (node12, node16, node20 or node24)");
        if (auto m = runs["main"]) md.main = Scalar(m, "main").value_or("");
        if (md.main.empty()) Error(runs, "a JavaScript action needs 'runs.main'");
        if (auto p = runs["pre"]) md.pre = Scalar(p, "pre").value_or("");
        if (auto p = runs["post"]) md.post = Scalar(p, "post").value_or("");
        if (auto p = runs["pre-if"]) md.pre_if = Scalar(p, "pre-if").value_or("always()");
        if (auto p = runs["post-if"]) md.post_if = Scalar(p, "post-if").value_or("always()");
      } else if (md.using_ == "docker") {
        // Accepted here; running it needs a container engine (the step runner says so).
      } else {
        Error(runs["using"] ? runs["using"] : runs,
              "unknown 'runs.using: " + md.using_ + "' (composite, node16, node20 or docker)");
      }
    }
    if (!errors_.empty()) return Result<ActionMetadata>::Error(Join(errors_, "\n"));
    return md;
  }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

}  // namespace

Result<ActionMetadata> ReadActionMetadata(std::string_view yaml, const std::string& file) {
  try {
    return MetadataReader(file).Read(yaml);
  } catch (const YAML::Exception& e) {
    return Result<ActionMetadata>::Error(file + ": " + e.what());
  }
}

Result<ActionMetadata> LoadAction(const std::string& dir) {
  for (const char* name : {"action.yml", "action.yaml"}) {
    std::string path = dir + "/" + name;
    if (!PathExists(path)) continue;
    auto text = ReadFile(path, kMaxActionFileBytes);
    if (!text.ok()) return Result<ActionMetadata>::Error(text.error());
    return ReadActionMetadata(*text, path);
  }
  if (PathExists(dir + "/Dockerfile"))
    return Result<ActionMetadata>::Error(
        dir + ": a Dockerfile action needs a container engine, which gantry run does not use");
  return Result<ActionMetadata>::Error(dir + ": no action.yml or action.yaml there");
}

std::string ActionRef::ToString() const {
  switch (kind) {
    case Kind::kLocal:
      return local_path;
    case Kind::kDocker:
      return "docker://" + image;
    case Kind::kRemote:
      return owner + "/" + repo + (path.empty() ? "" : "/" + path) + "@" + ref;
  }
  return "";
}

Result<ActionRef> ParseActionRef(std::string_view uses) {
  ActionRef r;
  std::string_view u = Trim(uses);
  if (StartsWith(u, "./") || u == ".") {
    r.kind = ActionRef::Kind::kLocal;
    r.local_path = std::string(u);
    return r;
  }
  if (StartsWith(u, "docker://")) {
    r.kind = ActionRef::Kind::kDocker;
    r.image = std::string(u.substr(9));
    return r;
  }
  size_t at = u.rfind('@');
  if (at == std::string_view::npos || at + 1 == u.size())
    return Result<ActionRef>::Error("invalid action reference '" + std::string(u) +
                                    "': expected owner/repo@ref, owner/repo/path@ref, ./path or docker://image");
  r.kind = ActionRef::Kind::kRemote;
  r.ref = std::string(u.substr(at + 1));
  auto parts = Split(u.substr(0, at), '/');
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty())
    return Result<ActionRef>::Error("invalid action reference '" + std::string(u) + "': expected owner/repo@ref");
  for (const auto& p : parts) {
    if (p == ".." || p == ".")
      return Result<ActionRef>::Error("invalid action reference '" + std::string(u) + "': '..' is not allowed");
  }
  r.owner = parts[0];
  r.repo = parts[1];
  parts.erase(parts.begin(), parts.begin() + 2);
  r.path = Join(parts, "/");
  return r;
}

Result<std::string> ResolveRemoteAction(const ActionRef& ref, const std::string& action_dir) {
  if (action_dir.empty())
    return Result<std::string>::Error("action '" + ref.ToString() +
                                      "' is not built in and gantry run works offline: give --action-dir DIR "
                                      "with a copy of it at DIR/" +
                                      ref.owner + "/" + ref.repo + "@" + ref.ref +
                                      ", or --actions-url URL to fetch it with git from URL/" + ref.owner + "/" +
                                      ref.repo);
  std::string dir = action_dir + "/" + ref.owner + "/" + ref.repo + "@" + ref.ref;
  if (!ref.path.empty()) dir += "/" + ref.path;
  if (!PathExists(dir))
    return Result<std::string>::Error("action '" + ref.ToString() + "' not found in the action directory (looked for " +
                                      dir + ")");
  return dir;
}

}  // namespace gantry::runner
