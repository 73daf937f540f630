// libFuzzer target for the image layer reader: any bytes must be applied or refused, never
// crash, and never write outside the root (each input gets a fresh root in a temp dir).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/fs.h"
#include "deploy/image_rootfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    auto d = gantry::MakeTempDir("gantry-layer-fuzz-");
    return d.ok() ? *d : std::string("/tmp/gantry-layer-fuzz");
  }();
  const std::string root = dir + "/rootfs";
  (void)gantry::RemoveAll(root);
  (void)gantry::MakeDirs(root);
  size_t pos = 0;
  std::function<long long(char*, size_t)> read = [&](char* b, size_t n) -> long long {
    n = std::min(n, size - pos);
    memcpy(b, data + pos, n);
    pos += n;
    return static_cast<long long>(n);
  };
  gantry::deploy::UnpackLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_entries = 1000;
  gantry::deploy::LayerCounters counters;
  (void)gantry::deploy::ApplyLayer(root, read, "fuzz", limits, &counters);
  return 0;
}
