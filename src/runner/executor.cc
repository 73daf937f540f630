#include "runner/executor.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "base/strings.h"

namespace gantry::runner {

namespace {

class HostExecutor : public Executor {
 public:
  const std::string& name() const override { return name_; }
  Result<ProcessResult> Run(ProcessSpec spec) override { return RunProcess(spec); }

 private:
  std::string name_ = "host";
};

// Runs each process under bwrap. The sandbox sees the host root read-only, so installed
// tools work unchanged, while only the job's own directories are writable.
class SandboxExecutor : public Executor {
 public:
  SandboxExecutor(std::string bwrap, ExecutorConfig config, std::string name)
      : bwrap_(std::move(bwrap)), config_(std::move(config)), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }

  Result<ProcessResult> Run(ProcessSpec spec) override {
    std::vector<std::string> argv = {
        bwrap_, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--die-with-parent"};
    if (config_.unshare_net) argv.push_back("--unshare-net");
    for (const auto& p : config_.writable_paths) {
      argv.insert(argv.end(), {"--bind", p, p});
    }
    if (!spec.cwd.empty()) argv.insert(argv.end(), {"--chdir", spec.cwd});
    argv.push_back("--");
    // bwrap resolves the program itself with the PATH it is given, so pass a full path.
    std::string path_list;
    for (const auto& e : spec.env) {
      if (StartsWith(e, "PATH=")) path_list = e.substr(5);
    }
    std::string program = FindProgram(spec.argv[0], path_list.empty() ? "/usr/bin:/bin" : path_list);
    if (program.empty()) return Result<ProcessResult>::Error(spec.argv[0] + ": command not found in PATH");
    argv.push_back(program);
    argv.insert(argv.end(), spec.argv.begin() + 1, spec.argv.end());
    spec.argv = std::move(argv);
    return RunProcess(spec);
  }

 private:
  std::string bwrap_;
  ExecutorConfig config_;
  std::string name_;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, ExecutorFactory> factories;
};

std::string HostPath() {
  const char* p = std::getenv("PATH");
  return p != nullptr ? p : "/usr/local/bin:/usr/bin:/bin";
}

Result<std::unique_ptr<Executor>> MakeSandbox(const ExecutorConfig& config, bool nonet) {
  std::string bwrap = FindProgram("bwrap", HostPath());
  if (bwrap.empty())
    return Result<std::unique_ptr<Executor>>::Error(
        "the sandbox executor needs bubblewrap ('bwrap'), which is not installed (apt-get install bubblewrap)");
  ExecutorConfig c = config;
  c.unshare_net = c.unshare_net || nonet;
  return std::unique_ptr<Executor>(
      std::make_unique<SandboxExecutor>(bwrap, std::move(c), nonet ? "sandbox-nonet" : "sandbox"));
}

Registry& GetRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;  // NOLINT: process-lifetime singleton, never destroyed
    reg->factories["host"] = [](const ExecutorConfig&) -> Result<std::unique_ptr<Executor>> {
      return std::unique_ptr<Executor>(std::make_unique<HostExecutor>());
    };
    reg->factories["sandbox"] = [](const ExecutorConfig& c) { return MakeSandbox(c, false); };
    reg->factories["sandbox-nonet"] = [](const ExecutorConfig& c) { return MakeSandbox(c, true); };
    return reg;
  }();
  return *r;
}

}  // namespace

void RegisterExecutor(const std::string& name, ExecutorFactory factory) {
  auto& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[name] = std::move(factory);
}

Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name, const ExecutorConfig& config) {
  auto& r = GetRegistry();
  ExecutorFactory f;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [k, v] : r.factories) known += (known.empty() ? "" : ", ") + k;
      return Result<std::unique_ptr<Executor>>::Error("unknown executor '" + name + "' (known: " + known + ")");
    }
    f = it->second;
  }
  return f(config);
}

std::vector<std::string> ExecutorNames() {
  auto& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [k, v] : r.factories) out.push_back(k);
  return out;
}

std::string FindContainerEngine() {
  for (const char* engine : {"podman", "docker"}) {
    if (FindProgram(engine, HostPath()).empty()) continue;
    ProcessSpec spec;
    spec.argv = {engine, "info"};
    spec.env = {"PATH=" + HostPath()};
    if (const char* home = std::getenv("HOME")) spec.env.push_back(std::string("HOME=") + home);
    spec.timeout_ms = 10000;
    auto r = RunProcess(spec);
    if (r.ok() && r->exit_code == 0) return engine;
  }
  return "";
}

}  // namespace gantry::runner
