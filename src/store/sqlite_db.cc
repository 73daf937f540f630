// The SQLite backend: one connection in WAL mode with synchronous=NORMAL, which keeps every
// committed transaction across a process crash (the WAL is written before COMMIT returns).
#include <sqlite3.h>

#include "store/db.h"

namespace gantry::store {

int64_t Row::Int(size_t i) const {
  if (!cols[i]) return 0;
  return std::strtoll(cols[i]->c_str(), nullptr, 10);
}

namespace {

class SqliteDb : public Db {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override { sqlite3_close_v2(db_); }
  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Param>& params) override {
    using R = Result<std::vector<Row>>;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      return R::Error(Error("prepare", sql));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const Param& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        sqlite3_bind_null(stmt, idx);
      } else if (auto* v = std::get_if<int64_t>(&p)) {
        sqlite3_bind_int64(stmt, idx, *v);
      } else if (auto* s = std::get_if<std::string>(&p)) {
        sqlite3_bind_text(stmt, idx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      } else {
        const auto& b = std::get<Blob>(p).bytes;
        sqlite3_bind_blob(stmt, idx, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      }
    }
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return R::Error(Error("step", sql));
      Row row;
      int n = sqlite3_column_count(stmt);
      row.cols.reserve(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        int type = sqlite3_column_type(stmt, c);
        if (type == SQLITE_NULL) {
          row.cols.emplace_back(std::nullopt);
        } else if (type == SQLITE_BLOB) {
          const void* data = sqlite3_column_blob(stmt, c);
          int len = sqlite3_column_bytes(stmt, c);
          row.cols.emplace_back(std::string(static_cast<const char*>(data), static_cast<size_t>(len)));
        } else {
          const unsigned char* text = sqlite3_column_text(stmt, c);
          int len = sqlite3_column_bytes(stmt, c);
          row.cols.emplace_back(std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(len)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<int64_t> Insert(std::string_view sql, const std::vector<Param>& params) override {
    auto r = Query(sql, params);
    if (!r.ok()) return r.status();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::Error("sqlite: " + msg);
    }
    return Status::Ok();
  }

 private:
  std::string Error(const char* what, std::string_view sql) {
    return std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_) + " in: " + std::string(sql.substr(0, 120));
  }
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Result<std::unique_ptr<Db>>::Error(path + ": cannot open database: " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<SqliteDb>(db);
  if (auto st = out->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
      !st.ok()) {
    return Result<std::unique_ptr<Db>>::Error(path + ": " + st.message());
  }
  return std::unique_ptr<Db>(std::move(out));
}

}  // namespace gantry::store
