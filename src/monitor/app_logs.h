// Application logs: the stdout/stderr lines of deployed instances, kept per service in
// hourly checksummed files (<dir>/<service>/<hour>.log) for a retention period, and queried
// by service, instance, time range and text. Each line gets a sequence number so followers
// (`gantry logs service/web -f`) resume exactly where they stopped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/http.h"
#include "base/status.h"
#include "monitor/clock.h"

namespace gantry::monitor {

struct LogLine {
  uint64_t seq = 0;  // assigned by the store
  int64_t t_ms = 0;
  std::string service;
  std::string instance;
  std::string stream = "stdout";  // stdout | stderr
  std::string text;
};

struct LogStoreOptions {
  std::string dir;  // required
  int64_t retention_ms = 7 * 86'400'000LL;
  size_t max_line_bytes = 16 * 1024;  // longer lines are cut and marked
  bool sync = false;
  const Clock* clock = nullptr;
};

struct LogQuery {
  std::string service;          // empty: every service
  std::string instance;         // empty: every instance
  std::string instance_prefix;  // only instances whose id starts with this ("web.staging.")
  int64_t since_ms = 0;
  int64_t until_ms = INT64_MAX;
  std::string grep;        // substring; empty: every line
  uint64_t after_seq = 0;  // only lines appended after this one (follow)
  size_t limit = 1000;     // the last `limit` matching lines
};

class LogStore {
 public:
  static Result<std::unique_ptr<LogStore>> Open(LogStoreOptions options);

  // Stores lines (seq is assigned); they are on disk when this returns.
  Status Append(std::vector<LogLine> lines);
  Result<std::vector<LogLine>> Query(const LogQuery& q) const;
  // Blocks until a line after `after_seq` exists or `timeout_ms` passes; returns the last seq.
  uint64_t WaitForNew(uint64_t after_seq, int timeout_ms) const;
  // Deletes hour files past retention.
  Status Prune(int64_t now_ms);
  uint64_t last_seq() const;

 private:
  explicit LogStore(LogStoreOptions options);
  Status Load();

  LogStoreOptions options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable appended_;
  uint64_t seq_ = 0;
};

bool IsValidServiceName(std::string_view name);

// GET ?service=web&environment=staging&instance=web-1&since=10m&until=MS&grep=ERROR&limit=100&after=SEQ&follow=1
// (environment: instances of the deployed service in that environment, whose ids start
// with "SERVICE.ENVIRONMENT.")
// -> newline-delimited JSON, one {"seq","t","service","instance","stream","text"} per line;
// with follow=1 the response stays open and streams new lines (chunked) until the client leaves.
// POST ?service=web&instance=web-1&stream=stderr with a text body appends its lines.
http::Handler LogsHandler(LogStore* store);

}  // namespace gantry::monitor
