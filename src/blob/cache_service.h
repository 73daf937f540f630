// The HTTP cache service that `actions/cache` speaks (GitHub's v1 "artifactcache" protocol:
// look up by keys and version, reserve, upload chunks by Content-Range, commit, download),
// on the blob store and CacheIndex. Mount it at /_apis/artifactcache/ and give runners that
// server URL as ACTIONS_CACHE_URL.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/http.h"
#include "blob/blob_store.h"
#include "blob/cache_index.h"

namespace gantry::blob {

struct CacheServiceOptions {
  std::string data_dir;  // reservations (cache.json lives here too)
  uint64_t max_total_bytes = 10ull << 30;
  uint64_t max_entry_bytes = 10ull << 30;
  // The scopes a request may read, its own (where saves go) first, e.g. the run's branch
  // then the default branch; nullopt refuses the request (401). Default: {"default"}.
  std::function<std::optional<std::vector<std::string>>(const http::Request&)> scopes;
};

class CacheService {
 public:
  static Result<std::unique_ptr<CacheService>> Open(BlobStore& store, CacheServiceOptions options);
  CacheService(BlobStore& store, CacheServiceOptions options, std::unique_ptr<CacheIndex> index);
  // Serves paths ending in cache, caches, caches/<id>, blobs/<digest> under the mount.
  http::Handler Handler();
  void Serve(http::Request& request, http::Response& response);
  CacheIndex& index() { return *index_; }

 private:
  struct Reservation {
    std::string upload_id, scope, key, version;
  };
  void Lookup(http::Request& req, http::Response& res, const std::vector<std::string>& scopes);
  void Reserve(http::Request& req, http::Response& res, const std::string& scope);
  void UploadChunk(http::Request& req, http::Response& res, const std::string& id);
  void CommitEntry(http::Request& req, http::Response& res, const std::string& id);
  void Download(http::Request& req, http::Response& res, const std::string& digest);
  std::optional<Reservation> FindReservation(const std::string& id);

  BlobStore& store_;
  CacheServiceOptions options_;
  std::unique_ptr<CacheIndex> index_;
  std::mutex mu_;
  std::atomic<uint64_t> next_id_;
};

}  // namespace gantry::blob
