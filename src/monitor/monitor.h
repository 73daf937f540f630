// The monitor as one piece for the server: the metrics registry, the time-series store fed
// from it, alarms, notifications and application logs, a background loop that samples,
// flushes and evaluates every step, and the HTTP handlers to mount.
//
// Feeding metrics (load balancer, deploy controller, runner): take series from registry()
// once and update them on the hot path (lock-free):
//   auto* fivexx = monitor.registry().GetCounter("gantry_lb_responses_total", "...",
//                                                {{"target_group", "web"}, {"code_class", "5xx"}});
//   fivexx->Inc();
// Reacting to alarms (deploy controller: roll back; autoscaler: scale):
//   monitor.alarms().Subscribe([](const monitor::AlarmTransition& t) {
//     for (auto& a : t.actions) if (a == "deploy:rollback:web") ...;
//   });
// Sending pipeline events: monitor.notifier().Publish("ops", event).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "monitor/alarm.h"
#include "monitor/app_logs.h"
#include "monitor/clock.h"
#include "monitor/metrics.h"
#include "monitor/notify.h"
#include "monitor/tsdb.h"

namespace gantry::http {
class Router;
}

namespace gantry::monitor {

struct MonitorOptions {
  std::string data_dir;  // required: tsdb/, logs/ and outbox.db go under it
  int64_t step_ms = 10'000;
  std::vector<Tier> tiers = {{10'000, 86'400'000}, {60'000, 14 * 86'400'000LL}};
  int64_t log_retention_ms = 7 * 86'400'000LL;
  SmtpOptions smtp;
  const Clock* clock = nullptr;
};

class Monitor {
 public:
  static Result<std::unique_ptr<Monitor>> Open(MonitorOptions options);
  ~Monitor();  // stops the loop

  Registry& registry() { return registry_; }
  TimeSeriesStore& store() { return *store_; }
  Alarms& alarms() { return *alarms_; }
  Notifier& notifier() { return *notifier_; }
  LogStore& logs() { return *logs_; }

  // One step of the loop: sample the registry, flush the store, evaluate alarms (which
  // queue notifications), prune logs. Tests call it with a fake clock.
  Status Tick(int64_t now_ms);
  // Runs Tick every step and delivers notifications, in background threads.
  void Start();
  void Stop();

  // GET  /metrics                       Prometheus exposition
  // POST <api>/metrics                  push (StatsD lines or JSON)
  // GET  <api>/metrics/query            time-series query (JSON)
  // GET  <api>/alarms                   alarm states (JSON)
  // GET|POST <api>/logs                 application logs (NDJSON, follow=1 streams)
  void Mount(http::Router& router, const std::string& api_prefix = "/api/v1");

 private:
  explicit Monitor(MonitorOptions options);

  MonitorOptions options_;
  const Clock* clock_;
  Registry registry_;
  std::unique_ptr<TimeSeriesStore> store_;
  std::unique_ptr<RegistrySampler> sampler_;
  std::unique_ptr<Alarms> alarms_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<LogStore> logs_;
  int64_t last_prune_ms_ = 0;
  std::thread loop_;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
};

// Gauges for a process read from /proc at scrape time: resident memory, CPU seconds,
// open file descriptors (what the local fleet exposes per instance).
Status WatchProcess(Registry* registry, const Labels& labels, int pid);

}  // namespace gantry::monitor
