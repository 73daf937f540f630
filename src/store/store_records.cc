// Store: logs, annotations, artifacts, tokens, audit, deliveries, secrets, retention.
#include <algorithm>

#include "base/sha256.h"
#include "base/strings.h"
#include "store/db.h"
#include "store/seal.h"
#include "store/store.h"

namespace gantry::store {

// ---- logs ----

Result<int64_t> Store::NextLogSeq(int64_t job_id) {
  auto it = next_seq_.find(job_id);
  if (it != next_seq_.end()) return it->second;
  auto rows = db_->Query(
      "SELECT COALESCE((SELECT MAX(seq) FROM log_lines WHERE job_id = ?), 0), "
      "COALESCE((SELECT MAX(last_seq) FROM log_chunks WHERE job_id = ?), 0)",
      {job_id, job_id});
  if (!rows.ok()) return rows.status();
  int64_t next = std::max((*rows)[0].Int(0), (*rows)[0].Int(1)) + 1;
  next_seq_[job_id] = next;
  return next;
}

Status Store::AppendLog(int64_t job_id, int64_t step, const std::vector<std::string>& lines) {
  if (lines.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  auto first = NextLogSeq(job_id);
  if (!first.ok()) return first.status();
  int64_t seq = *first;
  // One row per batch: ingest costs one INSERT per call, not per line.
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  std::string text;
  text.reserve(bytes);
  for (const auto& l : lines) {
    text += l;
    text += '\n';
  }
  int64_t last = seq + static_cast<int64_t>(lines.size()) - 1;
  auto st = db_->Exec(
      "INSERT INTO log_chunks (job_id, first_seq, last_seq, step, data, compressed) VALUES (?, ?, ?, ?, ?, 0)",
      {job_id, seq, last, step, Blob{std::move(text)}});
  if (!st.ok()) {
    next_seq_.erase(job_id);
    return st;
  }
  next_seq_[job_id] = last + 1;
  return Status::Ok();
}

Status Store::CompressStepLog(int64_t job_id, int64_t step) {
  // A step's log can be hundreds of MB: read only the ranges first, then the text row by
  // row, compressed in pieces of about 4 MB, so the server's memory stays bounded here and
  // a reader never inflates more than one piece at a time.
  constexpr int64_t kPieceBytes = 4 << 20;
  std::lock_guard lock(mu_);
  return Transaction([&]() -> Status {
    auto rows = db_->Query(
        "SELECT first_seq, last_seq, LENGTH(data) FROM log_chunks WHERE job_id = ? AND step = ? AND compressed = 0 "
        "ORDER BY first_seq",
        {job_id, step});
    if (!rows.ok()) return rows.status();
    // Merged in runs of consecutive sequence numbers, so chunk ranges never overlap.
    size_t i = 0;
    while (i < rows->size()) {
      int64_t first = (*rows)[i].Int(0), last = (*rows)[i].Int(1), bytes = (*rows)[i].Int(2);
      size_t end = i + 1;
      while (end < rows->size() && (*rows)[end].Int(0) == last + 1 && bytes < kPieceBytes) {
        last = (*rows)[end].Int(1);
        bytes += (*rows)[end].Int(2);
        ++end;
      }
      std::string text;
      text.reserve(static_cast<size_t>(bytes));
      for (size_t k = i; k < end; ++k) {
        auto data = db_->Query("SELECT data FROM log_chunks WHERE job_id = ? AND first_seq = ? AND compressed = 0",
                               {job_id, (*rows)[k].Int(0)});
        if (!data.ok()) return data.status();
        if (!data->empty()) text += (*data)[0].Text(0);
      }
      i = end;
      auto st =
          db_->Exec("DELETE FROM log_chunks WHERE job_id = ? AND compressed = 0 AND first_seq >= ? AND first_seq <= ?",
                    {job_id, first, last});
      if (!st.ok()) return st;
      st = db_->Exec(
          "INSERT INTO log_chunks (job_id, first_seq, last_seq, step, data, compressed) VALUES (?, ?, ?, ?, ?, 1)",
          {job_id, first, last, step, Blob{Compress(text)}});
      if (!st.ok()) return st;
    }
    return Status::Ok();
  });
}

Result<std::vector<LogLine>> Store::ReadLog(int64_t job_id, int64_t after_seq, int64_t limit) {
  std::lock_guard lock(mu_);
  std::vector<LogLine> out;
  // Lines from schema version 1-3 databases may still sit in log_lines.
  auto lines = db_->Query("SELECT seq, step, text FROM log_lines WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                          {job_id, after_seq, limit});
  if (!lines.ok()) return lines.status();
  for (const auto& l : *lines) out.push_back(LogLine{l.Int(0), l.Int(1), l.Text(2)});
  int64_t from = after_seq;
  for (;;) {
    auto chunks = db_->Query(
        "SELECT first_seq, last_seq, step, data, compressed FROM log_chunks WHERE job_id = ? AND last_seq > ? "
        "ORDER BY first_seq LIMIT 64",
        {job_id, from});
    if (!chunks.ok()) return chunks.status();
    if (chunks->empty()) break;
    for (const auto& c : *chunks) {
      std::string plain;
      if (c.Int(4) != 0) {
        auto text = Decompress(c.Text(3));
        if (!text.ok()) return text.status();
        plain = std::move(*text);
      } else {
        plain = c.Text(3);
      }
      int64_t seq = c.Int(0);
      size_t pos = 0;
      while (pos < plain.size()) {
        size_t nl = plain.find('\n', pos);
        if (nl == std::string::npos) nl = plain.size();
        if (seq > after_seq) out.push_back(LogLine{seq, c.Int(2), plain.substr(pos, nl - pos)});
        ++seq;
        pos = nl + 1;
      }
      from = c.Int(1);
    }
    if (static_cast<int64_t>(out.size()) >= limit) break;
  }
  std::sort(out.begin(), out.end(), [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  if (static_cast<int64_t>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
  return out;
}

// ---- annotations, artifacts ----

Status Store::AddAnnotation(const Annotation& a) {
  std::lock_guard lock(mu_);
  return db_->Exec("INSERT INTO annotations (job_id, level, message, file, line, title) VALUES (?, ?, ?, ?, ?, ?)",
                   {a.job_id, a.level, a.message, a.file, a.line, a.title});
}

Result<std::vector<Annotation>> Store::ListAnnotations(int64_t run_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT a.job_id, a.level, a.message, a.file, a.title, a.line FROM annotations a JOIN jobs j ON j.id = a.job_id "
      "WHERE j.run_id = ? ORDER BY a.id",
      {run_id});
  if (!rows.ok()) return rows.status();
  std::vector<Annotation> out;
  for (const auto& r : *rows) out.push_back(Annotation{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5)});
  return out;
}

Status Store::AddArtifact(const Artifact& a) {
  std::lock_guard lock(mu_);
  return db_->Exec("INSERT INTO artifacts (run_id, name, size, digest) VALUES (?, ?, ?, ?)",
                   {a.run_id, a.name, a.size, a.digest});
}

Result<std::vector<Artifact>> Store::ListArtifacts(int64_t run_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT id, run_id, name, digest, size FROM artifacts WHERE run_id = ? ORDER BY id", {run_id});
  if (!rows.ok()) return rows.status();
  std::vector<Artifact> out;
  for (const auto& r : *rows) out.push_back(Artifact{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Int(4)});
  return out;
}

// ---- tokens, audit, deliveries ----

Result<std::string> Store::CreateToken(const std::string& name, Role role) {
  std::string plaintext = "gty_" + RandomHex(24);
  if (auto st = AddToken(name, role, plaintext); !st.ok()) return st;
  return plaintext;
}

Status Store::AddToken(const std::string& name, Role role, const std::string& plaintext) {
  std::lock_guard lock(mu_);
  return db_->Exec("INSERT INTO tokens (name, role, hash, created_ms) VALUES (?, ?, ?, ?)",
                   {name, std::string(RoleName(role)), Sha256Hex(plaintext), NowMs()});
}

Result<std::optional<TokenInfo>> Store::FindToken(const std::string& plaintext) {
  std::lock_guard lock(mu_);
  // Looked up by the hash of the hash-indexed column: no timing signal on the plaintext.
  auto rows = db_->Query("SELECT id, name, role FROM tokens WHERE hash = ?", {Sha256Hex(plaintext)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<TokenInfo>();
  const auto& r = (*rows)[0];
  return std::optional<TokenInfo>(TokenInfo{r.Int(0), r.Text(1), ParseRole(r.Text(2)).value_or(Role::kViewer)});
}

Result<int64_t> Store::CountTokens() {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT COUNT(*) FROM tokens");
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Status Store::Audit(const std::string& actor, const std::string& action, const std::string& target,
                    const std::string& detail, const std::string& remote) {
  std::lock_guard lock(mu_);
  return db_->Exec("INSERT INTO audit (time_ms, actor, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?)",
                   {NowMs(), actor, action, target, detail, remote});
}

Result<std::vector<AuditEntry>> Store::ListAudit(int64_t limit) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT id, time_ms, actor, action, target, detail, remote FROM audit ORDER BY id DESC LIMIT ?", {limit});
  if (!rows.ok()) return rows.status();
  std::vector<AuditEntry> out;
  for (const auto& r : *rows) {
    out.push_back(AuditEntry{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6)});
  }
  return out;
}

Result<int64_t> Store::AddApproval(const Approval& a) {
  std::lock_guard lock(mu_);
  return db_->Insert(
      "INSERT INTO approvals (run_id, attempt, job, environment, user_name, decision, comment, time_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {a.run_id, a.attempt, a.job, a.environment, a.user, a.decision, a.comment, a.time_ms ? a.time_ms : NowMs()});
}

Result<std::vector<Approval>> Store::ListApprovals(int64_t run_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT id, run_id, attempt, job, environment, user_name, decision, comment, time_ms FROM approvals "
      "WHERE run_id = ? ORDER BY id",
      {run_id});
  if (!rows.ok()) return rows.status();
  std::vector<Approval> out;
  for (const auto& r : *rows) {
    out.push_back(
        Approval{r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Text(7), r.Int(8)});
  }
  return out;
}

Status Store::RecordDelivery(int64_t project_id, const std::string& source, int status, const std::string& reason) {
  std::lock_guard lock(mu_);
  return db_->Exec("INSERT INTO deliveries (project_id, source, status, reason, time_ms) VALUES (?, ?, ?, ?, ?)",
                   {project_id, source, int64_t{status}, reason, NowMs()});
}

Result<int64_t> Store::CountDeliveries(int status) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query("SELECT COUNT(*) FROM deliveries WHERE status = ?", {int64_t{status}});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

// ---- secrets ----

Status Store::SetSecret(int64_t project_id, const std::string& environment, const std::string& name,
                        const std::string& value) {
  auto sealed = Seal(key_, value);
  if (!sealed.ok()) return sealed.status();
  std::lock_guard lock(mu_);
  return Transaction([&]() -> Status {
    auto st = db_->Exec("DELETE FROM secrets WHERE project_id = ? AND environment = ? AND name = ?",
                        {project_id, environment, name});
    if (!st.ok()) return st;
    return db_->Exec("INSERT INTO secrets (project_id, environment, name, sealed) VALUES (?, ?, ?, ?)",
                     {project_id, environment, name, Blob{*sealed}});
  });
}

Result<std::map<std::string, std::string>> Store::Secrets(int64_t project_id, const std::string& environment) {
  std::lock_guard lock(mu_);
  // Environment secrets override project-wide ones of the same name.
  auto rows = db_->Query(
      "SELECT name, sealed, environment FROM secrets WHERE project_id = ? AND (environment = '' OR environment = ?) "
      "ORDER BY environment",
      {project_id, environment});
  if (!rows.ok()) return rows.status();
  std::map<std::string, std::string> out;
  for (const auto& r : *rows) {
    auto value = Unseal(key_, r.Text(1));
    if (!value.ok()) return Result<std::map<std::string, std::string>>::Error(r.Text(0) + ": " + value.error());
    out[r.Text(0)] = std::move(*value);
  }
  return out;
}

Status Store::DeleteSecret(int64_t project_id, const std::string& environment, const std::string& name) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM secrets WHERE project_id = ? AND environment = ? AND name = ?",
                   {project_id, environment, name});
}

Result<std::vector<std::string>> Store::SecretEnvironments(int64_t project_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "SELECT DISTINCT environment FROM secrets WHERE project_id = ? AND environment <> '' ORDER BY environment",
      {project_id});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.Text(0));
  return out;
}

// ---- maintenance ----

Result<int64_t> Store::DeleteRunsFinishedBefore(int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  int64_t count = 0;
  Status st = Transaction([&]() -> Status {
    auto ids = db_->Query("SELECT id FROM runs WHERE status = 'completed' AND finished_ms < ?", {cutoff_ms});
    if (!ids.ok()) return ids.status();
    for (const auto& row : *ids) {
      int64_t id = row.Int(0);
      for (const char* table : {"log_lines", "log_chunks", "annotations", "steps"}) {
        auto s = db_->Exec(
            std::string("DELETE FROM ") + table + " WHERE job_id IN (SELECT id FROM jobs WHERE run_id = ?)", {id});
        if (!s.ok()) return s;
      }
      for (const char* sql : {"DELETE FROM jobs WHERE run_id = ?", "DELETE FROM artifacts WHERE run_id = ?",
                              "DELETE FROM approvals WHERE run_id = ?", "DELETE FROM runs WHERE id = ?"}) {
        if (auto s = db_->Exec(sql, {id}); !s.ok()) return s;
      }
      ++count;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  next_seq_.clear();
  return count;
}

Result<std::string> Store::IntegrityCheck() {
  std::lock_guard lock(mu_);
  if (db_->dialect() == Dialect::kPostgres) {
    auto rows = db_->Query("SELECT COUNT(*) FROM runs");
    if (!rows.ok()) return rows.status();
    return std::string("ok");
  }
  auto rows = db_->Query("PRAGMA integrity_check");
  if (!rows.ok()) return rows.status();
  std::string out;
  for (const auto& r : *rows) out += (out.empty() ? "" : "\n") + r.Text(0);
  auto fk = db_->Query("PRAGMA foreign_key_check");
  if (fk.ok() && !fk->empty()) out += "\nforeign key violations: " + std::to_string(fk->size());
  return out;
}

}  // namespace gantry::store
