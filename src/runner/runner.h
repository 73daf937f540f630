// gantry::runner::Runner — the engine's JobRunner: runs one job instance on an executor,
// step by step, with GitHub's step protocol (default env vars, env files, workflow commands,
// masking, outputs, actions). See README.md for what is supported.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "expr/value.h"
#include "runner/masker.h"
#include "runner/output.h"
#include "runner/store.h"

namespace gantry::runner {

struct RunnerOptions {
  std::string workspace;   // GITHUB_WORKSPACE; steps run here
  std::string repository;  // the repository's directory (source of actions/checkout)
  std::string temp_root;   // per-job RUNNER_TEMP directories are made under it
  std::string tool_cache;  // RUNNER_TOOL_CACHE
  std::string action_dir;  // mirror of remote actions: DIR/owner/repo@ref
  // Remote actions not in the mirror: git-fetched from `<actions_url>/owner/repo` at the ref
  // into `action_cache` (see action_fetch.h). Empty: none.
  std::string actions_url;
  std::string action_cache;
  std::string event_path;  // GITHUB_EVENT_PATH (a JSON file)
  std::map<std::string, std::string> secrets;
  // Secrets of deployment environments (the server's per-environment secrets): a job with
  // `environment: NAME` sees these on top of `secrets` (same name: the environment's wins).
  std::map<std::string, std::map<std::string, std::string>> environment_secrets;
  // runs-on label -> executor name ("sandbox" -> "sandbox"); labels not listed run on
  // `default_executor`.
  std::map<std::string, std::string> runs_on_map;
  std::string default_executor = "host";
  // The environment the host executor starts from ("NAME=value"), usually environ.
  std::vector<std::string> host_env;
  Masker* masker = nullptr;      // required
  OutputSink* sink = nullptr;    // required
  ActionStore* store = nullptr;  // artifacts and cache; built-in actions fail without it
  long long kill_grace_ms = 5000;
  bool debug = false;  // RUNNER_DEBUG / ACTIONS_STEP_DEBUG
  // Fired by a second Ctrl-C: stops the steps that run after a cancel (`if: always()`), which
  // otherwise get `cancel_timeout_ms` (GitHub's cancel-timeout-minutes, 5 minutes).
  engine::CancelToken force_cancel;
  long long cancel_timeout_ms = 5 * 60 * 1000;
  // Jobs at once inside a called (reusable) workflow (0 = number of cores), and who hears of
  // them starting and finishing.
  int parallel = 0;
  engine::SchedulerObserver observer;
  // Protected environments of server runs (also for the jobs of called workflows).
  engine::EnvironmentGate* gate = nullptr;
};

// Facts about the run used to build the `github` context and GITHUB_* variables.
struct RunInfo {
  std::string event_name = "push";
  expr::Value event = expr::Value::Object();  // the event payload
  std::string event_path;
  std::string sha, ref, base_ref, head_ref;
  std::string repository = "local/repository";  // owner/name
  std::string actor = "gantry";
  std::string workflow;  // name of the workflow
  std::string workflow_ref;
  std::string workspace;
  long long run_id = 1, run_number = 1;
  std::string server_url = "http://127.0.0.1";
};
// The `github` context (event_name, sha, ref, ref_name, ref_type, repository, workspace, ...).
expr::Value BuildGithubContext(const RunInfo& info);

class Runner : public engine::JobRunner {
 public:
  explicit Runner(RunnerOptions options);
  ~Runner() override;
  engine::JobOutcome RunJob(const engine::JobRun& run, const engine::CancelToken& cancel) override;
  const RunnerOptions& options() const { return options_; }

 private:
  // A job with `uses:` (reusable workflow): its called workflow's jobs run under a nested
  // Scheduler, named "caller / callee"; the job's outputs come from `on.workflow_call.outputs`.
  engine::JobOutcome RunCalledWorkflow(const engine::JobRun& run, const engine::CancelToken& cancel);

  RunnerOptions options_;
  std::atomic<long long> next_job_{0};
};

}  // namespace gantry::runner
