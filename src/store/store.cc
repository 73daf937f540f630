#include "store/store.h"

#include <chrono>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "store/db.h"
#include "store/migrations.h"
#include "store/seal.h"

namespace gantry::store {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(const std::string& name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

namespace {

constexpr const char* kRunColumns =
    "r.id, r.project_id, p.name, r.number, r.workflow, r.workflow_name, r.event, r.ref, r.sha, r.inputs_json, "
    "r.status, r.conclusion, r.message, r.attempt, r.concurrency_group, r.created_ms, r.started_ms, r.finished_ms, "
    "r.rerun_jobs, r.title, r.author, r.before_sha";

Run RunFromRow(const Row& row) {
  Run r;
  r.id = row.Int(0);
  r.project_id = row.Int(1);
  r.project = row.Text(2);
  r.number = row.Int(3);
  r.workflow = row.Text(4);
  r.workflow_name = row.Text(5);
  r.event = row.Text(6);
  r.ref = row.Text(7);
  r.sha = row.Text(8);
  r.inputs_json = row.Text(9);
  r.status = row.Text(10);
  r.conclusion = row.Text(11);
  r.message = row.Text(12);
  r.attempt = row.Int(13);
  r.concurrency_group = row.Text(14);
  r.created_ms = row.Int(15);
  r.started_ms = row.Int(16);
  r.finished_ms = row.Int(17);
  r.rerun_jobs = row.Text(18);
  r.title = row.Text(19);
  r.author = row.Text(20);
  r.before = row.Text(21);
  return r;
}

Project ProjectFromRow(const Row& row) { return Project{row.Int(0), row.Text(1), row.Text(2), row.Int(3)}; }

template <typename T>
Result<T> Err(const Status& st) {
  return Result<T>(st);
}

}  // namespace

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& data_dir, const std::string& database) {
  using R = Result<std::unique_ptr<Store>>;
  if (auto st = MakeDirs(data_dir); !st.ok()) return R::Error(data_dir + ": " + st.message());
  std::unique_ptr<Store> store(new Store());
  if (database.empty() || StartsWith(database, "sqlite:")) {
    std::string path = database.empty() ? data_dir + "/gantry.db" : database.substr(7);
    auto db = OpenSqlite(path);
    if (!db.ok()) return R::Error(db.error());
    store->db_ = std::move(*db);
  } else if (StartsWith(database, "postgres://") || StartsWith(database, "postgresql://")) {
    auto db = OpenPostgres(database);
    if (!db.ok()) return R::Error(db.error());
    store->db_ = std::move(*db);
  } else {
    return R::Error("unsupported --database '" + database + "' (expected postgres://... or sqlite:PATH)");
  }
  auto version = Migrate(*store->db_);
  if (!version.ok()) return R::Error(version.error());
  auto key = LoadOrCreateKey(data_dir + "/secrets.key");
  if (!key.ok()) return R::Error(key.error());
  store->key_ = std::move(*key);
  return store;
}

bool Store::is_postgres() const { return db_->dialect() == Dialect::kPostgres; }

int64_t Store::schema_version() {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return rows.ok() ? (*rows)[0].Int(0) : 0;
}

Status Store::Transaction(const std::function<Status()>& body) {
  if (auto st = db_->Exec("BEGIN"); !st.ok()) return st;
  Status st = body();
  if (!st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st;
  }
  return db_->Exec("COMMIT");
}

// ---- projects ----

Result<Project> Store::CreateProject(const std::string& name) {
  std::lock_guard lock(mu_);
  Project p{0, name, RandomHex(20), NowMs()};
  auto id = db_->Insert("INSERT INTO projects (name, webhook_secret, created_ms) VALUES (?, ?, ?)",
                        {p.name, p.webhook_secret, p.created_ms});
  if (!id.ok()) {
    if (id.error().find("UNIQUE") != std::string::npos || id.error().find("unique") != std::string::npos) {
      return Result<Project>::Error("project '" + name + "' already exists");
    }
    return id.status();
  }
  p.id = *id;
  return p;
}

Result<std::vector<Project>> Store::ListProjects() {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT id, name, webhook_secret, created_ms FROM projects ORDER BY name");
  if (!rows.ok()) return rows.status();
  std::vector<Project> out;
  for (const auto& row : *rows) out.push_back(ProjectFromRow(row));
  return out;
}

Result<std::optional<Project>> Store::FindProject(const std::string& name) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT id, name, webhook_secret, created_ms FROM projects WHERE name = ?", {name});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Project>();
  return std::optional<Project>(ProjectFromRow((*rows)[0]));
}

Result<std::optional<Project>> Store::GetProject(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT id, name, webhook_secret, created_ms FROM projects WHERE id = ?", {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Project>();
  return std::optional<Project>(ProjectFromRow((*rows)[0]));
}

// ---- runs ----

Result<Run> Store::CreateRun(Run run) {
  std::lock_guard lock(mu_);
  run.created_ms = NowMs();
  run.status = "queued";
  Status st = Transaction([&]() -> Status {
    auto rows = db_->Query("SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE project_id = ?", {run.project_id});
    if (!rows.ok()) return rows.status();
    run.number = (*rows)[0].Int(0);
    auto id = db_->Insert(
        "INSERT INTO runs (project_id, number, workflow, workflow_name, event, ref, sha, inputs_json, status, "
        "conclusion, message, attempt, concurrency_group, created_ms, started_ms, finished_ms, title, author, "
        "before_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 1, ?, ?, 0, 0, ?, ?, ?)",
        {run.project_id, run.number, run.workflow, run.workflow_name, run.event, run.ref, run.sha, run.inputs_json,
         run.status, run.concurrency_group, run.created_ms, run.title, run.author, run.before});
    if (!id.ok()) return id.status();
    run.id = *id;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return run;
}

Result<std::optional<Run>> Store::GetRun(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      std::string("SELECT ") + kRunColumns + " FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?",
      {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Run>();
  return std::optional<Run>(RunFromRow((*rows)[0]));
}

Result<std::vector<Run>> Store::ListRuns(const RunFilter& filter) {
  std::lock_guard lock(mu_);
  std::string sql =
      std::string("SELECT ") + kRunColumns + " FROM runs r JOIN projects p ON p.id = r.project_id WHERE 1=1";
  std::vector<Param> params;
  if (filter.project_id != 0) {
    sql += " AND r.project_id = ?";
    params.emplace_back(filter.project_id);
  }
  if (!filter.status.empty()) {
    sql += " AND r.status = ?";
    params.emplace_back(filter.status);
  }
  if (!filter.ref.empty()) {
    sql += " AND r.ref IN (?, ?, ?)";
    params.emplace_back(filter.ref);
    params.emplace_back("refs/heads/" + filter.ref);
    params.emplace_back("refs/tags/" + filter.ref);
  }
  if (!filter.workflow.empty()) {
    sql += " AND (r.workflow = ? OR r.workflow_name = ?)";
    params.emplace_back(filter.workflow);
    params.emplace_back(filter.workflow);
  }
  if (filter.before_id != 0) {
    sql += " AND r.id < ?";
    params.emplace_back(filter.before_id);
  }
  sql += " ORDER BY r.id DESC LIMIT ?";
  params.emplace_back(std::clamp<int64_t>(filter.limit, 1, 1000));
  auto rows = db_->Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<Run> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(RunFromRow(row));
  return out;
}

Status Store::SetRunStatus(int64_t id, const std::string& status, const std::string& conclusion,
                           const std::string& message) {
  std::lock_guard lock(mu_);
  int64_t now = NowMs();
  if (status == "running") {
    return db_->Exec("UPDATE runs SET status = ?, started_ms = ? WHERE id = ?", {status, now, id});
  }
  if (status == "completed") {
    return db_->Exec("UPDATE runs SET status = ?, conclusion = ?, message = ?, finished_ms = ? WHERE id = ?",
                     {status, conclusion, message, now, id});
  }
  return db_->Exec("UPDATE runs SET status = ?, conclusion = ?, message = ? WHERE id = ?",
                   {status, conclusion, message, id});
}

Status Store::RequeueRun(int64_t id, const std::string& rerun_jobs) {
  std::lock_guard lock(mu_);
  return db_->Exec(
      "UPDATE runs SET status = 'queued', conclusion = '', message = '', attempt = attempt + 1, started_ms = 0, "
      "finished_ms = 0, rerun_jobs = ? WHERE id = ?",
      {rerun_jobs, id});
}

Result<int64_t> Store::CountRuns() {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT COUNT(*) FROM runs");
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

// ---- jobs and steps ----

Result<int64_t> Store::CreateJob(const Job& job) {
  std::lock_guard lock(mu_);
  return db_->Insert(
      "INSERT INTO jobs (run_id, job_key, name, matrix_json, status, conclusion, outputs_json, started_ms, "
      "finished_ms) VALUES (?, ?, ?, ?, ?, '', '{}', ?, 0)",
      {job.run_id, job.job_key, job.name, job.matrix_json, job.status, NowMs()});
}

Status Store::SetJobStatus(int64_t id, const std::string& status, const std::string& conclusion,
                           const std::string& outputs_json) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE jobs SET status = ?, conclusion = ?, outputs_json = ?, finished_ms = ? WHERE id = ?",
                   {status, conclusion, outputs_json.empty() ? std::string("{}") : outputs_json,
                    status == "completed" ? NowMs() : int64_t{0}, id});
}

Status Store::StartJob(int64_t id) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE jobs SET status = 'running', started_ms = ? WHERE id = ?", {NowMs(), id});
}

Result<std::vector<Job>> Store::ListJobs(int64_t run_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT id, run_id, job_key, name, matrix_json, status, conclusion, outputs_json, started_ms, finished_ms "
      "FROM jobs WHERE run_id = ? ORDER BY id",
      {run_id});
  if (!rows.ok()) return rows.status();
  std::vector<Job> out;
  for (const auto& r : *rows) {
    out.push_back(
        Job{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Text(7), r.Int(8), r.Int(9)});
  }
  return out;
}

Status Store::DeleteJobs(int64_t run_id, bool only_failed) {
  std::lock_guard lock(mu_);
  std::string where = only_failed ? " AND conclusion <> 'success'" : "";
  return Transaction([&]() -> Status {
    // Explicit cascade: PostgreSQL and SQLite both honour ON DELETE CASCADE, but SQLite
    // only with foreign_keys=ON, which a shared database file may not have had.
    for (const char* table : {"log_lines", "log_chunks", "annotations", "steps"}) {
      auto st = db_->Exec(
          std::string("DELETE FROM ") + table + " WHERE job_id IN (SELECT id FROM jobs WHERE run_id = ?" + where + ")",
          {run_id});
      if (!st.ok()) return st;
    }
    return db_->Exec("DELETE FROM jobs WHERE run_id = ?" + where, {run_id});
  });
}

Result<int64_t> Store::CreateStep(int64_t job_id, int64_t number, const std::string& name) {
  std::lock_guard lock(mu_);
  return db_->Insert(
      "INSERT INTO steps (job_id, number, name, status, conclusion, summary, started_ms, finished_ms) "
      "VALUES (?, ?, ?, 'running', '', '', ?, 0)",
      {job_id, number, name, NowMs()});
}

Status Store::FinishStep(int64_t step_id, const std::string& conclusion) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE steps SET status = 'completed', conclusion = ?, finished_ms = ? WHERE id = ?",
                   {conclusion, NowMs(), step_id});
}

Status Store::SetStepSummary(int64_t step_id, const std::string& markdown) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE steps SET summary = ? WHERE id = ?", {markdown, step_id});
}

Result<std::vector<Step>> Store::ListSteps(int64_t job_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT id, job_id, number, name, status, conclusion, summary, started_ms, finished_ms FROM steps "
      "WHERE job_id = ? ORDER BY number",
      {job_id});
  if (!rows.ok()) return rows.status();
  std::vector<Step> out;
  for (const auto& r : *rows) {
    out.push_back(Step{r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Int(7), r.Int(8)});
  }
  return out;
}

}  // namespace gantry::store
