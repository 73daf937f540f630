#include "server/metrics_feed.h"

#include "base/strings.h"
#include "deploy/target.h"
#include "lb/load_balancer.h"
#include "monitor/metric_names.h"
#include "monitor/metrics.h"

namespace gantry::server {

double MetricsFeed::Delta(const std::string& key, double value) {
  double& last = last_[key];
  const double delta = value >= last ? value - last : value;
  last = value;
  return delta;
}

void MetricsFeed::FeedLb(const lb::Metrics& m) {
  namespace names = monitor::names;
  static const std::vector<double> kBounds = [] {
    std::vector<double> b;
    for (double ms : lb::kLatencyBucketsMs) b.push_back(ms / 1000.0);
    return b;
  }();
  for (const auto& g : m.groups) {
    // Groups are SERVICE.ENV.SLOT: service and environment labels let an alarm watch a
    // service in an environment whichever slot (blue/green, canary) serves it.
    monitor::Labels labels = {{"target_group", g.name}};
    if (auto parts = Split(g.name, '.'); parts.size() == 3) {
      labels.emplace_back("service", parts[0]);
      labels.emplace_back("environment", parts[1]);
    }
    const std::string key = g.name + "|";
    registry_->GetCounter(names::kLbRequestsTotal, "Requests forwarded to a target group", labels)
        ->Inc(Delta(key + "requests", static_cast<double>(g.counters.requests)));
    const std::pair<const char*, uint64_t> classes[] = {{"2xx", g.counters.status_2xx},
                                                        {"3xx", g.counters.status_3xx},
                                                        {"4xx", g.counters.status_4xx},
                                                        {"5xx", g.counters.status_5xx}};
    for (const auto& [cls, v] : classes) {
      monitor::Labels l = labels;
      l.emplace_back("code_class", cls);
      registry_->GetCounter(names::kLbResponsesTotal, "Responses of a target group by status class", l)
          ->Inc(Delta(key + cls, static_cast<double>(v)));
    }
    monitor::Histogram* h = registry_->GetHistogram(names::kLbTargetResponseSeconds,
                                                    "Time targets of a group took to answer", labels, kBounds);
    const double sum = Delta(key + "latency_sum", g.counters.latency_sum_ms) / 1000.0;
    for (int b = 0; b < lb::kLatencyBuckets; ++b) {
      const double n = Delta(key + "bucket" + std::to_string(b), static_cast<double>(g.counters.latency_buckets[b]));
      if (n > 0) h->AddToBucket(static_cast<size_t>(b), static_cast<uint64_t>(n), 0);
    }
    if (sum > 0) h->AddToBucket(0, 0, sum);
    registry_->GetGauge(names::kLbHealthyHosts, "Healthy targets of a target group", labels)->Set(g.healthy_hosts);
    registry_->GetGauge(names::kLbUnhealthyHosts, "Targets of a target group not healthy", labels)
        ->Set(g.unhealthy_hosts);
  }
  for (const auto& l : m.listeners) {
    registry_->GetGauge(names::kLbActiveConnections, "Open client connections of a listener", {{"listener", l.bound}})
        ->Set(static_cast<double>(l.active_connections));
  }
}

void MetricsFeed::FeedInstances(const std::vector<deploy::Instance>& instances) {
  for (const auto& i : instances) {
    auto parts = Split(i.group, '.');
    monitor::Labels labels = {{"service", parts[0]}, {"instance", i.id}};
    if (parts.size() == 3) labels.emplace(labels.begin() + 1, "environment", parts[1]);
    registry_->GetCounter(monitor::names::kInstanceRestartsTotal, "Restarts of crashed instances", labels)
        ->Inc(Delta("restarts|" + i.id, static_cast<double>(i.restarts)));
  }
}

}  // namespace gantry::server
