// Remembers which blob files this process hashed recently, by file identity, so a blob that
// was just verified (committed, or read whole) is not hashed again on every pull. Any change
// to the file through the filesystem (rewrite, truncate, replace) changes its inode, size or
// mtime and forces a new verification; entries also expire after `ttl_ms`.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace gantry::blob {

class VerifiedCache {
 public:
  static constexpr int64_t kTtlMs = 10 * 60 * 1000;
  static constexpr size_t kMaxEntries = 4096;

  // True when `st` is the file this process verified for `digest` less than the TTL ago.
  bool Fresh(const std::string& digest, const struct stat& st) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(digest);
    if (it == entries_.end()) return false;
    if (!Same(it->second, st) || NowMs() - it->second.at_ms > kTtlMs) {
      entries_.erase(it);
      return false;
    }
    return true;
  }
  void Verified(const std::string& digest, const struct stat& st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
    entries_[digest] = Entry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, NowMs()};
  }
  // The store itself changed the file's times (Touch): keep a still-valid entry valid.
  void Retimed(const std::string& digest, const struct stat& before, const struct stat& after) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(digest);
    if (it != entries_.end() && Same(it->second, before)) it->second.mtime = after.st_mtim;
  }
  void Forget(const std::string& digest) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(digest);
  }

 private:
  struct Entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    timespec mtime;
    int64_t at_ms;
  };
  static bool Same(const Entry& e, const struct stat& st) {
    return e.dev == st.st_dev && e.ino == st.st_ino && e.size == st.st_size && e.mtime.tv_sec == st.st_mtim.tv_sec &&
           e.mtime.tv_nsec == st.st_mtim.tv_nsec;
  }
  static int64_t NowMs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  }
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace gantry::blob
