// The load balancer's C++ API: start it with a Config, then change it while it runs.
// Every change (Apply, SetWeights, SetTargets) builds a new immutable snapshot that the
// worker threads pick up between events, so a change never drops an in-flight or a new
// request. Targets that leave a group drain (no new requests, in-flight ones finish)
// for the group's deregistration delay. Thread-safe; knows nothing of workflows.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "lb/config.h"

namespace gantry::lb {

enum class TargetState { kInitial, kHealthy, kUnhealthy, kDraining, kUnused };
const char* TargetStateName(TargetState state);

// Upper bounds (milliseconds) of the latency histogram buckets; one more bucket holds the rest.
inline constexpr double kLatencyBucketsMs[] = {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
inline constexpr int kLatencyBuckets = sizeof(kLatencyBucketsMs) / sizeof(kLatencyBucketsMs[0]) + 1;

struct Counters {
  uint64_t requests = 0;
  uint64_t status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
  uint64_t latency_buckets[kLatencyBuckets] = {};
  double latency_sum_ms = 0;
};

struct TargetMetrics {
  std::string address;
  TargetState state = TargetState::kInitial;
  Counters counters;
  uint64_t outstanding = 0;
  uint64_t connect_errors = 0;
};

struct GroupMetrics {
  std::string name;
  Counters counters;
  int healthy_hosts = 0;
  int unhealthy_hosts = 0;
  std::vector<TargetMetrics> targets;  // registered and draining targets
};

struct ListenerMetrics {
  std::string listen;  // as configured
  std::string bound;   // the address actually bound ("127.0.0.1:41234" for port 0)
  Counters counters;   // every response the listener sent, including its own 4xx/5xx
  uint64_t active_connections = 0;
  uint64_t total_connections = 0;
};

struct Metrics {
  std::vector<ListenerMetrics> listeners;
  std::vector<GroupMetrics> groups;
};

class LoadBalancer {
 public:
  // Binds every listener and starts the workers and the health checker.
  static Result<std::unique_ptr<LoadBalancer>> Start(Config config);
  ~LoadBalancer();  // Stop(0)
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  // Replaces the whole configuration atomically. New listeners are bound (an error leaves
  // the old configuration in place), removed ones closed; targets keep their health state
  // when they stay. `workers` and `limits.max_header_bytes` apply to new connections only.
  Status Apply(Config config);
  // Sets the weight of the named target groups in every rule that forwards to them.
  Status SetWeights(const std::map<std::string, int>& weights);
  // Replaces the targets of one group; removed targets drain.
  Status SetTargets(const std::string& group, std::vector<std::string> targets);

  Config config() const;
  Metrics GetMetrics() const;
  // The address listener `index` is bound to ("127.0.0.1:PORT"), for configs with port 0.
  std::string BoundAddress(size_t index) const;
  uint16_t BoundPort(size_t index) const;

  // Stops accepting, lets in-flight requests finish for up to `grace_ms`, then closes all.
  void Stop(long long grace_ms = 10'000);

  struct Impl;

 private:
  explicit LoadBalancer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::lb
