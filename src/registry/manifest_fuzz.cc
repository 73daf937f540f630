// libFuzzer target for the manifest reader: any bytes, with and without a Content-Type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto m = gantry::registry::ParseManifest(input, "");
  if (m.ok()) gantry::registry::ReferrerDescriptorJson(*m, "sha256:" + std::string(64, '0'), size);
  gantry::registry::ParseManifest(input, gantry::registry::kOciIndex);
  return 0;
}
