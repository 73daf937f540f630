// Custom metrics pushed by steps and applications: StatsD-style lines and a JSON document,
// both read with limits and reported as "<source>:line:col: what is wrong", then applied to
// the registry (so they show on /metrics and are sampled into the time-series store).
//
//   StatsD line:  name:value|type[|@rate][|#tag:value,tag2:value]
//     type c (counter, increments by value/rate), g (gauge; a leading + or - adjusts it),
//     ms / h / d (timing or distribution: observed into a histogram, milliseconds).
//     Dots and dashes in names become underscores (web.requests -> web_requests).
//   JSON: {"metrics":[{"name":"n","type":"counter|gauge|histogram","value":1,
//                      "labels":{"k":"v"},"help":"..."}]}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/http.h"
#include "base/status.h"
#include "monitor/metrics.h"

namespace gantry::monitor {

struct PushLimits {
  size_t max_bytes = 1 << 20;
  size_t max_samples = 10000;
  size_t max_line_length = 4096;
  size_t max_tags = 16;
};

enum class SampleKind { kCounter, kGauge, kGaugeDelta, kTiming };

struct PushedSample {
  std::string name;
  Labels labels;  // sorted by name
  double value = 0;
  SampleKind kind = SampleKind::kCounter;
  double rate = 1;  // StatsD sample rate, (0, 1]
  std::string help;
};

// Parses newline-separated StatsD lines; `source` names the input in error messages.
Result<std::vector<PushedSample>> ParseStatsd(std::string_view text, std::string_view source = "statsd",
                                              const PushLimits& limits = {});
// Parses the JSON push document.
Result<std::vector<PushedSample>> ParsePushJson(std::string_view text, std::string_view source = "push",
                                                const PushLimits& limits = {});
// Applies samples to the registry; stops at the first sample the registry refuses.
Status ApplySamples(const std::vector<PushedSample>& samples, Registry* registry);

// POST: body of StatsD lines (text/plain) or the JSON document (application/json).
// 204 when applied, 400 with the error otherwise, 413 above the size limit.
http::Handler PushHandler(Registry* registry, PushLimits limits = {});

// Histogram buckets for StatsD timings, in milliseconds.
std::vector<double> TimingBucketsMs();

}  // namespace gantry::monitor
