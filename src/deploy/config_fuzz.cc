// libFuzzer target for the `.gantry/*.yml` reader: any input must give a config or errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "deploy/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gantry::deploy::ProjectConfig config;
  (void)gantry::deploy::ParseConfigText(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yml", &config);
  return 0;
}
