// Internal to src/runner: the state of one running job instance, shared by job.cc (the step
// loop, contexts, env), script.cc (a process with workflow commands and env files) and
// actions.cc / builtin_actions.cc (composite, JavaScript and built-in actions).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/process.h"
#include "expr/expr.h"
#include "runner/action.h"
#include "runner/executor.h"
#include "runner/runner.h"
#include "runner/shell.h"

namespace gantry::runner {

using EnvMap = std::map<std::string, std::string>;

// What the steps of one level see: the job itself, or the inside of a composite action.
struct Scope {
  expr::Value steps = expr::Value::Object();
  expr::Value inputs;             // null at job level: the run's inputs are used
  std::string action_path;        // composite: GITHUB_ACTION_PATH / github.action_path
  std::string action_repository;  // composite from the mirror: owner/repo
  EnvMap env;                     // env of the composite step, seen by its inner steps
  expr::JobStatus status = expr::JobStatus::kSuccess;
  bool composite = false;
  int depth = 0;
};

// The result of one step's body (before continue-on-error).
struct StepRun {
  StepConclusion outcome = StepConclusion::kSuccess;
  std::map<std::string, std::string> outputs;
};

// A JavaScript action's `post:` to run when the job ends.
struct PostStep {
  std::string display;
  std::string condition;
  std::vector<std::string> argv;
  EnvMap env;  // INPUT_* and the step's env, plus STATE_* added when it runs
  std::map<std::string, std::string> state;
  std::string action_path;
  std::function<StepConclusion()> builtin;  // built-in actions' post (cache save)
};

class Job {
 public:
  Job(const RunnerOptions& options, const engine::JobRun& run, long long serial);
  engine::JobOutcome Run(const engine::CancelToken& token);

  // ---- used by script.cc / actions.cc -----------------------------------------------------
  const RunnerOptions& opts() const { return opts_; }
  const std::string& name() const { return run_.display_name; }
  const std::string& workspace() const { return opts_.workspace; }
  const std::string& temp_dir() const { return temp_dir_; }
  // What stops the current step's processes.
  CancelSource& cancel() { return after_cancel_ ? force_ : cancel_; }

  // The contexts for evaluating an expression inside `scope` with env `env`.
  expr::EvalContext Context(const Scope& scope, const EnvMap& env) const;
  // Evaluates a template string (no ${{ }}: the text itself).
  Result<std::string> Eval(const std::string& text, const expr::EvalContext& ctx) const;
  Result<expr::Value> EvalValue(const std::string& text, const expr::EvalContext& ctx) const;
  // Evaluates an env/with/outputs mapping in order; an `${{ insert }}` entry (or a whole-mapping
  // expression) merges the mapping its expression yields. `set` gets each name and value and
  // may update `ctx` (env values see the ones before them). Errors name `what.key`, prefixed
  // with `file:line:col: ` when `file` is given.
  Status EvalMap(const workflow::TextMap& map, expr::EvalContext& ctx, const std::string& what,
                 const std::function<void(const std::string&, std::string)>& set, const std::string& file = "") const;

  // Runs a process for a step: process env = defaults + `env` (+ PATH additions); handles
  // workflow commands and env files. `outputs` receives set-output / GITHUB_OUTPUT.
  struct ScriptRequest {
    std::vector<std::string> argv;
    EnvMap env;
    std::string cwd;
    std::string action_name;  // GITHUB_ACTION
    std::string action_path;  // GITHUB_ACTION_PATH
    long long timeout_ms = 0;
    std::map<std::string, std::string>* state = nullptr;  // GITHUB_STATE / save-state
  };
  StepConclusion RunScript(const ScriptRequest& req, std::map<std::string, std::string>* outputs);

  // One step (run or uses) with its `if`, env, continue-on-error; updates scope.steps/status.
  void RunStep(const workflow::Step& step, Scope& scope, const std::string& default_shell,
               const std::string& default_workdir);
  // The step bodies.
  StepRun RunRunStep(const workflow::Step& step, Scope& scope, const EnvMap& env, const expr::EvalContext& ctx,
                     const std::string& default_shell, const std::string& default_workdir, long long timeout_ms);
  StepRun RunUsesStep(const workflow::Step& step, Scope& scope, const EnvMap& env, const expr::EvalContext& ctx,
                      long long timeout_ms);
  // Built-in actions (actions/checkout, upload/download-artifact, cache); nullopt if `ref`
  // is not one of them.
  std::optional<StepRun> RunBuiltin(const ActionRef& ref, const std::map<std::string, std::string>& inputs,
                                    const workflow::Step& step);

  void Error(const std::string& message);
  void AddEnv(const std::string& name, const std::string& value) { added_env_[name] = value; }
  void AddPath(const std::string& dir) { added_path_.insert(added_path_.begin(), dir); }
  void AddPost(PostStep post) { posts_.push_back(std::move(post)); }
  // Cached action metadata by directory.
  Result<const ActionMetadata*> Action(const std::string& dir);

 private:
  void BuildDefaults();
  std::vector<std::string> ProcessEnv(const EnvMap& env, const ScriptRequest& req) const;
  long long RemainingMs() const;
  bool JobTimedOut() const { return has_deadline_ && std::chrono::steady_clock::now() >= deadline_; }
  void RunPosts();

  const RunnerOptions& opts_;
  const engine::JobRun& run_;
  long long serial_;
  std::string temp_dir_;
  std::string files_dir_;  // GITHUB_ENV & co.
  std::unique_ptr<Executor> executor_;
  CancelSource cancel_;        // the job was cancelled: stops the running step
  CancelSource force_;         // a second cancel: stops the steps running after the first one
  bool after_cancel_ = false;  // the current step runs after a cancel / the job's timeout
  bool job_timed_out_ = false;
  EnvMap job_env_;                                             // workflow env + job env
  EnvMap added_env_;                                           // GITHUB_ENV, set-env
  std::vector<std::string> added_path_;                        // GITHUB_PATH, newest first
  std::vector<std::pair<std::string, std::string>> defaults_;  // GITHUB_*, RUNNER_*, CI
  std::vector<std::string> host_env_;                          // opts.host_env without names the runner sets
  std::string host_path_;
  expr::Value base_contexts_;  // github, vars, secrets, strategy, matrix, needs, runner, job
  std::vector<PostStep> posts_;
  std::map<std::string, std::unique_ptr<ActionMetadata>> actions_;
  std::chrono::steady_clock::time_point deadline_;
  bool has_deadline_ = false;
  long long script_counter_ = 0;
  std::string stop_token_;
  expr::JobStatus run_status_ = expr::JobStatus::kSuccess;
  std::string files_[5];  // env, output, path, state, summary
};

}  // namespace gantry::runner
