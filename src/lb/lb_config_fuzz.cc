// libFuzzer target for the load balancer's YAML configuration reader.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lb/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(reinterpret_cast<const char*>(data), size);
  auto c = gantry::lb::ParseConfig(yaml, "fuzz.yml");
  (void)c;
  return 0;
}
