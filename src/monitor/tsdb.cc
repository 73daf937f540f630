#include "monitor/tsdb.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>

#include "base/fs.h"
#include "base/strings.h"
#include "monitor/record_file.h"

namespace gantry::monitor {

namespace {
constexpr double kGamma = 1.05;
constexpr int kKeyOffset = 430;  // keeps keys of |v| >= 1e-9 positive
const double kLnGamma = std::log(kGamma);

int16_t KeyOf(double v) {
  double a = std::fabs(v);
  if (a < 1e-9) return 0;
  double idx = std::ceil(std::log(a) / kLnGamma) + kKeyOffset;
  int k = static_cast<int>(std::clamp(idx, 1.0, 32000.0));
  return static_cast<int16_t>(v > 0 ? k : -k);
}

double ValueOf(int16_t key) {
  if (key == 0) return 0;
  int k = key > 0 ? key : -key;
  double v = std::exp((k - kKeyOffset - 0.5) * kLnGamma);
  return key > 0 ? v : -v;
}

int64_t FloorTo(int64_t t, int64_t step) {
  int64_t r = t % step;
  return r < 0 ? t - r - step : t - r;
}
}  // namespace

Result<Statistic> ParseStatistic(std::string_view s) {
  std::string l = ToLower(s);
  if (l == "avg" || l == "average" || l == "mean") return Statistic::kAverage;
  if (l == "sum") return Statistic::kSum;
  if (l == "min" || l == "minimum") return Statistic::kMinimum;
  if (l == "max" || l == "maximum") return Statistic::kMaximum;
  if (l == "count" || l == "samplecount") return Statistic::kSampleCount;
  if (l == "p50" || l == "median") return Statistic::kP50;
  if (l == "p90") return Statistic::kP90;
  if (l == "p99") return Statistic::kP99;
  return Result<Statistic>::Error("unknown statistic \"" + std::string(s.substr(0, 40)) +
                                  "\", expected avg, sum, min, max, count, p50, p90 or p99");
}

const char* StatisticName(Statistic s) {
  switch (s) {
    case Statistic::kAverage:
      return "avg";
    case Statistic::kSum:
      return "sum";
    case Statistic::kMinimum:
      return "min";
    case Statistic::kMaximum:
      return "max";
    case Statistic::kSampleCount:
      return "count";
    case Statistic::kP50:
      return "p50";
    case Statistic::kP90:
      return "p90";
    case Statistic::kP99:
      return "p99";
  }
  return "?";
}

void Sketch::AddBucket(int16_t key, uint32_t count) {
  auto it =
      std::lower_bound(buckets_.begin(), buckets_.end(), key, [](const auto& b, int16_t k) { return b.first < k; });
  if (it != buckets_.end() && it->first == key) {
    it->second += count;
  } else {
    buckets_.insert(it, {key, count});
  }
}

void Sketch::Add(double v, double count) {
  if (count <= 0) return;
  AddBucket(KeyOf(v), static_cast<uint32_t>(std::min(count, 4e9)));
}

void Sketch::Merge(const Sketch& other) {
  for (const auto& [k, c] : other.buckets_) AddBucket(k, c);
}

double Sketch::Quantile(double q) const {
  double total = 0;
  for (const auto& b : buckets_) total += b.second;
  if (total == 0) return 0;
  double target = std::max(1.0, std::ceil(q * total));
  double seen = 0;
  for (const auto& [k, c] : buckets_) {
    seen += c;
    if (seen >= target) return ValueOf(k);
  }
  return ValueOf(buckets_.back().first);
}

void Bin::Add(double v) {
  if (count == 0) {
    min = max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  count += 1;
  sum += v;
  sketch.Add(v);
}

void Bin::Merge(const Bin& o) {
  if (o.count == 0) return;
  if (count == 0) {
    min = o.min;
    max = o.max;
  } else {
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
  count += o.count;
  sum += o.sum;
  sketch.Merge(o.sketch);
}

double Bin::Get(Statistic s) const {
  auto clamp = [this](double v) { return std::clamp(v, min, max); };
  switch (s) {
    case Statistic::kAverage:
      return count > 0 ? sum / count : 0;
    case Statistic::kSum:
      return sum;
    case Statistic::kMinimum:
      return min;
    case Statistic::kMaximum:
      return max;
    case Statistic::kSampleCount:
      return count;
    case Statistic::kP50:
      return clamp(sketch.Quantile(0.5));
    case Statistic::kP90:
      return clamp(sketch.Quantile(0.9));
    case Statistic::kP99:
      return clamp(sketch.Quantile(0.99));
  }
  return 0;
}

static void EncodeBin(uint32_t id, const Bin& b, std::string* out) {
  PutU32(out, id);
  PutI64(out, b.t_ms);
  PutF64(out, b.count);
  PutF64(out, b.sum);
  PutF64(out, b.min);
  PutF64(out, b.max);
  PutU16(out, static_cast<uint16_t>(std::min<size_t>(b.sketch.buckets().size(), 65535)));
  size_t n = 0;
  for (const auto& [k, c] : b.sketch.buckets()) {
    if (++n > 65535) break;
    PutU16(out, static_cast<uint16_t>(k));
    PutU32(out, c);
  }
}

static bool DecodeBin(PayloadReader& r, uint32_t* id, Bin* b) {
  *id = r.U32();
  b->t_ms = r.I64();
  b->count = r.F64();
  b->sum = r.F64();
  b->min = r.F64();
  b->max = r.F64();
  uint16_t n = r.U16();
  for (uint16_t i = 0; i < n && r.ok(); ++i) {
    int16_t k = static_cast<int16_t>(r.U16());
    uint32_t c = r.U32();
    b->sketch.AddBucket(k, c);
  }
  return r.ok();
}

struct TimeSeriesStore::SeriesData {
  uint32_t id = 0;
  std::string metric;
  Labels labels;
  std::vector<std::optional<Bin>> open;  // per tier
  std::vector<std::deque<Bin>> ring;     // per tier
};

TimeSeriesStore::TimeSeriesStore(TsdbOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &SystemClock::Get()) {}
TimeSeriesStore::~TimeSeriesStore() = default;

Result<std::unique_ptr<TimeSeriesStore>> TimeSeriesStore::Open(TsdbOptions options) {
  using R = Result<std::unique_ptr<TimeSeriesStore>>;
  if (options.tiers.empty()) return R::Error("time-series store: at least one tier is needed");
  for (size_t i = 0; i < options.tiers.size(); ++i) {
    const Tier& t = options.tiers[i];
    if (t.step_ms <= 0 || t.retention_ms < t.step_ms) return R::Error("time-series store: bad tier");
    if (i > 0 && t.step_ms % options.tiers[i - 1].step_ms != 0) {
      return R::Error("time-series store: each tier's step must be a multiple of the previous one");
    }
  }
  std::unique_ptr<TimeSeriesStore> store(new TimeSeriesStore(std::move(options)));
  Status st = store->Load();
  if (!st.ok()) return st;
  return store;
}

std::string TimeSeriesStore::SegmentPath(size_t tier, int64_t t_ms) const {
  int64_t block = options_.tiers[tier].step_ms * 360;
  return options_.dir + "/tier-" + std::to_string(options_.tiers[tier].step_ms) + "/" +
         std::to_string(FloorTo(t_ms, block)) + ".seg";
}

static std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (EndsWith(n, ".seg")) names.push_back(n);
    }
    ::closedir(d);
  }
  return names;
}

Status TimeSeriesStore::Load() {
  if (options_.dir.empty()) return Status::Ok();
  Status st = MakeDirs(options_.dir);
  if (!st.ok()) return st;
  for (const Tier& t : options_.tiers) {
    std::string tier_dir = options_.dir + "/tier-" + std::to_string(t.step_ms);
    st = MakeDirs(tier_dir);
    if (!st.ok()) return st;
    // Only the newest segment of a tier is ever appended to, so only it can be torn.
    auto names = ListDir(tier_dir);
    std::string newest;
    int64_t newest_t = INT64_MIN;
    for (const auto& n : names) {
      int64_t v = std::atoll(n.c_str());
      if (v > newest_t) newest_t = v, newest = n;
    }
    if (!newest.empty()) {
      auto cut = RepairRecordFile(tier_dir + "/" + newest);
      if (!cut.ok()) return cut.status();
    }
  }
  std::string series_path = options_.dir + "/series.log";
  auto cut = RepairRecordFile(series_path);
  if (!cut.ok()) return cut.status();
  auto scan = ReadRecords(series_path);
  if (!scan.ok()) return scan.status();
  for (const auto& p : scan->payloads) {
    PayloadReader r(p);
    auto s = std::make_unique<SeriesData>();
    s->id = r.U32();
    s->metric = r.String(256);
    uint16_t n = r.U16();
    for (uint16_t i = 0; i < n && r.ok(); ++i) {
      std::string k = r.String(256);
      std::string v = r.String(4096);
      s->labels.emplace_back(std::move(k), std::move(v));
    }
    if (!r.ok() || s->id != by_id_.size()) return Status::Error(series_path + ": corrupt series record");
    s->open.resize(options_.tiers.size());
    s->ring.resize(options_.tiers.size());
    by_id_.push_back(s.get());
    series_.emplace(s->metric + '\x1d' + LabelKey(s->labels), std::move(s));
  }
  return Status::Ok();
}

void TimeSeriesStore::CloseBin(SeriesData& s, size_t tier) {
  Bin bin = std::move(*s.open[tier]);
  s.open[tier].reset();
  auto& ring = s.ring[tier];
  ring.push_back(bin);
  if (ring.size() > options_.ring_bins) ring.pop_front();
  if (tier == 0) memory_since_ms_ = std::min(memory_since_ms_, bin.t_ms);
  if (!options_.dir.empty()) {
    auto& payloads = pending_[SegmentPath(tier, bin.t_ms)];
    if (payloads.empty() || payloads.back().size() > (kMaxRecordBytes - 70000)) payloads.emplace_back();
    EncodeBin(s.id, bin, &payloads.back());
  }
  if (tier + 1 < options_.tiers.size()) {
    int64_t step = options_.tiers[tier + 1].step_ms;
    int64_t start = FloorTo(bin.t_ms, step);
    auto& next = s.open[tier + 1];
    if (next && next->t_ms < start) CloseBin(s, tier + 1);
    if (!next) {
      next.emplace();
      next->t_ms = start;
    }
    next->Merge(bin);
  }
}

Status TimeSeriesStore::Record(std::string_view metric, const Labels& labels, double value, int64_t t_ms) {
  if (!std::isfinite(value)) return Status::Error("metric " + std::string(metric) + ": value is not finite");
  Bin bin;
  bin.t_ms = t_ms;
  bin.Add(value);
  return RecordBin(metric, labels, bin);
}

Status TimeSeriesStore::RecordBin(std::string_view metric, const Labels& labels, const Bin& bin) {
  if (bin.count <= 0) return Status::Ok();
  int64_t t_ms = bin.t_ms;
  // Callers usually pass sorted labels (the registry sorts them); copy only when not.
  Labels sorted_copy;
  const Labels* sorted_ptr = &labels;
  if (!std::is_sorted(labels.begin(), labels.end())) {
    sorted_copy = labels;
    std::sort(sorted_copy.begin(), sorted_copy.end());
    sorted_ptr = &sorted_copy;
  }
  const Labels& sorted = *sorted_ptr;
  std::string key;
  key.reserve(metric.size() + 64);
  key.append(metric);
  key += '\x1d';
  key += LabelKey(sorted);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_series) {
      return Status::Error("time-series store: too many series (limit " + std::to_string(options_.max_series) + ")");
    }
    auto s = std::make_unique<SeriesData>();
    s->id = static_cast<uint32_t>(by_id_.size());
    s->metric = std::string(metric);
    s->labels = sorted;
    s->open.resize(options_.tiers.size());
    s->ring.resize(options_.tiers.size());
    if (!options_.dir.empty()) {
      std::string p;
      PutU32(&p, s->id);
      PutString(&p, s->metric);
      PutU16(&p, static_cast<uint16_t>(s->labels.size()));
      for (const auto& [k, v] : s->labels) {
        PutString(&p, k);
        PutString(&p, v);
      }
      Status st = AppendRecords(options_.dir + "/series.log", {p}, options_.sync);
      if (!st.ok()) return st;
    }
    by_id_.push_back(s.get());
    it = series_.emplace(std::move(key), std::move(s)).first;
  }
  SeriesData& s = *it->second;
  int64_t start = FloorTo(t_ms, options_.tiers[0].step_ms);
  auto& open = s.open[0];
  if (open && start < open->t_ms) {
    ++dropped_;
    return Status::Ok();
  }
  if (open && start > open->t_ms) CloseBin(s, 0);
  if (!open) {
    open.emplace();
    open->t_ms = start;
  }
  open->Merge(bin);  // Merge ignores t_ms: the open bin keeps its own start
  return Status::Ok();
}

Status TimeSeriesStore::Flush(int64_t now_ms) {
  std::map<std::string, std::vector<std::string>> writes;
  {
    std::lock_guard lock(mu_);
    for (SeriesData* s : by_id_) {
      for (size_t tier = 0; tier < options_.tiers.size(); ++tier) {
        if (s->open[tier] && s->open[tier]->t_ms + options_.tiers[tier].step_ms <= now_ms) CloseBin(*s, tier);
      }
    }
    writes.swap(pending_);
  }
  for (const auto& [path, payloads] : writes) {
    Status st = AppendRecords(path, payloads, options_.sync);
    if (!st.ok()) return st;
  }
  if (options_.dir.empty()) return Status::Ok();
  for (const Tier& t : options_.tiers) {
    std::string tier_dir = options_.dir + "/tier-" + std::to_string(t.step_ms);
    int64_t block = t.step_ms * 360;
    for (const auto& n : ListDir(tier_dir)) {
      int64_t start = std::atoll(n.c_str());
      if (start + block <= now_ms - t.retention_ms) (void)RemoveAll(tier_dir + "/" + n);
    }
  }
  return Status::Ok();
}

static bool Matches(const Labels& have, const Labels& want) {
  for (const auto& w : want) {
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  }
  return true;
}

Result<std::vector<Datapoint>> TimeSeriesStore::Query(const TsdbQuery& q) const {
  using R = Result<std::vector<Datapoint>>;
  if (q.period_ms <= 0) return R::Error("query: period must be positive");
  if (q.end_ms <= q.start_ms) return R::Error("query: end must be after start");
  if ((q.end_ms - q.start_ms) / q.period_ms > 100000) return R::Error("query: more than 100000 periods");
  int64_t now = clock_->NowMs();
  // The finest tier that still holds the start of the range.
  size_t tier = options_.tiers.size() - 1;
  for (size_t i = 0; i < options_.tiers.size(); ++i) {
    if (now - options_.tiers[i].retention_ms <= q.start_ms) {
      tier = i;
      break;
    }
  }
  int64_t from = FloorTo(q.start_ms, q.period_ms);
  std::map<int64_t, Bin> periods;
  auto add = [&](const Bin& b) {
    if (b.t_ms < from || b.t_ms >= q.end_ms) return;
    Bin& p = periods[FloorTo(b.t_ms, q.period_ms)];
    p.Merge(b);
  };
  std::map<uint32_t, int64_t> disk_before;  // series id -> read disk bins older than this
  int64_t disk_until = INT64_MIN;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, s] : series_) {
      if (s->metric != q.metric || !Matches(s->labels, q.match)) continue;
      const auto& ring = s->ring[tier];
      int64_t floor = tier == 0 ? memory_since_ms_ : INT64_MAX;
      if (!ring.empty()) floor = std::min(floor, ring.front().t_ms);
      if (ring.size() >= options_.ring_bins && !ring.empty()) floor = ring.front().t_ms;
      for (const Bin& b : ring) {
        if (b.t_ms >= floor) add(b);
      }
      if (s->open[tier]) add(*s->open[tier]);
      if (!options_.dir.empty() && floor > from) {
        disk_before[s->id] = floor;
        disk_until = std::max(disk_until, std::min(floor, q.end_ms));
      }
    }
  }
  if (!disk_before.empty()) {
    int64_t block = options_.tiers[tier].step_ms * 360;
    std::string tier_dir = options_.dir + "/tier-" + std::to_string(options_.tiers[tier].step_ms);
    for (const auto& n : ListDir(tier_dir)) {
      int64_t start = std::atoll(n.c_str());
      if (start + block <= from || start >= disk_until) continue;
      auto scan = ReadRecords(tier_dir + "/" + n);
      if (!scan.ok()) return scan.status();
      for (const auto& p : scan->payloads) {
        PayloadReader r(p);
        while (r.ok() && !r.done()) {
          uint32_t id;
          Bin b;
          if (!DecodeBin(r, &id, &b)) break;
          auto it = disk_before.find(id);
          if (it != disk_before.end() && b.t_ms < it->second) add(b);
        }
      }
    }
  }
  std::vector<Datapoint> out;
  out.reserve(periods.size());
  for (const auto& [t, b] : periods) {
    if (b.count > 0) out.push_back({t, b.Get(q.stat), b.count});
  }
  return out;
}

std::vector<TimeSeriesStore::SeriesInfo> TimeSeriesStore::ListSeries(std::string_view prefix) const {
  std::lock_guard lock(mu_);
  std::vector<SeriesInfo> out;
  for (const SeriesData* s : by_id_) {
    if (StartsWith(s->metric, prefix)) out.push_back({s->metric, s->labels});
  }
  return out;
}

uint64_t TimeSeriesStore::dropped_samples() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace gantry::monitor
