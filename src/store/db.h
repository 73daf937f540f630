// A minimal SQL connection interface with two implementations (SQLite, PostgreSQL), so the
// store's queries and migrations are written once. SQL uses `?` placeholders; the
// PostgreSQL side rewrites them to $1..$n. Not thread-safe: the Store serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace gantry::store {

struct Blob {
  std::string bytes;
};
using Param = std::variant<std::nullptr_t, int64_t, std::string, Blob>;

struct Row {
  std::vector<std::optional<std::string>> cols;  // text (blobs decoded to raw bytes)
  int64_t Int(size_t i) const;
  std::string Text(size_t i) const { return cols[i].value_or(""); }
  bool IsNull(size_t i) const { return !cols[i].has_value(); }
};

enum class Dialect { kSqlite, kPostgres };

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Param>& params = {}) = 0;
  // INSERT ... returning the new row's `id`.
  virtual Result<int64_t> Insert(std::string_view sql, const std::vector<Param>& params) = 0;
  Status Exec(std::string_view sql, const std::vector<Param>& params = {}) {
    auto r = Query(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }
  // Runs several statements separated by ';' (migrations), no parameters.
  virtual Status ExecScript(std::string_view sql) = 0;
};

// path: a SQLite file (WAL, busy timeout, foreign keys on).
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path);
// url: "postgres://user@host:port/db" or "postgresql://..." (libpq connection URI).
Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url);

}  // namespace gantry::store
