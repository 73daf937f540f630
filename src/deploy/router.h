// How deployments move traffic: the TrafficRouter interface (implemented over src/lb by
// LbRouter in deploy/lb_router.h). Each service in an environment has a route on the load
// balancer forwarding to two target groups (slots "a" and "b"); strategies change the
// targets and weights of those groups and read their health and request statistics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "deploy/config.h"

namespace gantry::deploy {

struct RouteSpec {
  std::string name;                 // "web.production"
  ListenerSpec listener;            // host / path prefix
  std::vector<std::string> groups;  // target group names; the first gets weight 100 at creation
  HealthCheckSpec health;
  long long deregistration_delay_ms = 5000;
};

struct TargetHealth {
  std::string address;
  bool healthy = false;
  std::string state;  // the router's own word ("initial", "healthy", "draining", ...)
};

// Cumulative counters of one target group; analysis works on differences of two snapshots.
struct TrafficStats {
  uint64_t requests = 0;
  uint64_t errors_5xx = 0;
  std::vector<double> bucket_upper_ms;  // latency histogram bounds; the last bucket is open
  std::vector<uint64_t> buckets;        // bucket_upper_ms.size() + 1 entries
  TrafficStats Minus(const TrafficStats& earlier) const;
  // Upper bound of the bucket holding the 99th percentile; 0 without requests.
  double P99Ms() const;
};

class TrafficRouter {
 public:
  virtual ~TrafficRouter() = default;
  // Creates the route and its groups if missing (existing weights and targets stay).
  virtual Status EnsureRoute(const RouteSpec& route) = 0;
  virtual Status SetTargets(const std::string& group, const std::vector<std::string>& addresses) = 0;
  // Applied atomically: no request sees a mix of old and new weights.
  virtual Status SetWeights(const std::map<std::string, int>& weights) = 0;
  // A rule sending everything that matches `listener` to `group` alone (blue/green preview:
  // test traffic to green before promotion); an empty group removes that rule.
  virtual Status SetPreview(const ListenerSpec& listener, const std::string& group) = 0;
  virtual std::vector<TargetHealth> Health(const std::string& group) = 0;
  virtual TrafficStats Stats(const std::string& group) = 0;
};

// Alarm states from the monitor (src/monitor delivers transitions; the controller asks).
enum class AlarmState { kOk, kAlarm, kInsufficientData };
class AlarmSource {
 public:
  virtual ~AlarmSource() = default;
  virtual AlarmState State(const std::string& alarm) = 0;
};

}  // namespace gantry::deploy
