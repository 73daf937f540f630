// The run queue: runs are created queued in the store (by pushes, webhooks, dispatch,
// schedules, re-runs) and executed by N executor threads with the engine's Scheduler and
// the runner; state, log lines, outputs, annotations and summaries go to the store as they
// happen (store_sink.cc). Concurrency groups and cancellation live here.
//
// Crash policy (docs/server.md): runs found `running` at start were interrupted by a crash;
// they are completed as failure with the message "interrupted: ..." and can be re-run.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "server/approvals.h"
#include "store/store.h"

namespace gantry::runner {
class ActionStore;
}

namespace gantry::server {

// What the platform gives each run beyond the defaults: the store behind the built-in
// artifact/cache actions and extra step env (service URLs and the run's runtime token).
struct RunServices {
  std::shared_ptr<runner::ActionStore> store;
  std::vector<std::string> env;
};
using RunServicesFn = std::function<RunServices(const store::Run&)>;

// Told when a run starts ("started", conclusion empty) and when it ends ("completed", with
// its conclusion); the platform turns these into metrics and notifications. Called on the
// executor's thread, so it must not block for long.
using RunObserverFn =
    std::function<void(const store::Run& run, const std::string& phase, const std::string& conclusion, int64_t now_ms)>;

struct TriggerRequest {
  std::string event = "push";  // push | workflow_dispatch | schedule
  std::string ref;             // "refs/heads/main"
  std::string sha;             // resolved commit
  std::string before;          // previous commit of the ref (paths filters), may be empty
  std::string workflow;        // only this workflow file (dispatch); "" = all matching
  std::map<std::string, std::string> inputs;
};

struct QueueOptions {
  std::string data_dir;
  int slots = 2;
  std::string server_url;
  int retention_days = 0;  // 0 = keep every run
  // How long a job waits for the approvals of its environment before it fails (GitHub: 30 days).
  int64_t approval_timeout_ms = 30LL * 86400 * 1000;
  std::chrono::milliseconds approval_poll{1000};  // how often a waiting job looks for decisions
};

class RunQueue {
 public:
  RunQueue(store::Store& store, QueueOptions options);
  ~RunQueue();

  std::string RepoPath(const std::string& project) const;
  // Creates a queued run for every workflow at `sha` whose `on:` matches; returns them.
  Result<std::vector<store::Run>> Trigger(const store::Project& project, const TriggerRequest& request);
  // Queued: completed as cancelled at once. Running: its jobs are cancelled.
  Status Cancel(int64_t run_id, const std::string& why = "cancelled");
  // Re-queues a completed run: every job, or only the failed ones (and what they need).
  Status Rerun(int64_t run_id, bool failed_only);
  // The crash policy; returns how many runs were marked. A run with a job waiting for an
  // approval is queued again instead: it resumes with its finished jobs' results and the
  // waiting job waits again (approvals are in the store).
  int RecoverInterrupted();
  // Starts `schedule:` runs whose cron matches the minute of `now` (UTC).
  void CheckSchedules(std::time_t now);

  void set_server_url(const std::string& url) { options_.server_url = url; }
  // Before Start(): how runs get their services (default: a local artifact directory).
  void set_run_services(RunServicesFn fn) { run_services_ = std::move(fn); }
  // Before Start(): who hears of runs starting and ending.
  void set_run_observer(RunObserverFn fn) { run_observer_ = std::move(fn); }
  // Before Start(): told when a job starts waiting for approvals (approvals.h).
  void set_approval_notifier(ApprovalNotifier fn) { notify_approval_ = std::move(fn); }
  ApprovalBook& approvals() { return approvals_; }
  void Start(int schedule_interval_s);
  // Stops taking runs; running ones get `grace_ms` to finish, then are cancelled.
  void Stop(int grace_ms);
  size_t running() const;

 private:
  void Worker();
  void Execute(const store::Run& run, const engine::CancelToken& cancel);
  std::optional<store::Run> Claim();
  // A run starts (true) or stops (false) waiting for approvals: while it waits it does not
  // count against `slots` (a worker is added when all are busy), as GitHub's waiting jobs
  // hold no runner.
  void Lend(bool waiting);

  store::Store& store_;
  QueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, engine::CancelToken> running_;  // run id -> its cancel token
  std::set<std::string> busy_groups_;
  int lent_ = 0;  // running runs that only wait for approvals (Lend)
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread scheduler_;
  std::time_t last_schedule_minute_ = 0;
  RunServicesFn run_services_;
  RunObserverFn run_observer_;
  ApprovalNotifier notify_approval_;
  ApprovalBook approvals_;
  // Set by Stop(): jobs that wait for approvals (and jobs not started) are left as they are
  // in the store, so the next start resumes the run instead of failing it.
  std::atomic<bool> suspending_{false};
};

// 5-field cron ("*/15 3 * * 1-5") matched against a UTC time; false when malformed.
bool CronMatches(const std::string& cron, std::time_t t);

}  // namespace gantry::server
