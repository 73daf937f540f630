// The PostgreSQL backend (libpq): `?` placeholders become $n, blobs travel as binary
// parameters and come back from bytea's hex text form.
#include <libpq-fe.h>

#include "store/db.h"

namespace gantry::store {
namespace {

constexpr unsigned kByteaOid = 17;

std::string RewritePlaceholders(std::string_view sql) {
  std::string out;
  int n = 0;
  bool in_string = false;
  for (char c : sql) {
    if (c == '\'') in_string = !in_string;
    if (c == '?' && !in_string) {
      out += "$" + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

class PostgresDb : public Db {
 public:
  explicit PostgresDb(PGconn* conn) : conn_(conn) {}
  ~PostgresDb() override { PQfinish(conn_); }
  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Param>& params) override {
    using R = Result<std::vector<Row>>;
    std::string text = RewritePlaceholders(sql);
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Param& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        values[i] = nullptr;
        continue;
      }
      if (auto* v = std::get_if<int64_t>(&p)) {
        storage[i] = std::to_string(*v);
      } else if (auto* s = std::get_if<std::string>(&p)) {
        storage[i] = *s;
      } else {
        storage[i] = std::get<Blob>(p).bytes;
        formats[i] = 1;
      }
      values[i] = storage[i].data();
      lengths[i] = static_cast<int>(storage[i].size());
    }
    PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                 lengths.data(), formats.data(), 0);
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(res, PQclear);
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return R::Error(std::string("postgres: ") + PQerrorMessage(conn_) + " in: " + std::string(sql.substr(0, 120)));
    }
    std::vector<Row> rows;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      Row row;
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.cols.emplace_back(std::nullopt);
          continue;
        }
        const char* v = PQgetvalue(res, r, c);
        int len = PQgetlength(res, r, c);
        if (PQftype(res, c) == kByteaOid && len >= 2 && v[0] == '\\' && v[1] == 'x') {
          std::string bytes;
          bytes.reserve(static_cast<size_t>(len - 2) / 2);
          for (int k = 2; k + 1 < len; k += 2) bytes += static_cast<char>(Hex(v[k]) * 16 + Hex(v[k + 1]));
          row.cols.emplace_back(std::move(bytes));
        } else {
          row.cols.emplace_back(std::string(v, static_cast<size_t>(len)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<int64_t> Insert(std::string_view sql, const std::vector<Param>& params) override {
    auto r = Query(std::string(sql) + " RETURNING id", params);
    if (!r.ok()) return r.status();
    if (r->empty()) return Result<int64_t>::Error("postgres: INSERT returned no id");
    return (*r)[0].Int(0);
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(res, PQclear);
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return Status::Error(std::string("postgres: ") + PQerrorMessage(conn_));
    }
    return Status::Ok();
  }

 private:
  PGconn* conn_;
};

void QuietNotices(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Result<std::unique_ptr<Db>>::Error("cannot connect to PostgreSQL: " + msg);
  }
  PQsetNoticeProcessor(conn, QuietNotices, nullptr);
  return std::unique_ptr<Db>(std::make_unique<PostgresDb>(conn));
}

}  // namespace gantry::store
