// libFuzzer target for the readers of what actions send the results services: Twirp JSON
// bodies, Azure block lists, RFC 3339 times, and uploaded zips (entry names, limits).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "blob/block_upload.h"
#include "blob/zip.h"
#include "server/results_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  (void)gantry::server::ParseTwirpRequest(s);
  (void)gantry::server::ParseRfc3339(s);
  (void)gantry::blob::ParseBlockList(s);
  (void)gantry::blob::CheckZipEntryName(s);
  size_t pos = 0;
  gantry::blob::ReadFn read = [&](char* buf, size_t n) -> long long {
    size_t k = std::min(n, s.size() - pos);
    std::memcpy(buf, s.data() + pos, k);
    pos += k;
    return static_cast<long long>(k);
  };
  gantry::blob::ZipLimits limits;
  limits.max_total_bytes = 1 << 20;
  limits.max_entries = 1000;
  (void)gantry::blob::CheckZip(read, limits);
  return 0;
}
