// Active health checks with ALB semantics: every `interval` each registered target gets
// `GET path`; `healthy_threshold` consecutive matches make it healthy, `unhealthy_threshold`
// consecutive failures (bad status, refused, timeout) unhealthy. One thread, non-blocking
// sockets and poll(), so a hanging target never delays the others. Internal to src/lb.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "lb/worker.h"

namespace gantry::lb {

class HealthChecker {
 public:
  // `housekeeping` runs on the checker's thread about every 50 ms (draining bookkeeping).
  HealthChecker(const Shared& shared, std::function<void(int64_t now_ms)> housekeeping);
  ~HealthChecker();
  void Start();
  void Stop();

 private:
  void Run();
  const Shared& shared_;
  std::function<void(int64_t)> housekeeping_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gantry::lb
