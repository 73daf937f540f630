// Planning and scheduling of workflow runs: event -> matching workflows -> matrix expansion ->
// needs-DAG -> jobs run in parallel by a JobRunner (src/runner implements it; tests use a fake).
//
// The engine evaluates what decides *whether and how often* a job runs (triggers, `if:` with
// status functions, `strategy.matrix`, fail-fast, max-parallel, continue-on-error); the
// JobRunner evaluates everything inside a job (runs-on, env, steps, outputs, timeout).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "expr/value.h"
#include "workflow/model.h"

namespace gantry::engine {

// ---- the event -------------------------------------------------------------------------------

struct Event {
  std::string name = "push";  // push | pull_request | workflow_dispatch | schedule | ...
  // push: the pushed ref ("refs/heads/main", "refs/tags/v1.2"); pull_request: the PR ref.
  std::string ref;
  // pull_request / pull_request_target: the base branch the PR targets ("main").
  std::string base_ref;
  // pull_request activity type ("opened" by default); filters `types:`.
  std::string action;
  // Files changed by the push / PR, for `paths:` filters; nullopt when unknown (filters pass).
  std::optional<std::vector<std::string>> changed_files;
};

// Does `workflow` run for `event`? Applies branches/tags/paths (and -ignore) filters with
// GitHub's glob semantics and activity types. `why_not` (optional) explains a mismatch.
bool WorkflowMatches(const workflow::Workflow& workflow, const Event& event, std::string* why_not = nullptr);

// GitHub's filter-pattern glob: `*` (not `/`), `**` (anything), `?`, `+`, `[...]`, `\` escape.
bool GlobMatch(std::string_view pattern, std::string_view subject);
// A list of patterns where `!pattern` negates: the last matching pattern decides.
bool FilterListMatches(const std::vector<std::string>& patterns, std::string_view subject);

// ---- matrix ----------------------------------------------------------------------------------

// Expands a matrix object ({dim: [values], include: [...], exclude: [...]}) exactly as GitHub:
// the cartesian product of the dimensions in key order, minus `exclude` (partial matches),
// then each `include` entry extends every combination whose original values it does not
// overwrite, or is added as a new combination. Errors when the result is empty-by-mistake or
// exceeds `limit`. Each result is an object.
Result<std::vector<expr::Value>> ExpandMatrix(const expr::Value& matrix, size_t limit = 256);
// The static matrix of a Strategy as a Value (for ExpandMatrix); nullopt when it needs an
// expression evaluated first.
std::optional<expr::Value> StaticMatrix(const workflow::Strategy& strategy);
expr::Value ToValue(const workflow::Literal& literal);
// True when a Literal holds `${{ }}` strings or `${{ insert }}` members (evaluated when the job
// is ready, with the contexts of `strategy`).
bool LiteralNeedsEvaluation(const workflow::Literal& literal);
// The matrix of a Strategy with every expression evaluated against `contexts` (github, inputs,
// vars, needs): whole-matrix, per-vector and include/exclude expressions, `${{ }}` strings in
// values, `${{ insert }}` mappings. Errors are `file:line:col: message`.
Result<expr::Value> EvaluateMatrix(const workflow::Strategy& strategy, const expr::Value& contexts,
                                   const std::string& file);

// ---- plan ------------------------------------------------------------------------------------

struct PlanOptions {
  std::vector<std::string> only_jobs;  // -j: these jobs and everything they need
  // --matrix k:v filters: keep combinations whose value of k displays as v.
  std::vector<std::pair<std::string, std::string>> matrix_filter;
};

struct PlannedJob {
  const workflow::Job* job = nullptr;
  std::vector<size_t> needs;  // indexes into Plan::jobs
  // Known at plan time when the matrix is static (empty = one instance without a matrix);
  // `matrix_deferred` when it comes from an expression (expanded when the job is ready).
  std::vector<expr::Value> matrix;
  bool matrix_deferred = false;
};

struct Plan {
  const workflow::Workflow* workflow = nullptr;
  std::vector<PlannedJob> jobs;                                    // topological order (every job after what it needs)
  std::vector<std::pair<std::string, std::string>> matrix_filter;  // from PlanOptions
};

// Keeps the combinations whose value of each filtered key displays as the given value.
std::vector<expr::Value> FilterMatrix(std::vector<expr::Value> combos,
                                      const std::vector<std::pair<std::string, std::string>>& filter);

// Builds the DAG of one (already validated) workflow.
Result<Plan> PlanWorkflow(const workflow::Workflow& workflow, const PlanOptions& options = {});

// "build (ubuntu-latest, 18)": the job's name (or id) with the matrix values, as GitHub shows.
std::string InstanceName(const workflow::Job& job, const expr::Value& matrix);

// ---- running ---------------------------------------------------------------------------------

enum class JobResult { kSuccess, kFailure, kCancelled, kSkipped };
// "success" | "failure" | "cancelled" | "skipped" (the values of needs.<job>.result).
const char* ResultName(JobResult result);

// Cancellation shared by the scheduler and every running job. Copies share the state.
class CancelToken {
 public:
  CancelToken();
  bool cancelled() const;
  void Cancel() const;
  // Calls `fn` once when cancelled (at once if already cancelled), on the cancelling thread.
  // Returns an id for Forget(); `fn` must be cheap and must not call back into the token.
  int OnCancel(std::function<void()> fn) const;
  void Forget(int id) const;
  // Sleeps until cancelled or `timeout` passed; true if cancelled.
  bool WaitFor(std::chrono::milliseconds timeout) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// One job instance (one matrix combination) handed to the JobRunner.
struct JobRun {
  const workflow::Workflow* workflow = nullptr;
  const workflow::Job* job = nullptr;
  std::string display_name;  // InstanceName()
  // Contexts, already evaluated: matrix (object; empty without a matrix), strategy
  // ({fail-fast, job-index, job-total, max-parallel}), needs ({id: {result, outputs}}),
  // and the run-wide ones given in SchedulerOptions (github, inputs, vars).
  expr::Value matrix;
  expr::Value strategy;
  expr::Value needs;
  expr::Value github;
  expr::Value inputs;
  expr::Value vars;
};

struct JobOutcome {
  JobResult result = JobResult::kSuccess;
  std::map<std::string, std::string> outputs;  // the evaluated `outputs:` of the job
};

// The seam between engine and runner. RunJob is called from scheduler worker threads, up to
// `parallel` at once; it must return soon after `cancel` fires (with kCancelled).
class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual JobOutcome RunJob(const JobRun& run, const CancelToken& cancel) = 0;
};

// Hook for `concurrency:` groups (server-side later). Local runs pass none.
class ConcurrencyHook {
 public:
  virtual ~ConcurrencyHook() = default;
  // Called before a job instance starts with its evaluated group; blocks until it may run.
  virtual Status Enter(const std::string& group, bool cancel_in_progress, const CancelToken& cancel) = 0;
  virtual void Leave(const std::string& group) = 0;
};

// Hook for protected environments (server runs): asked before an instance of a job with
// `environment:` starts, with the evaluated environment name, from the scheduler's thread
// without its lock. kWait: the instance waits without holding a `parallel` slot and is
// asked again after `gate_poll`; cancelling the run cancels it. kFail: it concludes as a
// failure with `message` (reported through observer.error).
struct GateAnswer {
  enum class Kind { kProceed, kWait, kFail };
  Kind kind = Kind::kProceed;
  std::string message;
};
class EnvironmentGate {
 public:
  virtual ~EnvironmentGate() = default;
  virtual GateAnswer Check(const JobRun& run, const std::string& environment) = 0;
};

// A job concluded before this scheduler ran (a run resumed after a server restart): it
// is not run again; its dependants see this result and these outputs.
struct CompletedJob {
  JobResult result = JobResult::kSuccess;
  std::map<std::string, std::string> outputs;
};

// Progress callbacks (console output, --json); called with the scheduler's lock released,
// possibly from worker threads.
struct SchedulerObserver {
  std::function<void(const JobRun&)> job_started;
  // Also for skipped jobs, and for instances the EnvironmentGate held or refused that end
  // without starting (no job_started before).
  std::function<void(const JobRun&, const JobOutcome&)> job_finished;
  std::function<void(const std::string& message)> error;  // e.g. a bad `if:`
};

struct SchedulerOptions {
  int parallel = 0;  // jobs at once; 0 = number of cores
  expr::Value github, inputs, vars;
  CancelToken cancel;  // cancel the whole run (Ctrl-C)
  // Fired by a second Ctrl-C: also stops the jobs that run after a cancel (`if: always()`).
  CancelToken force_cancel;
  SchedulerObserver observer;
  // Prefix of every instance's display name ("caller / " for a called workflow's jobs).
  std::string name_prefix;
  ConcurrencyHook* concurrency = nullptr;
  EnvironmentGate* gate = nullptr;
  std::chrono::milliseconds gate_poll{1000};
  std::map<std::string, CompletedJob> completed;  // by job id
};

struct InstanceRecord {
  std::string job_id;
  std::string display_name;
  expr::Value matrix;
  JobOutcome outcome;
  // The job failed but had continue-on-error: true (its result counts as success).
  bool failure_allowed = false;
  std::chrono::steady_clock::duration duration{};
};

struct RunSummary {
  std::vector<InstanceRecord> instances;  // in finishing order
  bool success = true;                    // no instance failed (or was cancelled)
  bool cancelled = false;
};

// Runs every job of the plans (several workflows share the `parallel` slots).
class Scheduler {
 public:
  Scheduler(JobRunner& runner, SchedulerOptions options);
  RunSummary Run(const std::vector<Plan>& plans);

 private:
  JobRunner& runner_;
  SchedulerOptions options_;
};

}  // namespace gantry::engine
