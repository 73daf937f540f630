// libFuzzer target: the load balancer's metrics as JSON from its admin channel
// (lb::MetricsFromJson), which the server reads from the `gantry lb` process.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lb/control.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)gantry::lb::MetricsFromJson(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
