// The server's persistence: projects, runs, jobs (with matrix values), steps, logs,
// outputs, annotations, step summaries, artifacts metadata, API tokens (hashed), the audit
// log, webhook deliveries and secrets (AES-256-GCM at rest). One implementation over the
// Db seam (db.h) serves SQLite (default, `<data>/gantry.db`) and PostgreSQL
// (`postgres://...`); schema changes are numbered, transactional migrations (migrations.cc).
//
// Thread-safe: calls are serialised on one connection. Every state change is committed
// before the call returns, so a crashed server restarts from exactly what the API served.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::store {

class Db;

enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };
const char* RoleName(Role role);
std::optional<Role> ParseRole(const std::string& name);

// Run and job states. status: queued | running | completed (jobs also: waiting, for an
// approval of a protected environment); conclusion (when completed):
// success | failure | cancelled | skipped.
struct Project {
  int64_t id = 0;
  std::string name;
  std::string webhook_secret;  // shared secret for GitHub/Gitea signatures and GitLab tokens
  int64_t created_ms = 0;
};

struct Run {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string project;   // name, filled by reads
  int64_t number = 0;    // per project
  std::string workflow;  // file path in the repository (".gantry/workflows/ci.yml")
  std::string workflow_name;
  std::string event;  // push | workflow_dispatch | schedule | webhook source
  std::string ref;
  std::string sha;
  std::string title;   // the commit message's first line (empty for runs stored before it)
  std::string author;  // the commit's author name
  std::string before;  // push: the commit the ref pointed at before (empty: new ref, other events)
  std::string inputs_json = "{}";
  std::string status = "queued";
  std::string conclusion;
  std::string message;  // why it ended that way ("interrupted by a server restart")
  int64_t attempt = 1;
  std::string concurrency_group;
  std::string rerun_jobs;  // comma-separated job ids for "re-run failed jobs"; "" = all
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
};

struct Job {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string job_key;  // the job id in the workflow
  std::string name;     // display name with matrix values
  std::string matrix_json = "{}";
  std::string status = "queued";
  std::string conclusion;
  std::string outputs_json = "{}";
  int64_t started_ms = 0, finished_ms = 0;
};

// A decision on jobs of a run waiting for a protected environment (docs/server.md,
// "Environments and approvals"). decision: approved | rejected.
struct Approval {
  int64_t id = 0, run_id = 0, attempt = 1;
  std::string job;  // the waiting jobs it was given for (display names, comma-separated)
  std::string environment, user, decision, comment;
  int64_t time_ms = 0;
};

struct Step {
  int64_t id = 0;
  int64_t job_id = 0;
  int64_t number = 0;
  std::string name;
  std::string status = "running";
  std::string conclusion;
  std::string summary;  // $GITHUB_STEP_SUMMARY markdown
  int64_t started_ms = 0, finished_ms = 0;
};

struct LogLine {
  int64_t seq = 0;  // 1, 2, ... per job
  int64_t step = 0;
  std::string text;
};

struct Annotation {
  int64_t job_id = 0;
  std::string level;  // notice | warning | error
  std::string message, file, title;
  int64_t line = 0;
};

struct Artifact {
  int64_t id = 0, run_id = 0;
  std::string name, digest;
  int64_t size = 0;
};

struct TokenInfo {
  int64_t id = 0;
  std::string name;
  Role role = Role::kViewer;
};

struct AuditEntry {
  int64_t id = 0, time_ms = 0;
  std::string actor, action, target, detail, remote;
};

struct RunFilter {
  int64_t project_id = 0;  // 0 = all
  std::string status;      // "" = all
  std::string ref;         // "" = all; "main" matches refs/heads/main and refs/tags/main
  std::string workflow;    // "" = all; the workflow file or its display name
  int64_t before_id = 0;   // paging: runs with id < before_id (0 = newest)
  int64_t limit = 50;
};

int64_t NowMs();

class Store {
 public:
  // `database`: "" = SQLite at <data_dir>/gantry.db; "postgres://..." = PostgreSQL.
  // The secrets key lives at <data_dir>/secrets.key (created 0600 on first use).
  static Result<std::unique_ptr<Store>> Open(const std::string& data_dir, const std::string& database = "");
  ~Store();

  int64_t schema_version();
  bool is_postgres() const;

  // Projects.
  Result<Project> CreateProject(const std::string& name);
  Result<std::vector<Project>> ListProjects();
  Result<std::optional<Project>> FindProject(const std::string& name);
  Result<std::optional<Project>> GetProject(int64_t id);

  // Runs. CreateRun assigns id and number and stores it queued.
  Result<Run> CreateRun(Run run);
  Result<std::optional<Run>> GetRun(int64_t id);
  Result<std::vector<Run>> ListRuns(const RunFilter& filter);
  Status SetRunStatus(int64_t id, const std::string& status, const std::string& conclusion = "",
                      const std::string& message = "");
  // Moves a completed run back to queued for a re-run (attempt + 1).
  Status RequeueRun(int64_t id, const std::string& rerun_jobs = "");
  Result<int64_t> CountRuns();

  // Jobs and steps.
  Result<int64_t> CreateJob(const Job& job);
  Status SetJobStatus(int64_t id, const std::string& status, const std::string& conclusion = "",
                      const std::string& outputs_json = "");
  Result<std::vector<Job>> ListJobs(int64_t run_id);
  Status DeleteJobs(int64_t run_id, bool only_failed);
  // A job that waited (for an approval) starts: status running, started_ms now.
  Status StartJob(int64_t id);

  // Approvals of jobs waiting for protected environments, oldest first.
  Result<int64_t> AddApproval(const Approval& approval);
  Result<std::vector<Approval>> ListApprovals(int64_t run_id);
  Result<int64_t> CreateStep(int64_t job_id, int64_t number, const std::string& name);
  Status FinishStep(int64_t step_id, const std::string& conclusion);
  Status SetStepSummary(int64_t step_id, const std::string& markdown);
  Result<std::vector<Step>> ListSteps(int64_t job_id);

  // Logs: lines are committed as they come (one transaction per call); once a step ends
  // its lines are moved into one zstd-compressed chunk. Reads see both transparently.
  Status AppendLog(int64_t job_id, int64_t step, const std::vector<std::string>& lines);
  Status CompressStepLog(int64_t job_id, int64_t step);
  Result<std::vector<LogLine>> ReadLog(int64_t job_id, int64_t after_seq = 0, int64_t limit = 10000);

  Status AddAnnotation(const Annotation& annotation);
  Result<std::vector<Annotation>> ListAnnotations(int64_t run_id);
  Status AddArtifact(const Artifact& artifact);
  Result<std::vector<Artifact>> ListArtifacts(int64_t run_id);

  // Tokens: CreateToken returns the plaintext once ("gty_..."); only its SHA-256 is kept.
  Result<std::string> CreateToken(const std::string& name, Role role);
  Status AddToken(const std::string& name, Role role, const std::string& plaintext);
  Result<std::optional<TokenInfo>> FindToken(const std::string& plaintext);
  Result<int64_t> CountTokens();

  Status Audit(const std::string& actor, const std::string& action, const std::string& target,
               const std::string& detail = "", const std::string& remote = "");
  Result<std::vector<AuditEntry>> ListAudit(int64_t limit = 100);
  // Webhook deliveries (accepted or refused, with the reason).
  Status RecordDelivery(int64_t project_id, const std::string& source, int status, const std::string& reason);
  Result<int64_t> CountDeliveries(int status);

  // Secrets, per project and environment ("" = all environments), encrypted at rest.
  Status SetSecret(int64_t project_id, const std::string& environment, const std::string& name,
                   const std::string& value);
  Result<std::map<std::string, std::string>> Secrets(int64_t project_id, const std::string& environment = "");
  // The environments that have secrets of their own in the project.
  Result<std::vector<std::string>> SecretEnvironments(int64_t project_id);
  Status DeleteSecret(int64_t project_id, const std::string& environment, const std::string& name);

  // Retention: deletes completed runs (and their logs) finished before `cutoff_ms`.
  Result<int64_t> DeleteRunsFinishedBefore(int64_t cutoff_ms);
  // "ok" when the database is consistent (SQLite: PRAGMA integrity_check).
  Result<std::string> IntegrityCheck();

 private:
  Store() = default;
  Status Transaction(const std::function<Status()>& body);
  Result<int64_t> NextLogSeq(int64_t job_id);

  std::mutex mu_;
  std::unique_ptr<Db> db_;
  std::string key_;                      // AES-256 key for secrets
  std::map<int64_t, int64_t> next_seq_;  // per job, cached
};

}  // namespace gantry::store
