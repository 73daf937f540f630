// Jobs of server runs waiting for a protected environment, as GitHub's environments do
// (docs/server.md, "Environments and approvals"). The protection rules are the
// `environments:` declared in .gantry/*.yml of the project's default branch (docs/deploy.md):
// `allowed_branches` refuses a run of another branch at once; `required_approvals: N` holds
// the job ("waiting") until N distinct users approve it, and one rejection fails it.
//
// Decisions are in the store (per run attempt), so a restarted server resumes the waiting
// job (executor.cc) and knows who approved. Which jobs wait right now is kept in memory
// (ApprovalBook): a resumed run announces its waiting jobs again within a second.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "deploy/config.h"
#include "engine/engine.h"
#include "store/store.h"

namespace gantry::http {
class Request;
class Response;
}  // namespace gantry::http

namespace gantry::server {

class StoreSink;
struct Context;

// A job instance held until its environment's required approvals are given.
struct PendingGate {
  int64_t run_id = 0;
  int64_t job_id = 0;  // its row in the store
  std::string job;     // display name
  std::string environment;
  int required = 0;
  int64_t since_ms = 0;  // when it began waiting
};

// Pending gates by run, shared by the executors and the API.
class ApprovalBook {
 public:
  void Hold(const PendingGate& gate);
  void Release(int64_t run_id, const std::string& job);
  void ReleaseRun(int64_t run_id);
  std::vector<PendingGate> Pending(int64_t run_id) const;
  std::vector<PendingGate> All() const;  // every run's, oldest run first

 private:
  mutable std::mutex mu_;
  std::map<int64_t, std::map<std::string, PendingGate>> gates_;
};

// Called when a job starts waiting (the monitor publishes `approval.requested`).
using ApprovalNotifier = std::function<void(const store::Run&, const PendingGate&)>;

// The protected environments declared in .gantry/*.yml at `sha` of `repo` (only those with
// required approvals or allowed branches); an error names the file that could not be read.
Result<std::map<std::string, deploy::EnvironmentSpec>> ProtectedEnvironments(const std::string& repo,
                                                                             const std::string& sha);
// The commit of the project's default branch (main, else master); "" when it has neither.
std::string DefaultBranchHead(const std::string& repo);

// "rejected by bob: not now"; "" while neither approved nor rejected. `approvers` gets the
// distinct users who approved `environment` in `attempt`.
std::string Rejection(const std::vector<store::Approval>& decisions, int64_t attempt, const std::string& environment,
                      std::set<std::string>* approvers);

// The gate of one run's jobs (engine::EnvironmentGate): asks the store for decisions at
// every poll, marks the job row waiting, announces it, fails it on a rejection, a branch
// that is not allowed or the timeout.
class ApprovalGate : public engine::EnvironmentGate {
 public:
  struct Options {
    std::map<std::string, deploy::EnvironmentSpec> rules;
    // Why the rules could not be read: jobs with an environment then fail, never run.
    std::string rules_error;
    int64_t timeout_ms = 30LL * 86400 * 1000;
    ApprovalNotifier notify;
    // Called with true when the run's first job starts waiting, false when none waits any more.
    std::function<void(bool)> waiting;
  };
  ApprovalGate(store::Store& store, const store::Run& run, StoreSink& sink, ApprovalBook& book, Options options);
  ~ApprovalGate() override;

  // A resumed run: this job already waits (its row exists, since `since_ms`); not announced again.
  void Resume(const std::string& job, int64_t job_id, int64_t since_ms);
  engine::GateAnswer Check(const engine::JobRun& job, const std::string& environment) override;
  // Jobs that were held and have not started or ended (they stay waiting across a restart).
  std::set<std::string> held() const;

 private:
  store::Store& store_;
  store::Run run_;
  StoreSink& sink_;
  ApprovalBook& book_;
  Options options_;
  mutable std::mutex mu_;
  std::map<std::string, PendingGate> held_;  // by display name
  bool reported_waiting_ = false;            // what options_.waiting was last told
  void ReportWaiting();                      // tells options_.waiting when held_ (non-)emptiness changed
};

// GET|POST /api/v1/runs/ID/approvals (docs/api.md): the waiting jobs and the decisions;
// a decision is given by the API token's user, audit-logged as run.approve / run.reject.
void RunApprovals(Context& ctx, ApprovalBook& book, http::Request& req, http::Response& res, int64_t run_id);
// GET /api/v1/approvals: the jobs waiting for approvals across runs (the dashboard's Approvals page).
void PendingApprovals(Context& ctx, ApprovalBook& book, http::Request& req, http::Response& res);

}  // namespace gantry::server
