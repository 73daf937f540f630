// The metrics registry: counters, gauges and histograms with labels, exposed at /metrics and
// sampled into the time-series store. Updating a metric is lock-free (sharded relaxed
// atomics) so the load balancer and the runner can count on their hot paths; only creating
// a new series takes the registry's lock, so callers keep the returned pointer.
//
//   monitor::Registry& r = ...;
//   monitor::Counter* c = r.GetCounter("gantry_lb_responses_total", "Responses sent.",
//                                      {{"target_group", "web"}, {"code", "5xx"}});
//   c->Inc();                        // hot path: no lock, no allocation
//
// Series live as long as the registry; pointers to them stay valid.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gantry::monitor {

// Label name/value pairs ("dimensions"). Registry entry points sort them by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };
const char* MetricTypeName(MetricType type);

// Limits that keep a misbehaving pusher from eating the server's memory.
struct RegistryLimits {
  size_t max_series = 100000;    // all series of all families
  size_t max_labels = 16;        // per series
  size_t max_name_length = 200;  // metric and label names
  size_t max_label_value_length = 1024;
};

namespace internal {
// Spreads hot counters over cache lines so threads do not fight over one line.
inline constexpr int kShards = 8;
struct alignas(64) Cell {
  std::atomic<double> value{0};
};
int ShardIndex();
}  // namespace internal

class Counter {
 public:
  // Negative increments are ignored: counters only go up.
  void Inc(double v = 1) {
    if (!(v > 0)) return;
    cells_[internal::ShardIndex()].value.fetch_add(v, std::memory_order_relaxed);
  }
  double Value() const;

 private:
  internal::Cell cells_[internal::kShards];
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Adds `count` observations to bucket `bucket` (0..bounds().size(), the last is +Inf) and
  // `sum` to the sum: for feeding histograms kept elsewhere (the load balancer's latencies).
  void AddToBucket(size_t bucket, uint64_t count, double sum);

  struct Snapshot {
    std::vector<double> bounds;        // upper bounds without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries, the last is the count
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Default buckets for durations in seconds (5 ms .. 60 s).
std::vector<double> DefaultDurationBuckets();

// One labelled series of a family.
struct Series {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  // Gauges computed when read (e.g. memory from /proc); called under the registry lock.
  std::function<double()> callback;
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<double> bounds;             // histograms
  std::map<std::string, Series*> by_key;  // canonical label key -> series
  std::deque<Series> series;              // stable addresses
};

class Registry {
 public:
  explicit Registry(RegistryLimits limits = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Finds or creates a series. Returns an error when the name or labels are invalid, when
  // the name is already registered with another type, or when the series limit is reached.
  Result<Counter*> MakeCounter(std::string_view name, std::string_view help, Labels labels = {});
  Result<Gauge*> MakeGauge(std::string_view name, std::string_view help, Labels labels = {});
  Result<Histogram*> MakeHistogram(std::string_view name, std::string_view help, Labels labels = {},
                                   std::vector<double> bounds = DefaultDurationBuckets());
  // A gauge whose value is computed at read time (e.g. memory from /proc).
  Status GaugeCallback(std::string_view name, std::string_view help, Labels labels, std::function<double()> fn);

  // Convenience for code that cannot handle errors on a hot path: a valid static name is
  // the caller's responsibility; on error these return a shared dummy that is never exported.
  Counter* GetCounter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge* GetGauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram* GetHistogram(std::string_view name, std::string_view help, Labels labels = {},
                          std::vector<double> bounds = DefaultDurationBuckets());

  // Visits every family in name order under the registry lock (creation blocks meanwhile;
  // updates do not).
  void ForEach(const std::function<void(const Family&)>& fn) const;
  size_t SeriesCount() const;

 private:
  Result<Series*> Find(std::string_view name, std::string_view help, MetricType type, Labels labels,
                       std::vector<double> bounds);

  RegistryLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  size_t series_count_ = 0;
};

// Validation shared by the registry and the push readers.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
// "a=\"1\",b=\"2\"" style canonical key of sorted labels (used for maps, not for output).
std::string LabelKey(const Labels& labels);

}  // namespace gantry::monitor
