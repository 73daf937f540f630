#include "monitor/app_logs.h"

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"
#include "monitor/record_file.h"

namespace gantry::monitor {

namespace {
constexpr int64_t kHour = 3'600'000;

std::vector<std::string> List(const std::string& dir, bool dirs) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (dirs ? e->d_type == DT_DIR : EndsWith(n, ".log")) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;  // numeric order for hour files
  });
  return out;
}

std::string Encode(const LogLine& l) {
  std::string p;
  PutI64(&p, static_cast<int64_t>(l.seq));
  PutI64(&p, l.t_ms);
  PutString(&p, l.instance);
  PutString(&p, l.stream);
  PutString(&p, l.text);
  return p;
}

bool Decode(const std::string& payload, const std::string& service, LogLine* l) {
  PayloadReader r(payload);
  l->seq = static_cast<uint64_t>(r.I64());
  l->t_ms = r.I64();
  l->instance = r.String(256);
  l->stream = r.String(16);
  l->text = r.String();
  l->service = service;
  return r.ok();
}
}  // namespace

bool IsValidServiceName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name[0] == '.') return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

LogStore::LogStore(LogStoreOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &SystemClock::Get()) {}

Result<std::unique_ptr<LogStore>> LogStore::Open(LogStoreOptions options) {
  if (options.dir.empty()) return Result<std::unique_ptr<LogStore>>::Error("log store: a directory is required");
  std::unique_ptr<LogStore> s(new LogStore(std::move(options)));
  if (Status st = s->Load(); !st.ok()) return st;
  return s;
}

Status LogStore::Load() {
  if (Status st = MakeDirs(options_.dir); !st.ok()) return st;
  for (const auto& service : List(options_.dir, true)) {
    auto files = List(options_.dir + "/" + service, false);
    if (files.empty()) continue;
    // Appends go to the newest hour of a service; only it can have a torn tail. Sequence
    // numbers continue from the highest one on disk.
    std::string newest = options_.dir + "/" + service + "/" + files.back();
    auto cut = RepairRecordFile(newest);
    if (!cut.ok()) return cut.status();
    for (size_t i = files.size() >= 2 ? files.size() - 2 : 0; i < files.size(); ++i) {
      auto scan = ReadRecords(options_.dir + "/" + service + "/" + files[i]);
      if (!scan.ok()) return scan.status();
      for (const auto& p : scan->payloads) {
        LogLine l;
        if (Decode(p, service, &l)) seq_ = std::max(seq_, l.seq);
      }
    }
  }
  return Status::Ok();
}

Status LogStore::Append(std::vector<LogLine> lines) {
  std::map<std::string, std::vector<std::string>> by_file;
  std::lock_guard lock(mu_);
  for (auto& l : lines) {
    if (!IsValidServiceName(l.service)) {
      return Status::Error("log line: invalid service name \"" + l.service.substr(0, 100) + "\"");
    }
    if (l.instance.size() > 200) l.instance.resize(200);
    if (l.stream != "stdout" && l.stream != "stderr") l.stream = "stdout";
    if (l.text.size() > options_.max_line_bytes) {
      l.text.resize(options_.max_line_bytes);
      l.text += " [truncated]";
    }
    if (l.t_ms == 0) l.t_ms = clock_->NowMs();
    l.seq = ++seq_;
    int64_t hour = l.t_ms - ((l.t_ms % kHour) + kHour) % kHour;
    std::string dir = options_.dir + "/" + l.service;
    by_file[dir + "/" + std::to_string(hour) + ".log"].push_back(Encode(l));
  }
  for (const auto& [path, payloads] : by_file) {
    if (Status st = MakeDirs(path.substr(0, path.rfind('/'))); !st.ok()) return st;
    if (Status st = AppendRecords(path, payloads, options_.sync); !st.ok()) return st;
  }
  appended_.notify_all();
  return Status::Ok();
}

Result<std::vector<LogLine>> LogStore::Query(const LogQuery& q) const {
  using R = Result<std::vector<LogLine>>;
  if (!q.service.empty() && !IsValidServiceName(q.service)) return R::Error("invalid service name");
  std::vector<std::string> services = q.service.empty() ? List(options_.dir, true) : std::vector{q.service};
  std::vector<LogLine> out;
  size_t limit = std::clamp<size_t>(q.limit, 1, 100000);
  for (const auto& service : services) {
    std::string dir = options_.dir + "/" + service;
    for (const auto& f : List(dir, false)) {
      int64_t hour = std::atoll(f.c_str());
      if (hour + kHour <= q.since_ms || hour > q.until_ms) continue;
      auto scan = ReadRecords(dir + "/" + f);
      if (!scan.ok()) return scan.status();
      for (const auto& p : scan->payloads) {
        LogLine l;
        if (!Decode(p, service, &l)) continue;
        if (l.seq <= q.after_seq || l.t_ms < q.since_ms || l.t_ms > q.until_ms) continue;
        if (!q.instance.empty() && l.instance != q.instance) continue;
        if (!q.instance_prefix.empty() && !StartsWith(l.instance, q.instance_prefix)) continue;
        if (!q.grep.empty() && l.text.find(q.grep) == std::string::npos) continue;
        out.push_back(std::move(l));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LogLine& a, const LogLine& b) { return a.t_ms != b.t_ms ? a.t_ms < b.t_ms : a.seq < b.seq; });
  if (out.size() > limit) out.erase(out.begin(), out.end() - static_cast<long>(limit));
  return out;
}

uint64_t LogStore::WaitForNew(uint64_t after_seq, int timeout_ms) const {
  std::unique_lock lock(mu_);
  appended_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return seq_ > after_seq; });
  return seq_;
}

uint64_t LogStore::last_seq() const {
  std::lock_guard lock(mu_);
  return seq_;
}

Status LogStore::Prune(int64_t now_ms) {
  for (const auto& service : List(options_.dir, true)) {
    std::string dir = options_.dir + "/" + service;
    for (const auto& f : List(dir, false)) {
      if (std::atoll(f.c_str()) + kHour <= now_ms - options_.retention_ms) {
        if (Status st = RemoveAll(dir + "/" + f); !st.ok()) return st;
      }
    }
  }
  return Status::Ok();
}

namespace {
std::string LineJson(const LogLine& l) {
  nlohmann::json j{{"seq", l.seq},           {"t", l.t_ms},        {"service", l.service},
                   {"instance", l.instance}, {"stream", l.stream}, {"text", l.text}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}
}  // namespace

http::Handler LogsHandler(LogStore* store) {
  return [store](http::Request& req, http::Response& res) {
    auto param = [&](const char* name) { return req.QueryParam(name).value_or(""); };
    auto bad = [&](const std::string& m) { res.Send(400, "text/plain; charset=utf-8", m + "\n"); };
    if (req.method == "POST") {
      LogLine proto;
      proto.service = param("service");
      proto.instance = param("instance");
      proto.stream = param("stream").empty() ? "stdout" : param("stream");
      if (!IsValidServiceName(proto.service)) return bad("service: expected [A-Za-z0-9._-]{1,100}");
      auto body = req.ReadAll(4 << 20);
      if (!body.ok()) return res.Send(413, "text/plain; charset=utf-8", body.error() + "\n");
      std::vector<LogLine> lines;
      for (auto& text : Split(*body, '\n')) {
        if (text.empty()) continue;
        LogLine l = proto;
        l.text = std::move(text);
        lines.push_back(std::move(l));
      }
      Status st = store->Append(std::move(lines));
      if (!st.ok()) return bad(st.message());
      return res.Send(204, "", "");
    }
    if (req.method != "GET") return res.Send(405, "text/plain; charset=utf-8", "use GET or POST\n");
    LogQuery q;
    q.service = param("service");
    q.instance = param("instance");
    q.grep = param("grep");
    if (q.grep.size() > 1024) return bad("grep: longer than 1024 bytes");
    if (std::string env = param("environment"); !env.empty()) {
      if (!IsValidServiceName(env) || q.service.empty())
        return bad("environment: needs service, and [A-Za-z0-9._-]{1,100}");
      q.instance_prefix = q.service + "." + env + ".";
    }
    int64_t now = SystemClock::Get().NowMs();
    if (auto s = req.QueryParam("since")) {
      long long d = ParseDurationMs(*s);
      if (d < 0) return bad("since: expected a duration like 10m or 1h");
      q.since_ms = now - d;
    }
    if (auto u = req.QueryParam("until")) q.until_ms = std::atoll(u->c_str());
    if (auto l = req.QueryParam("limit")) q.limit = static_cast<size_t>(std::max(1LL, std::atoll(l->c_str())));
    if (auto a = req.QueryParam("after")) q.after_seq = std::strtoull(a->c_str(), nullptr, 10);
    bool follow = param("follow") == "1" || param("follow") == "true";
    auto lines = store->Query(q);
    if (!lines.ok()) return bad(lines.error());
    if (!follow) {
      std::string body;
      for (const auto& l : *lines) body += LineJson(l);
      return res.Send(200, "application/x-ndjson", body);
    }
    if (!res.Start(200, {{"Content-Type", "application/x-ndjson"}, {"Cache-Control", "no-cache"}}, std::nullopt)) {
      return;
    }
    uint64_t last = store->last_seq();
    for (const auto& l : *lines) {
      if (!res.Write(LineJson(l))) return;
      last = std::max(last, l.seq);
    }
    if (!res.Flush()) return;
    q.limit = 100000;
    for (int idle = 0;; ++idle) {
      store->WaitForNew(last, 1000);
      // Lines up to `observed` are sent now; later ones in the next round, so none is lost
      // or sent twice.
      uint64_t observed = store->last_seq();
      q.after_seq = last;
      auto more = store->Query(q);
      if (!more.ok()) return;
      for (const auto& l : *more) {
        if (l.seq > observed) continue;
        if (!res.Write(LineJson(l))) return;
        idle = 0;
      }
      last = observed;
      // A blank line each idle second (NDJSON readers skip it) finds clients that went away.
      if (idle >= 1) {
        if (!res.Write("\n")) return;
        idle = 0;
      }
      if (!res.Flush()) return;
    }
  };
}

}  // namespace gantry::monitor
