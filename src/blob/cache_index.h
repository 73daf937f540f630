// The index behind `actions/cache`: entries (scope, key, version) → a blob, with GitHub's
// lookup rules and a total-size limit enforced by least-recently-used eviction. Entries are
// immutable once saved, hold a reference on their blob (so the collector keeps it), and
// the index is persisted atomically as one JSON file.
//
// Lookup, as GitHub documents it: for each scope in order (the run's branch, then the
// default branch), an exact match of `key`, then the newest entry whose key starts with
// `key`, then for each restore key in order the newest entry whose key starts with it;
// only entries of the same `version` (paths + compression) count.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "blob/blob_store.h"

namespace gantry::blob {

struct CacheEntry {
  std::string scope;    // e.g. "refs/heads/main"
  std::string key;      // at most 512 characters, no commas (GitHub's rule)
  std::string version;  // opaque, from the client
  std::string digest;   // the archive in the blob store
  uint64_t size = 0;
  int64_t created = 0;    // unix seconds
  int64_t last_used = 0;  // unix seconds; eviction order
};

class CacheIndex {
 public:
  // `path` is the index file (created when missing); `max_bytes` the total size limit.
  static Result<std::unique_ptr<CacheIndex>> Open(BlobStore& store, std::string path, uint64_t max_bytes);

  // Adds an entry whose blob is already committed. An entry with the same scope, key and
  // version is a conflict (caches are immutable). Evicts least recently used entries until
  // the total fits; an entry larger than the limit is refused.
  Status Save(CacheEntry entry, int64_t now);
  // The entry to restore, or nullopt on a miss; marks it used at `now`.
  std::optional<CacheEntry> Restore(const std::vector<std::string>& scopes, const std::string& key,
                                    const std::vector<std::string>& restore_keys, const std::string& version,
                                    int64_t now);
  std::vector<CacheEntry> List(const std::string& scope) const;
  Status Delete(const std::string& scope, const std::string& key, const std::string& version);
  // Removes entries unused since `cutoff` (GitHub: 7 days).
  Status ExpireUnusedSince(int64_t cutoff);
  uint64_t total_bytes() const;

  // Use Open(); public for std::make_unique.
  CacheIndex(BlobStore& store, std::string path, uint64_t max_bytes);

 private:
  uint64_t TotalLocked() const;
  Status Load();
  Status Persist();  // caller holds mu_
  Status RemoveAt(size_t i);

  BlobStore& store_;
  std::string path_;
  uint64_t max_bytes_;
  mutable std::mutex mu_;
  std::vector<CacheEntry> entries_;
};

}  // namespace gantry::blob
