#include "monitor/metrics.h"

#include <algorithm>
#include <cmath>

namespace gantry::monitor {

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

namespace internal {
int ShardIndex() {
  // Each thread picks a shard once; threads spread round-robin over the shards.
  static std::atomic<int> next{0};
  thread_local int shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}
}  // namespace internal

double Counter::Value() const {
  double total = 0;
  for (const auto& c : cells_) total += c.value.load(std::memory_order_relaxed);
  return total;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void Histogram::AddToBucket(size_t bucket, uint64_t count, double sum) {
  if (bucket > bounds_.size() || std::isnan(sum)) return;
  buckets_[bucket].fetch_add(count, std::memory_order_relaxed);
  sum_.fetch_add(sum, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultDurationBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.find(':') != std::string_view::npos) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;  // reserved
  return IsValidMetricName(name);
}

std::string LabelKey(const Labels& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\x1f';
    key += v;
    key += '\x1e';
  }
  return key;
}

Registry::Registry(RegistryLimits limits) : limits_(limits) {}

Result<Series*> Registry::Find(std::string_view name, std::string_view help, MetricType type, Labels labels,
                               std::vector<double> bounds) {
  if (name.size() > limits_.max_name_length || !IsValidMetricName(name)) {
    return Result<Series*>::Error("invalid metric name \"" + std::string(name.substr(0, 200)) +
                                  "\": expected [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (labels.size() > limits_.max_labels) {
    return Result<Series*>::Error("metric " + std::string(name) + " has " + std::to_string(labels.size()) +
                                  " labels, more than the limit of " + std::to_string(limits_.max_labels));
  }
  for (const auto& [k, v] : labels) {
    if (k.size() > limits_.max_name_length || !IsValidLabelName(k)) {
      return Result<Series*>::Error("metric " + std::string(name) + ": invalid label name \"" + k.substr(0, 200) +
                                    "\"");
    }
    if (v.size() > limits_.max_label_value_length) {
      return Result<Series*>::Error("metric " + std::string(name) + ": value of label " + k + " is longer than " +
                                    std::to_string(limits_.max_label_value_length) + " bytes");
    }
  }
  std::sort(labels.begin(), labels.end());
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].first == labels[i - 1].first) {
      return Result<Series*>::Error("metric " + std::string(name) + ": label " + labels[i].first + " given twice");
    }
  }
  if (type == MetricType::kHistogram) {
    if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
        std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
      return Result<Series*>::Error("histogram " + std::string(name) +
                                    ": bucket bounds must be ascending and distinct");
    }
    for (const auto& [k, v] : labels) {
      if (k == "le") return Result<Series*>::Error("histogram " + std::string(name) + ": label \"le\" is reserved");
    }
  }

  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->name = std::string(name);
    family->help = std::string(help);
    family->type = type;
    family->bounds = bounds;
    it = families_.emplace(family->name, std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.type != type) {
    return Result<Series*>::Error("metric " + std::string(name) + " is a " + MetricTypeName(family.type) + ", not a " +
                                  MetricTypeName(type));
  }
  std::string key = LabelKey(labels);
  auto found = family.by_key.find(key);
  if (found != family.by_key.end()) return found->second;
  if (series_count_ >= limits_.max_series) {
    return Result<Series*>::Error("too many metric series (limit " + std::to_string(limits_.max_series) + ")");
  }
  Series& series = family.series.emplace_back();
  series.labels = std::move(labels);
  switch (type) {
    case MetricType::kCounter:
      series.counter = std::make_unique<class Counter>();
      break;
    case MetricType::kGauge:
      series.gauge = std::make_unique<class Gauge>();
      break;
    case MetricType::kHistogram:
      series.histogram = std::make_unique<class Histogram>(family.bounds);
      break;
  }
  family.by_key.emplace(std::move(key), &series);
  ++series_count_;
  return &series;
}

Result<Counter*> Registry::MakeCounter(std::string_view name, std::string_view help, Labels labels) {
  auto s = Find(name, help, MetricType::kCounter, std::move(labels), {});
  if (!s.ok()) return s.status();
  return (*s)->counter.get();
}

Result<Gauge*> Registry::MakeGauge(std::string_view name, std::string_view help, Labels labels) {
  auto s = Find(name, help, MetricType::kGauge, std::move(labels), {});
  if (!s.ok()) return s.status();
  return (*s)->gauge.get();
}

Result<Histogram*> Registry::MakeHistogram(std::string_view name, std::string_view help, Labels labels,
                                           std::vector<double> bounds) {
  auto s = Find(name, help, MetricType::kHistogram, std::move(labels), std::move(bounds));
  if (!s.ok()) return s.status();
  return (*s)->histogram.get();
}

Status Registry::GaugeCallback(std::string_view name, std::string_view help, Labels labels,
                               std::function<double()> fn) {
  auto s = Find(name, help, MetricType::kGauge, std::move(labels), {});
  if (!s.ok()) return s.status();
  std::lock_guard lock(mu_);
  (*s)->callback = std::move(fn);
  return Status::Ok();
}

Counter* Registry::GetCounter(std::string_view name, std::string_view help, Labels labels) {
  static class Counter dummy;
  auto r = MakeCounter(name, help, std::move(labels));
  return r.ok() ? *r : &dummy;
}

Gauge* Registry::GetGauge(std::string_view name, std::string_view help, Labels labels) {
  static class Gauge dummy;
  auto r = MakeGauge(name, help, std::move(labels));
  return r.ok() ? *r : &dummy;
}

Histogram* Registry::GetHistogram(std::string_view name, std::string_view help, Labels labels,
                                  std::vector<double> bounds) {
  static class Histogram dummy(DefaultDurationBuckets());
  auto r = MakeHistogram(name, help, std::move(labels), std::move(bounds));
  return r.ok() ? *r : &dummy;
}

void Registry::ForEach(const std::function<void(const Family&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) fn(*family);
}

size_t Registry::SeriesCount() const {
  std::lock_guard lock(mu_);
  return series_count_;
}

}  // namespace gantry::monitor
