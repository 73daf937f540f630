#include "store/migrations.h"

#include <algorithm>
#include <vector>

#include "base/strings.h"

namespace gantry::store {
namespace {

// {id} and {blob} are replaced per dialect; everything else is portable SQL.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: the core model.
      R"sql(
CREATE TABLE projects (id {id}, name TEXT NOT NULL UNIQUE, webhook_secret TEXT NOT NULL,
  created_ms BIGINT NOT NULL);
CREATE TABLE runs (id {id}, project_id BIGINT NOT NULL REFERENCES projects(id), number BIGINT NOT NULL,
  workflow TEXT NOT NULL, workflow_name TEXT NOT NULL, event TEXT NOT NULL, ref TEXT NOT NULL,
  sha TEXT NOT NULL, inputs_json TEXT NOT NULL, status TEXT NOT NULL, conclusion TEXT NOT NULL,
  message TEXT NOT NULL, attempt BIGINT NOT NULL, concurrency_group TEXT NOT NULL,
  created_ms BIGINT NOT NULL, started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL);
CREATE INDEX runs_project ON runs(project_id, id);
CREATE INDEX runs_status ON runs(status, id);
CREATE TABLE jobs (id {id}, run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  job_key TEXT NOT NULL, name TEXT NOT NULL, matrix_json TEXT NOT NULL, status TEXT NOT NULL,
  conclusion TEXT NOT NULL, outputs_json TEXT NOT NULL, started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL);
CREATE INDEX jobs_run ON jobs(run_id);
CREATE TABLE steps (id {id}, job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  number BIGINT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, conclusion TEXT NOT NULL,
  summary TEXT NOT NULL, started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL);
CREATE INDEX steps_job ON steps(job_id);
CREATE TABLE log_lines (job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq BIGINT NOT NULL,
  step BIGINT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (job_id, seq));
CREATE TABLE log_chunks (job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, step BIGINT NOT NULL, data {blob} NOT NULL,
  PRIMARY KEY (job_id, first_seq));
CREATE TABLE annotations (id {id}, job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  level TEXT NOT NULL, message TEXT NOT NULL, file TEXT NOT NULL, line BIGINT NOT NULL, title TEXT NOT NULL);
CREATE INDEX annotations_job ON annotations(job_id);
CREATE TABLE artifacts (id {id}, run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, size BIGINT NOT NULL, digest TEXT NOT NULL);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql",
      // 2: access control, audit, webhooks, secrets.
      R"sql(
CREATE TABLE tokens (id {id}, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  created_ms BIGINT NOT NULL);
CREATE TABLE audit (id {id}, time_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, detail TEXT NOT NULL, remote TEXT NOT NULL);
CREATE TABLE deliveries (id {id}, project_id BIGINT NOT NULL, source TEXT NOT NULL, status BIGINT NOT NULL,
  reason TEXT NOT NULL, time_ms BIGINT NOT NULL);
CREATE TABLE secrets (project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment TEXT NOT NULL, name TEXT NOT NULL, sealed {blob} NOT NULL, PRIMARY KEY (project_id, environment, name));
)sql",
      // 3: re-run of failed jobs only.
      R"sql(
ALTER TABLE runs ADD COLUMN rerun_jobs TEXT NOT NULL DEFAULT '';
)sql",
      // 4: run numbers by index (CreateRun); log batches stored as one row each, plain
      // until their step ends, then merged into one zstd chunk.
      R"sql(
CREATE INDEX runs_project_number ON runs(project_id, number);
ALTER TABLE log_chunks ADD COLUMN compressed BIGINT NOT NULL DEFAULT 1;
)sql",
      // 5: run titles like GitHub's (the commit message's first line and its author), and
      // an index for the run list's branch filter. Older runs keep an empty title.
      R"sql(
ALTER TABLE runs ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN author TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_ref ON runs(ref, id);
)sql",
      // 6: the commit a push moved its ref from, for the push event's `before`
      // (github.event.before: what workflows diff against). Empty for other events.
      R"sql(
ALTER TABLE runs ADD COLUMN before_sha TEXT NOT NULL DEFAULT '';
)sql",
      // 7: decisions on jobs waiting for a protected environment (approve / reject), per
      // run attempt; they outlive a server restart so a waiting job resumes where it was.
      R"sql(
CREATE TABLE approvals (id {id}, run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  attempt BIGINT NOT NULL, job TEXT NOT NULL, environment TEXT NOT NULL, user_name TEXT NOT NULL,
  decision TEXT NOT NULL, comment TEXT NOT NULL, time_ms BIGINT NOT NULL);
CREATE INDEX approvals_run ON approvals(run_id, id);
)sql",
  };
  return kMigrations;
}

std::string ForDialect(const char* sql, Dialect dialect) {
  std::string out = sql;
  bool pg = dialect == Dialect::kPostgres;
  out = ReplaceAll(out, "{id}", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  out = ReplaceAll(out, "{blob}", pg ? "BYTEA" : "BLOB");
  return out;
}

}  // namespace

int64_t LatestSchemaVersion() { return static_cast<int64_t>(Migrations().size()); }

Result<int64_t> Migrate(Db& db) { return Migrate(db, LatestSchemaVersion()); }

Result<int64_t> Migrate(Db& db, int64_t target) {
  if (auto st = db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT)");
      !st.ok()) {
    return st;
  }
  auto rows = db.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!rows.ok()) return rows.status();
  int64_t current = (*rows)[0].Int(0);
  if (current > LatestSchemaVersion()) {
    return Result<int64_t>::Error("database schema version " + std::to_string(current) +
                                  " is newer than this gantry (" + std::to_string(LatestSchemaVersion()) + ")");
  }
  target = std::min(target, LatestSchemaVersion());
  for (int64_t v = current + 1; v <= target; ++v) {
    std::string sql = "BEGIN;\n" + ForDialect(Migrations()[static_cast<size_t>(v - 1)], db.dialect()) +
                      "\nINSERT INTO schema_migrations (version, applied_ms) VALUES (" + std::to_string(v) +
                      ", 0);\nCOMMIT;";
    if (auto st = db.ExecScript(sql); !st.ok()) {
      (void)db.ExecScript("ROLLBACK");
      return Result<int64_t>::Error("migration " + std::to_string(v) + " failed: " + st.message());
    }
  }
  return std::max(current, target);
}

}  // namespace gantry::store
