#include "blob/cache_index.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace gantry::blob {
namespace {

constexpr size_t kMaxKeyLength = 512;
constexpr size_t kMaxEntries = 100000;
constexpr uint64_t kMaxIndexBytes = 256ull << 20;

std::string Holder(const CacheEntry& e) { return "cache\n" + e.scope + "\n" + e.key + "\n" + e.version; }

bool SameId(const CacheEntry& e, const std::string& scope, const std::string& key, const std::string& version) {
  return e.scope == scope && e.key == key && e.version == version;
}

}  // namespace

CacheIndex::CacheIndex(BlobStore& store, std::string path, uint64_t max_bytes)
    : store_(store), path_(std::move(path)), max_bytes_(max_bytes) {}

Result<std::unique_ptr<CacheIndex>> CacheIndex::Open(BlobStore& store, std::string path, uint64_t max_bytes) {
  auto index = std::make_unique<CacheIndex>(store, std::move(path), max_bytes);
  if (Status s = index->Load(); !s.ok()) return s;
  return index;
}

Status CacheIndex::Load() {
  if (!PathExists(path_)) return Status::Ok();
  auto text = ReadFile(path_, kMaxIndexBytes);
  if (!text.ok()) return text.status();
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return Status::Error(path_ + ":1:1: the cache index is not a JSON array");
  for (size_t i = 0; i < doc.size() && i < kMaxEntries; ++i) {
    const auto& j = doc[i];
    if (!j.is_object()) return Status::Error(path_ + ": entry " + std::to_string(i) + " is not an object");
    CacheEntry e;
    e.scope = j.value("scope", "");
    e.key = j.value("key", "");
    e.version = j.value("version", "");
    e.digest = j.value("digest", "");
    e.size = j.value("size", uint64_t{0});
    e.created = j.value("created", int64_t{0});
    e.last_used = j.value("last_used", int64_t{0});
    if (!IsValidDigest(e.digest)) return Status::Error(path_ + ": entry " + std::to_string(i) + " has a bad digest");
    entries_.push_back(std::move(e));
  }
  return Status::Ok();
}

Status CacheIndex::Persist() {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& e : entries_) {
    doc.push_back({{"scope", e.scope},
                   {"key", e.key},
                   {"version", e.version},
                   {"digest", e.digest},
                   {"size", e.size},
                   {"created", e.created},
                   {"last_used", e.last_used}});
  }
  return WriteFileAtomic(path_, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status CacheIndex::RemoveAt(size_t i) {
  Status s = store_.RemoveRefs(Holder(entries_[i]));
  entries_.erase(entries_.begin() + static_cast<long>(i));
  return s;
}

Status CacheIndex::Save(CacheEntry entry, int64_t now) {
  if (entry.key.empty() || entry.key.size() > kMaxKeyLength || entry.key.find(',') != std::string::npos) {
    return Status::Error("cache key must be 1-512 characters without commas");
  }
  if (!IsValidDigest(entry.digest)) return Status::Error("invalid digest");
  auto size = store_.Stat(entry.digest);
  if (!size) return Status::Error("blob " + entry.digest + " is not in the store");
  entry.size = *size;
  if (entry.size > max_bytes_) {
    return Status::Error("cache entry of " + std::to_string(entry.size) + " bytes is larger than the limit of " +
                         std::to_string(max_bytes_));
  }
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (SameId(e, entry.scope, entry.key, entry.version)) {
      return Status::Error("cache entry \"" + entry.key + "\" already exists in " + entry.scope);
    }
  }
  if (entries_.size() >= kMaxEntries) return Status::Error("too many cache entries");
  entry.created = entry.last_used = now;
  if (Status s = store_.AddRef(Holder(entry), entry.digest); !s.ok()) return s;
  entries_.push_back(std::move(entry));
  // Least recently used first out, never the entry just saved.
  while (TotalLocked() > max_bytes_) {
    size_t victim = 0;
    for (size_t i = 1; i + 1 < entries_.size(); ++i) {
      if (entries_[i].last_used < entries_[victim].last_used) victim = i;
    }
    RemoveAt(victim);
  }
  return Persist();
}

std::optional<CacheEntry> CacheIndex::Restore(const std::vector<std::string>& scopes, const std::string& key,
                                              const std::vector<std::string>& restore_keys, const std::string& version,
                                              int64_t now) {
  std::lock_guard lock(mu_);
  auto newest_with_prefix = [&](const std::string& scope, const std::string& prefix) -> CacheEntry* {
    CacheEntry* best = nullptr;
    for (auto& e : entries_) {
      if (e.scope != scope || e.version != version || e.key.compare(0, prefix.size(), prefix) != 0) continue;
      if (best == nullptr || e.created > best->created) best = &e;
    }
    return best;
  };
  for (const auto& scope : scopes) {
    CacheEntry* hit = nullptr;
    for (auto& e : entries_) {
      if (SameId(e, scope, key, version)) hit = &e;
    }
    if (hit == nullptr) hit = newest_with_prefix(scope, key);
    for (size_t i = 0; hit == nullptr && i < restore_keys.size(); ++i) hit = newest_with_prefix(scope, restore_keys[i]);
    if (hit != nullptr) {
      hit->last_used = now;
      Persist();
      return *hit;
    }
  }
  return std::nullopt;
}

std::vector<CacheEntry> CacheIndex::List(const std::string& scope) const {
  std::lock_guard lock(mu_);
  std::vector<CacheEntry> out;
  for (const auto& e : entries_) {
    if (scope.empty() || e.scope == scope) out.push_back(e);
  }
  return out;
}

Status CacheIndex::Delete(const std::string& scope, const std::string& key, const std::string& version) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (SameId(entries_[i], scope, key, version)) {
      RemoveAt(i);
      return Persist();
    }
  }
  return Status::Error("cache entry \"" + key + "\" not found in " + scope);
}

Status CacheIndex::ExpireUnusedSince(int64_t cutoff) {
  std::lock_guard lock(mu_);
  for (size_t i = entries_.size(); i-- > 0;) {
    if (entries_[i].last_used < cutoff) RemoveAt(i);
  }
  return Persist();
}

uint64_t CacheIndex::total_bytes() const {
  std::lock_guard lock(mu_);
  return TotalLocked();
}

uint64_t CacheIndex::TotalLocked() const {
  uint64_t total = 0;
  for (const auto& e : entries_) total += e.size;
  return total;
}

}  // namespace gantry::blob
