// libFuzzer target for the `.gantry/*.yml` and appspec.yml readers: any input must give a
// value or errors, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "deploy/config.h"
#include "deploy/hooks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gantry::deploy::ProjectConfig config;
  (void)gantry::deploy::ParseConfigText(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yml", &config);
  (void)gantry::deploy::ParseAppSpec(std::string(reinterpret_cast<const char*>(data), size), "appspec.yml");
  return 0;
}
