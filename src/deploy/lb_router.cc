#include "deploy/lb_router.h"

#include <algorithm>

#include "lb/control.h"
#include "lb/load_balancer.h"

namespace gantry::deploy {

LbRouter::LbRouter(lb::LoadBalancer* lb, size_t listener)
    : owned_(std::make_unique<lb::LocalControl>(lb)), lb_(owned_.get()), listener_(listener) {}
LbRouter::LbRouter(lb::Control* control, size_t listener) : lb_(control), listener_(listener) {}
LbRouter::~LbRouter() = default;

Status LbRouter::SetPreview(const ListenerSpec& listener, const std::string& group) {
  lb::Config c = lb_->config();
  if (listener_ >= c.listeners.size())
    return Status::Error("load balancer has no listener " + std::to_string(listener_));
  auto& rules = c.listeners[listener_].rules;
  auto it = std::find_if(rules.begin(), rules.end(), [&](const lb::Rule& r) {
    return r.host == listener.host && r.path_prefix == listener.path && r.headers.empty();
  });
  if (group.empty()) {
    if (it == rules.end()) return Status::Ok();
    rules.erase(it);
  } else if (it != rules.end()) {
    if (it->forward.size() == 1 && it->forward[0].target_group == group) return Status::Ok();
    it->forward = {{group, 100}};
  } else {
    lb::Rule r;
    r.host = listener.host;
    r.path_prefix = listener.path;
    r.forward = {{group, 100}};
    rules.insert(rules.begin(), std::move(r));  // a host of its own: ahead of everything
  }
  return lb_->Apply(std::move(c));
}

Status LbRouter::EnsureRoute(const RouteSpec& route) {
  lb::Config c = lb_->config();
  if (listener_ >= c.listeners.size())
    return Status::Error("load balancer has no listener " + std::to_string(listener_));
  bool changed = false;
  for (const auto& name : route.groups) {
    if (c.FindGroup(name)) continue;
    lb::TargetGroup g;
    g.name = name;
    g.health_check.path = route.health.path;
    g.health_check.interval_ms = route.health.interval_ms;
    g.health_check.timeout_ms = route.health.timeout_ms;
    g.health_check.healthy_threshold = route.health.healthy_threshold;
    g.health_check.unhealthy_threshold = route.health.unhealthy_threshold;
    g.health_check.matcher_low = route.health.matcher_low;
    g.health_check.matcher_high = route.health.matcher_high;
    g.deregistration_delay_ms = route.deregistration_delay_ms;
    c.target_groups.push_back(std::move(g));
    changed = true;
  }
  auto& rules = c.listeners[listener_].rules;
  const bool present = std::any_of(rules.begin(), rules.end(), [&](const lb::Rule& r) {
    return std::any_of(r.forward.begin(), r.forward.end(),
                       [&](const lb::WeightedGroup& w) { return w.target_group == route.groups.front(); });
  });
  if (!present) {
    lb::Rule r;
    r.host = route.listener.host;
    r.path_prefix = route.listener.path;
    for (size_t i = 0; i < route.groups.size(); ++i) r.forward.push_back({route.groups[i], i == 0 ? 100 : 0});
    // First match wins: keep longer (more specific) prefixes, and host rules, ahead.
    auto pos = std::find_if(rules.begin(), rules.end(), [&](const lb::Rule& o) {
      if (o.host.empty() != r.host.empty()) return o.host.empty();
      return o.path_prefix.size() < r.path_prefix.size();
    });
    rules.insert(pos, std::move(r));
    changed = true;
  }
  return changed ? lb_->Apply(std::move(c)) : Status::Ok();
}

Status LbRouter::SetTargets(const std::string& group, const std::vector<std::string>& addresses) {
  return lb_->SetTargets(group, addresses);
}

Status LbRouter::SetWeights(const std::map<std::string, int>& weights) { return lb_->SetWeights(weights); }

std::vector<TargetHealth> LbRouter::Health(const std::string& group) {
  std::vector<TargetHealth> out;
  auto metrics = lb_->GetMetrics();
  if (!metrics.ok()) return out;  // unknown health: callers treat targets as not serving
  for (const auto& g : metrics->groups) {
    if (g.name != group) continue;
    for (const auto& t : g.targets)
      out.push_back({t.address, t.state == lb::TargetState::kHealthy, lb::TargetStateName(t.state)});
  }
  return out;
}

TrafficStats LbRouter::Stats(const std::string& group) {
  TrafficStats s;
  s.bucket_upper_ms.assign(std::begin(lb::kLatencyBucketsMs), std::end(lb::kLatencyBucketsMs));
  s.buckets.assign(lb::kLatencyBuckets, 0);
  auto metrics = lb_->GetMetrics();
  if (!metrics.ok()) return s;
  for (const auto& g : metrics->groups) {
    if (g.name != group) continue;
    s.requests = g.counters.requests;
    s.errors_5xx = g.counters.status_5xx;
    for (int i = 0; i < lb::kLatencyBuckets; ++i) s.buckets[i] = g.counters.latency_buckets[i];
  }
  return s;
}

}  // namespace gantry::deploy
