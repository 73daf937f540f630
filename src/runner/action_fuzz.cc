// libFuzzer target: action.yml metadata from untrusted repositories.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runner/action.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto md = gantry::runner::ReadActionMetadata(in, "action.yml");
  (void)md;
  return 0;
}
