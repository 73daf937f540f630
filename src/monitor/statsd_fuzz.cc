// Fuzzes the readers of pushed metrics (StatsD lines and the JSON document) and applies
// what they accept to a registry with small limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "monitor/metrics.h"
#include "monitor/push.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gantry::monitor::RegistryLimits limits;
  limits.max_series = 64;
  gantry::monitor::Registry registry(limits);
  auto statsd = gantry::monitor::ParseStatsd(text);
  if (statsd.ok()) (void)gantry::monitor::ApplySamples(*statsd, &registry);
  auto json = gantry::monitor::ParsePushJson(text);
  if (json.ok()) (void)gantry::monitor::ApplySamples(*json, &registry);
  return 0;
}
