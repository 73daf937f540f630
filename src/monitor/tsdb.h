// The built-in time-series store: what the dashboard and the alarms query.
//
// Samples (a value for a metric + labels at a time) are aggregated into bins per resolution
// tier. A bin keeps count, sum, min, max and a small log-scale sketch (about 2.5 % relative
// error) so percentiles survive downsampling. Tier 0 (default 10 s, kept one day) closes a bin
// into the next tier (default 1 min, kept two weeks), and so on. Closed bins are appended to
// checksummed segment files under <dir>/tier-<step>/<block>.seg and kept in a ring in memory
// for recent queries. A torn tail left by a crash is cut off when the store opens; an open
// (not yet closed) bin is in memory only, so a crash loses at most one tier-0 step.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/http.h"
#include "base/status.h"
#include "monitor/clock.h"
#include "monitor/metrics.h"

namespace gantry::monitor {

enum class Statistic { kAverage, kSum, kMinimum, kMaximum, kSampleCount, kP50, kP90, kP99 };
// Accepts avg|average|Average, sum, min|minimum, max|maximum, count|SampleCount, p50, p90, p99.
Result<Statistic> ParseStatistic(std::string_view s);
const char* StatisticName(Statistic s);

// Sparse log-scale histogram of values: key -> count, keys ordered like values.
class Sketch {
 public:
  void Add(double v, double count = 1);
  void Merge(const Sketch& other);
  // q in [0, 1]; 0 when empty.
  double Quantile(double q) const;
  const std::vector<std::pair<int16_t, uint32_t>>& buckets() const { return buckets_; }
  void AddBucket(int16_t key, uint32_t count);

 private:
  std::vector<std::pair<int16_t, uint32_t>> buckets_;  // sorted by key
};

struct Bin {
  int64_t t_ms = 0;  // start of the bin
  double count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  Sketch sketch;
  void Add(double v);
  void Merge(const Bin& other);
  double Get(Statistic s) const;
};

struct Tier {
  int64_t step_ms;
  int64_t retention_ms;
};

struct TsdbOptions {
  std::string dir;  // empty: memory only
  std::vector<Tier> tiers = {{10'000, 86'400'000}, {60'000, 14 * 86'400'000LL}};
  size_t ring_bins = 360;  // closed tier-0 bins kept in memory per series (1 h at 10 s)
  size_t max_series = 100000;
  bool sync = false;             // fdatasync each flush (off: the OS flushes; a crash loses recent bins)
  const Clock* clock = nullptr;  // default: system clock
};

struct TsdbQuery {
  std::string metric;
  Labels match;  // every listed label must be equal; others are free
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // exclusive
  int64_t period_ms = 60'000;
  Statistic stat = Statistic::kAverage;
};

struct Datapoint {
  int64_t t_ms;  // start of the period
  double value;
  double samples;  // how many samples the value summarises
};

class TimeSeriesStore {
 public:
  static Result<std::unique_ptr<TimeSeriesStore>> Open(TsdbOptions options);
  ~TimeSeriesStore();

  // Adds one sample; a sample older than the series' open tier-0 bin is dropped (counted).
  Status Record(std::string_view metric, const Labels& labels, double value, int64_t t_ms);
  // Adds a pre-aggregated set of samples (count, sum, min, max, sketch) at bin.t_ms.
  Status RecordBin(std::string_view metric, const Labels& labels, const Bin& bin);
  // Closes bins that ended before `now_ms`, appends them to segments and applies retention.
  Status Flush(int64_t now_ms);
  Status Flush() { return Flush(clock_->NowMs()); }

  // Datapoints aggregated over every series that matches, one per period that has samples
  // (periods without samples are missing, which is what alarms need to know).
  Result<std::vector<Datapoint>> Query(const TsdbQuery& q) const;
  struct SeriesInfo {
    std::string metric;
    Labels labels;
  };
  std::vector<SeriesInfo> ListSeries(std::string_view metric_prefix = "") const;
  uint64_t dropped_samples() const;
  const Clock& clock() const { return *clock_; }

 private:
  struct SeriesData;
  explicit TimeSeriesStore(TsdbOptions options);
  Status Load();
  void CloseBin(SeriesData& s, size_t tier);
  std::string SegmentPath(size_t tier, int64_t t_ms) const;

  TsdbOptions options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<SeriesData>> series_;  // name + label key
  std::vector<SeriesData*> by_id_;
  int64_t memory_since_ms_ = INT64_MAX;  // earliest closed tier-0 bin made by this process
  uint64_t dropped_ = 0;
  std::map<std::string, std::vector<std::string>> pending_;  // segment path -> payloads
};

// Copies the registry into the store every step: counters as their increase since the last
// sample, gauges as their value, histograms as the observations added (at bucket bounds).
class RegistrySampler {
 public:
  RegistrySampler(const Registry* registry, TimeSeriesStore* store) : registry_(registry), store_(store) {}
  Status Sample(int64_t now_ms);

 private:
  const Registry* registry_;
  TimeSeriesStore* store_;
  std::map<std::string, double> last_;  // series key -> last counter value / histogram count
  std::map<std::string, std::vector<uint64_t>> last_buckets_;
};

// GET ?metric=NAME&stat=p99&period=60s&since=1h | start=MS&end=MS &label=k:v (repeatable as
// label.k=v) -> {"metric":..,"stat":..,"period_ms":..,"datapoints":[{"t":ms,"value":v,"samples":n}]}
// GET ?list=PREFIX -> {"series":[{"metric":..,"labels":{..}}]}
http::Handler QueryHandler(const TimeSeriesStore* store);

}  // namespace gantry::monitor
