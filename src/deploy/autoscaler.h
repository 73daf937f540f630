// Autoscaling by target tracking (AWS target tracking, the Kubernetes HPA): a pure decision
// function from measured load to an instance count, and the seam that measures the load
// (CPU per instance from /proc, requests per instance from the load balancer) so tests can
// feed their own values. The controller applies decisions (Controller::Autoscale) as "scale"
// deployments of the stable revision; docs/deploy.md, "Autoscaling".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "deploy/config.h"
#include "deploy/router.h"
#include "deploy/target.h"

namespace gantry::deploy {

// Within this fraction of the target nothing changes (the HPA's default tolerance), so a
// load right at the target does not flap.
inline constexpr double kScaleTolerance = 0.1;

// One tracked metric: its average per instance over the last window and the target.
struct ScalingMetric {
  std::string name;  // "cpu" | "requests"
  std::optional<double> value;
  double target = 0;
};

struct ScalingInput {
  int current = 1;  // the desired count now
  std::vector<ScalingMetric> metrics;
  int min = 1, max = 1;
  long long last_scale_out_ms = 0, last_scale_in_ms = 0;  // 0: never
  long long scale_out_cooldown_ms = 0, scale_in_cooldown_ms = 0;
  bool deployment_active = false;
  long long now_ms = 0;
};

struct ScalingDecision {
  int desired = 0;     // equal to current: no change
  std::string reason;  // why it changes, or why it does not
};

// Scale out when a metric is above its target (by more than the tolerance): to
// ceil(current * value / target), at once, outside the scale-out cooldown. Scale in only when
// every metric is measured and below its target by more than the tolerance: to the count that
// keeps each at or below its target, but by at most half the instances per step, outside the
// scale-in cooldown (which also runs from the last scale-out). Always within [min, max] (min
// at least 1), and never while a deployment of the service is active.
ScalingDecision DecideScale(const ScalingInput& in);

// The declared count (of the service, or the environment's override), clamped to the
// autoscaling bounds when autoscaling is on; the autoscaler's choice replaces it once made.
int EffectiveInstances(int declared, const AutoscalingSpec& spec, int autoscaled);
int ScalingMin(const AutoscalingSpec& spec);  // min, at least 1 (no scale to zero)

// A service's load per instance over the time since its previous measurement.
struct ScalingSample {
  std::optional<double> cpu_percent;          // average per instance, percent of one core
  std::optional<double> requests_per_second;  // per serving instance
};

class ScalingMetrics {
 public:
  virtual ~ScalingMetrics() = default;
  // `group` ("web.production.a") runs `instances`, `serving` of them take traffic. The first
  // call for a group (or an instance) only starts a window: nothing is measured yet.
  virtual ScalingSample Measure(const std::string& group, const std::vector<Instance>& instances, int serving,
                                long long now_ms) = 0;
};

// CPU time from /proc (utime + stime of every process in the instance's session, so the app
// under a bubblewrap sandbox counts, not only bwrap) and the router's request counters of the
// group. Without a router there is no request metric.
class SystemScalingMetrics : public ScalingMetrics {
 public:
  explicit SystemScalingMetrics(TrafficRouter* router) : router_(router) {}
  ScalingSample Measure(const std::string& group, const std::vector<Instance>& instances, int serving,
                        long long now_ms) override;

 private:
  struct Window {
    long long at_ms = 0;
    uint64_t requests = 0;
    bool has_requests = false;
    std::map<std::string, std::pair<int, double>> cpu;  // instance id -> pid, CPU seconds
  };
  TrafficRouter* router_;
  std::map<std::string, Window> windows_;
};

// CPU seconds (user + system) of every process whose session is one of `sessions`, by session.
std::map<int, double> SessionCpuSeconds(const std::vector<int>& sessions);

}  // namespace gantry::deploy
