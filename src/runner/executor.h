// Executors: where a job's processes run. Registered by name ("host", "sandbox"); a job picks
// one through its `runs-on` labels (RunnerOptions::runs_on_map, e.g. sandbox=sandbox).
//
//   host     the process runs directly on this machine (like a self-hosted runner)
//   sandbox  bubblewrap: read-only view of the host root, writable workspace and temp
//            directories, a private /tmp, optionally no network (`sandbox-nonet`)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/process.h"
#include "base/status.h"

namespace gantry::runner {

// Paths the executor must make writable for the job.
struct ExecutorConfig {
  std::vector<std::string> writable_paths;  // workspace, runner temp, tool cache, store
  bool unshare_net = false;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual const std::string& name() const = 0;
  virtual Result<ProcessResult> Run(ProcessSpec spec) = 0;
};

using ExecutorFactory = std::function<Result<std::unique_ptr<Executor>>(const ExecutorConfig&)>;

// Registers a factory under `name` (later registrations replace earlier ones).
void RegisterExecutor(const std::string& name, ExecutorFactory factory);
Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name, const ExecutorConfig& config);
std::vector<std::string> ExecutorNames();

// The name of the container engine found (docker or podman with a reachable daemon), or "".
std::string FindContainerEngine();

}  // namespace gantry::runner
