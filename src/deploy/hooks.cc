#include "deploy/hooks.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "base/fs.h"
#include "base/process.h"

extern char** environ;

namespace gantry::deploy {

namespace {
std::string At(const std::string& file, const YAML::Node& n, const std::string& what) {
  return file + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1) + ": " + what;
}
}  // namespace

Result<AppSpec> ParseAppSpec(const std::string& text, const std::string& file) {
  if (text.size() > 256 * 1024) return Result<AppSpec>::Error(file + ":1:1: appspec larger than 256 KiB");
  int depth = 0;  // yaml-cpp recurses per flow level: refuse deep nesting before parsing
  for (char c : text) {
    if ((c == '[' || c == '{') && ++depth > 32)
      return Result<AppSpec>::Error(file + ":1:1: nesting deeper than 32 levels");
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  AppSpec spec;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return Result<AppSpec>::Error(file + ":1:1: appspec must be a mapping");
    const YAML::Node hooks = root["hooks"];
    if (!hooks) return spec;
    if (!hooks.IsMap()) return Result<AppSpec>::Error(At(file, hooks, "hooks must map lifecycle events to scripts"));
    for (const auto& kv : hooks) {
      const std::string event = kv.first.Scalar();
      if (std::none_of(std::begin(kLifecycleEvents), std::end(kLifecycleEvents),
                       [&](const char* e) { return event == e; }))
        return Result<AppSpec>::Error(At(file, kv.first, "unknown lifecycle event '" + event + "'"));
      if (!kv.second.IsSequence()) return Result<AppSpec>::Error(At(file, kv.second, event + " must be a list"));
      for (const auto& s : kv.second) {
        if (!s.IsMap() || !s["location"] || !s["location"].IsScalar())
          return Result<AppSpec>::Error(At(file, s, "a hook needs a location"));
        HookScript h;
        h.location = s["location"].Scalar();
        if (s["timeout"]) {
          const long long secs = s["timeout"].as<long long>();
          if (secs < 1 || secs > 3600)
            return Result<AppSpec>::Error(At(file, s["timeout"], "timeout must be 1..3600 s"));
          h.timeout_ms = secs * 1000;
        }
        spec.hooks[event].push_back(h);
      }
    }
  } catch (const YAML::Exception& e) {
    return Result<AppSpec>::Error(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                  std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return spec;
}

Status RunHook(const AppSpec& spec, const std::string& event, const std::string& cwd,
               const std::map<std::string, std::string>& env, const std::string& log_path) {
  auto it = spec.hooks.find(event);
  if (it == spec.hooks.end()) return Status::Ok();
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  envs.push_back("LIFECYCLE_EVENT=" + event);
  for (const auto& script : it->second) {
    ProcessSpec p;
    const std::string path = script.location.starts_with("/") ? script.location : cwd + "/" + script.location;
    p.argv = {"/bin/sh", path};
    p.env = envs;
    p.cwd = cwd;
    p.timeout_ms = script.timeout_ms;
    p.kill_grace_ms = 2000;
    p.on_line = [&](OutputStream, std::string_view line) {
      (void)AppendFile(log_path, "[" + event + "] " + std::string(line) + "\n");
    };
    auto res = RunProcess(p);
    if (!res.ok()) return Status::Error(event + " hook " + script.location + ": " + res.error());
    if (res->timed_out) return Status::Error(event + " hook " + script.location + " timed out");
    if (res->exit_code != 0)
      return Status::Error(event + " hook " + script.location + " exited with " + std::to_string(res->exit_code));
  }
  return Status::Ok();
}

}  // namespace gantry::deploy
