#include "deploy/state_store.h"

#include <sqlite3.h>

#include <mutex>

namespace gantry::deploy {
namespace {

class SqliteStateStore : public StateStore {
 public:
  explicit SqliteStateStore(sqlite3* db) : db_(db) {}
  ~SqliteStateStore() override { sqlite3_close(db_); }

  Status Init() {
    return Exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;"
        "CREATE TABLE IF NOT EXISTS deploy_docs(kind TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL,"
        " PRIMARY KEY(kind, key));"
        "CREATE TABLE IF NOT EXISTS deploy_seq(name TEXT PRIMARY KEY, value INTEGER NOT NULL);");
  }

  Status Put(const std::string& kind, const std::string& key, const std::string& json) override {
    std::lock_guard lock(mu_);
    return Run("INSERT OR REPLACE INTO deploy_docs(kind, key, json) VALUES(?, ?, ?)", {kind, key, json}, nullptr);
  }
  Result<std::string> Get(const std::string& kind, const std::string& key) override {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> rows;
    Status st = Run("SELECT json FROM deploy_docs WHERE kind = ? AND key = ?", {kind, key}, &rows);
    if (!st.ok()) return st;
    if (rows.empty()) return Result<std::string>::Error(kind + " '" + key + "' not found");
    return rows[0][0];
  }
  Status Delete(const std::string& kind, const std::string& key) override {
    std::lock_guard lock(mu_);
    return Run("DELETE FROM deploy_docs WHERE kind = ? AND key = ?", {kind, key}, nullptr);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(const std::string& kind) override {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> rows;
    Status st = Run("SELECT key, json FROM deploy_docs WHERE kind = ? ORDER BY key", {kind}, &rows);
    if (!st.ok()) return st;
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& r : rows) out.emplace_back(std::move(r[0]), std::move(r[1]));
    return out;
  }
  Result<long long> NextId(const std::string& sequence) override {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> rows;
    Status st =
        Run("INSERT INTO deploy_seq(name, value) VALUES(?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 "
            "RETURNING value",
            {sequence}, &rows);
    if (!st.ok()) return st;
    return std::stoll(rows.at(0).at(0));
  }

 private:
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "sqlite error";
      sqlite3_free(err);
      return Status::Error("deploy store: " + msg);
    }
    return Status::Ok();
  }
  Status Run(const char* sql, const std::vector<std::string>& args, std::vector<std::vector<std::string>>* rows) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK)
      return Status::Error(std::string("deploy store: ") + sqlite3_errmsg(db_));
    for (size_t i = 0; i < args.size(); ++i)
      sqlite3_bind_text(stmt, static_cast<int>(i + 1), args[i].data(), static_cast<int>(args[i].size()),
                        SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!rows) continue;
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row.emplace_back(text ? text : "");
      }
      rows->push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Status::Error(std::string("deploy store: ") + sqlite3_errmsg(db_));
    return Status::Ok();
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Result<std::unique_ptr<StateStore>>::Error(path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStateStore>(db);
  Status st = store->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace gantry::deploy
