// The request messages of the Twirp ArtifactService and CacheService as JSON (proto field
// names or their lowerCamelCase JSON names), read with limits: 64 KiB bodies (json_body.h),
// strings of at most 4 KiB, at most 10 restore keys. Exposed for tests and results_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::server {

struct TwirpRequest {
  std::string run_backend_id, job_backend_id;
  std::string name;  // artifacts
  std::string key, version;
  std::vector<std::string> restore_keys;
  std::optional<std::string> hash, name_filter;
  std::optional<int64_t> id_filter;
  std::optional<uint64_t> size;  // size / size_bytes
  std::optional<int64_t> expires_at_s;
};

// Errors read "body:line:col: ..." for malformed JSON, "body: field: ..." for wrong types.
Result<TwirpRequest> ParseTwirpRequest(std::string_view body);
// RFC 3339 ("2026-01-02T03:04:05.678Z", or with a +hh:mm offset) to unix seconds.
std::optional<int64_t> ParseRfc3339(std::string_view s);
// GitHub's cache key rule: 1..512 characters, no commas.
Status CheckCacheKey(std::string_view key);

}  // namespace gantry::server
