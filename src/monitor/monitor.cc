#include "monitor/monitor.h"

#include <dirent.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/http_server.h"
#include "monitor/exposition.h"
#include "monitor/push.h"

namespace gantry::monitor {

Monitor::Monitor(MonitorOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &SystemClock::Get()) {}

Monitor::~Monitor() { Stop(); }

Result<std::unique_ptr<Monitor>> Monitor::Open(MonitorOptions options) {
  using R = Result<std::unique_ptr<Monitor>>;
  if (options.data_dir.empty()) return R::Error("monitor: a data directory is required");
  std::unique_ptr<Monitor> m(new Monitor(std::move(options)));
  TsdbOptions t;
  t.dir = m->options_.data_dir + "/tsdb";
  t.tiers = m->options_.tiers;
  t.clock = m->clock_;
  auto store = TimeSeriesStore::Open(t);
  if (!store.ok()) return store.status();
  m->store_ = std::move(*store);
  m->sampler_ = std::make_unique<RegistrySampler>(&m->registry_, m->store_.get());
  m->alarms_ = std::make_unique<Alarms>(m->store_.get(), m->clock_);
  NotifierOptions n;
  n.data_dir = m->options_.data_dir;
  n.smtp = m->options_.smtp;
  n.clock = m->clock_;
  auto notifier = Notifier::Open(n);
  if (!notifier.ok()) return notifier.status();
  m->notifier_ = std::move(*notifier);
  m->notifier_->ConnectAlarms(m->alarms_.get());
  LogStoreOptions l;
  l.dir = m->options_.data_dir + "/logs";
  l.retention_ms = m->options_.log_retention_ms;
  l.clock = m->clock_;
  auto logs = LogStore::Open(l);
  if (!logs.ok()) return logs.status();
  m->logs_ = std::move(*logs);
  return m;
}

Status Monitor::Tick(int64_t now_ms) {
  Status first = sampler_->Sample(now_ms);
  if (Status st = store_->Flush(now_ms); !st.ok() && first.ok()) first = st;
  alarms_->Evaluate(now_ms);
  if (now_ms - last_prune_ms_ >= 3'600'000) {
    last_prune_ms_ = now_ms;
    if (Status st = logs_->Prune(now_ms); !st.ok() && first.ok()) first = st;
  }
  return first;
}

void Monitor::Start() {
  if (loop_.joinable()) return;
  stop_ = false;
  notifier_->Start();
  loop_ = std::thread([this] {
    std::unique_lock lock(loop_mu_);
    for (;;) {
      int64_t now = clock_->NowMs();
      int64_t wait = options_.step_ms - now % options_.step_ms;  // tick on step boundaries
      if (loop_cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stop_; })) return;
      lock.unlock();
      (void)Tick(clock_->NowMs());
      lock.lock();
    }
  });
}

void Monitor::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (notifier_) notifier_->Stop();
}

void Monitor::Mount(http::Router& router, const std::string& api) {
  router.Mount("GET", "/metrics", MetricsHandler(registry_));
  router.Mount("POST", api + "/metrics", PushHandler(&registry_));
  router.Mount("GET", api + "/metrics/query", QueryHandler(store_.get()));
  router.Mount("", api + "/logs", LogsHandler(logs_.get()));
  router.Mount("GET", api + "/alarms", [this](http::Request&, http::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : alarms_->List()) {
      list.push_back({{"name", a.name},
                      {"composite", a.composite},
                      {"state", AlarmStateName(a.state)},
                      {"reason", a.reason},
                      {"since_ms", a.since_ms}});
    }
    res.Send(200, "application/json", nlohmann::json{{"alarms", list}}.dump());
  });
}

namespace {
// Fields of /proc/<pid>/stat after the command name; nullopt when the process is gone.
std::optional<std::vector<std::string>> ProcStat(int pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return std::nullopt;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> fields;
  std::string cur;
  for (char c : stat->substr(close + 2)) {
    if (c == ' ' || c == '\n') {
      if (!cur.empty()) fields.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) fields.push_back(cur);
  return fields;
}
}  // namespace

Status WatchProcess(Registry* registry, const Labels& labels, int pid) {
  static const long kPage = ::sysconf(_SC_PAGESIZE);
  static const long kTicks = ::sysconf(_SC_CLK_TCK);
  // Field indexes are relative to the state field (field 3 of proc(5)).
  Status st =
      registry->GaugeCallback("gantry_process_resident_memory_bytes", "Resident memory of the process.", labels, [pid] {
        auto f = ProcStat(pid);
        return f && f->size() > 21 ? std::atof((*f)[21].c_str()) * kPage : 0.0;
      });
  if (!st.ok()) return st;
  st = registry->GaugeCallback("gantry_process_cpu_seconds", "User and system CPU time of the process.", labels, [pid] {
    auto f = ProcStat(pid);
    if (!f || f->size() < 13) return 0.0;
    return (std::atof((*f)[11].c_str()) + std::atof((*f)[12].c_str())) / kTicks;
  });
  if (!st.ok()) return st;
  return registry->GaugeCallback("gantry_process_open_fds", "Open file descriptors of the process.", labels, [pid] {
    double n = 0;
    if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
      while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
      ::closedir(d);
    }
    return n;
  });
}

}  // namespace gantry::monitor
