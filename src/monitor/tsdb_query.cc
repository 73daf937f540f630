// The registry sampler and the HTTP query API of the time-series store.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "monitor/tsdb.h"

namespace gantry::monitor {

Status RegistrySampler::Sample(int64_t now_ms) {
  struct Item {
    std::string name;
    Labels labels;
    Bin bin;
  };
  std::vector<Item> items;
  registry_->ForEach([&](const Family& f) {
    for (const Series& s : f.series) {
      std::string key = f.name + '\x1d' + LabelKey(s.labels);
      Bin b;
      b.t_ms = now_ms - 1;  // the interval that just ended, (last sample, now]
      switch (f.type) {
        case MetricType::kCounter: {
          double v = s.counter->Value();
          auto it = last_.find(key);
          double prev = it == last_.end() ? 0 : it->second;
          last_[key] = v;
          b.Add(v >= prev ? v - prev : v);  // a smaller value means the counter was reset
          break;
        }
        case MetricType::kGauge:
          b.Add(s.callback ? s.callback() : s.gauge->Value());
          break;
        case MetricType::kHistogram: {
          Histogram::Snapshot snap = s.histogram->Take();
          auto& prev = last_buckets_[key];
          double& prev_sum = last_[key];
          if (prev.size() != snap.cumulative.size() || snap.count < prev.back()) {
            prev.assign(snap.cumulative.size(), 0);
            prev_sum = 0;
          }
          uint64_t before = 0;
          bool any = false;
          for (size_t i = 0; i < snap.cumulative.size(); ++i) {
            uint64_t cum = snap.cumulative[i] - prev[i];
            uint64_t n = cum - before;
            before = cum;
            if (n == 0) continue;
            double lower = i == 0 ? std::min(0.0, snap.bounds.empty() ? 0 : snap.bounds[0]) : snap.bounds[i - 1];
            double upper = i < snap.bounds.size() ? snap.bounds[i] : lower;
            if (!any) b.min = lower;
            b.max = upper;
            any = true;
            b.sketch.Add((lower + upper) / 2, static_cast<double>(n));
          }
          b.count = static_cast<double>(before);
          b.sum = snap.sum - prev_sum;
          if (b.count > 0) b.max = std::max(b.max, b.sum / b.count);
          prev = snap.cumulative;
          prev_sum = snap.sum;
          break;
        }
      }
      if (b.count > 0) items.push_back({f.name, s.labels, std::move(b)});
    }
  });
  Status first;
  for (const auto& item : items) {
    Status st = store_->RecordBin(item.name, item.labels, item.bin);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

namespace {

// Splits the raw query into decoded key/value pairs (repeatable keys such as label=).
std::vector<std::pair<std::string, std::string>> QueryPairs(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& part : Split(query, '&')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto k = http::PercentDecode(part.substr(0, eq), true);
    auto v = http::PercentDecode(eq == std::string::npos ? "" : part.substr(eq + 1), true);
    if (k && v) out.emplace_back(*k, *v);
  }
  return out;
}

std::optional<int64_t> ParseMsOrDuration(const std::string& s, bool seconds_if_plain) {
  if (s.empty()) return std::nullopt;
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && s.size() < 18) return std::stoll(s) * (seconds_if_plain ? 1000 : 1);
  long long d = ParseDurationMs(s);
  if (d < 0) return std::nullopt;
  return d;
}

void SendJson(http::Response& res, int status, const nlohmann::json& j) {
  res.Send(status, "application/json", j.dump());
}

void SendError(http::Response& res, int status, const std::string& message) {
  SendJson(res, status, nlohmann::json{{"error", message}});
}

}  // namespace

http::Handler QueryHandler(const TimeSeriesStore* store) {
  return [store](http::Request& req, http::Response& res) {
    if (req.method != "GET") {
      res.Send(405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET"}});
      return;
    }
    if (req.query.size() > 8192) return SendError(res, 414, "query string longer than 8192 bytes");
    TsdbQuery q;
    int64_t now = store->clock().NowMs();
    q.end_ms = now;
    q.start_ms = now - 3600'000;
    std::optional<std::string> list;
    for (const auto& [k, v] : QueryPairs(req.query)) {
      if (k == "metric") {
        q.metric = v;
      } else if (k == "list") {
        list = v;
      } else if (k == "stat") {
        auto s = ParseStatistic(v);
        if (!s.ok()) return SendError(res, 400, "stat: " + s.error());
        q.stat = *s;
      } else if (k == "period") {
        auto p = ParseMsOrDuration(v, true);
        if (!p || *p <= 0) return SendError(res, 400, "period: expected seconds or a duration like 60s, 5m");
        q.period_ms = *p;
      } else if (k == "since") {
        auto d = ParseMsOrDuration(v, true);
        if (!d) return SendError(res, 400, "since: expected a duration like 10m, 1h");
        q.start_ms = now - *d;
      } else if (k == "start" || k == "end") {
        auto t = ParseMsOrDuration(v, false);
        if (!t) return SendError(res, 400, k + ": expected milliseconds since the epoch");
        (k == "start" ? q.start_ms : q.end_ms) = *t;
      } else if (k == "label" || k == "dimension") {
        auto c = v.find(':');
        if (c == std::string::npos) return SendError(res, 400, k + ": expected name:value");
        q.match.emplace_back(v.substr(0, c), v.substr(c + 1));
      } else if (StartsWith(k, "label.")) {
        q.match.emplace_back(k.substr(6), v);
      } else {
        return SendError(res, 400, "unknown parameter \"" + k.substr(0, 50) + "\"");
      }
      if (q.match.size() > 32) return SendError(res, 400, "more than 32 label filters");
    }
    if (list) {
      nlohmann::json series = nlohmann::json::array();
      for (const auto& s : store->ListSeries(*list)) {
        nlohmann::json labels = nlohmann::json::object();
        for (const auto& [k, v] : s.labels) labels[k] = v;
        series.push_back({{"metric", s.metric}, {"labels", labels}});
      }
      return SendJson(res, 200, nlohmann::json{{"series", series}});
    }
    if (q.metric.empty()) return SendError(res, 400, "metric: required");
    auto points = store->Query(q);
    if (!points.ok()) return SendError(res, 400, points.error());
    nlohmann::json dps = nlohmann::json::array();
    for (const auto& p : *points) dps.push_back({{"t", p.t_ms}, {"value", p.value}, {"samples", p.samples}});
    SendJson(res, 200,
             nlohmann::json{{"metric", q.metric},
                            {"stat", StatisticName(q.stat)},
                            {"period_ms", q.period_ms},
                            {"start", q.start_ms},
                            {"end", q.end_ms},
                            {"datapoints", dps}});
  };
}

}  // namespace gantry::monitor
