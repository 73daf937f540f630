// The filesystem blob store. Uploads are appended to uploads/<id>/data; Commit fsyncs the
// file and renames it into blobs/, so a reader sees a whole verified blob or nothing. The
// running sha256 of each upload is cached in memory between requests; after a restart it
// is recomputed from the bytes on disk, so a half-done upload survives.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>

#include "base/fs.h"
#include "base/sha256.h"
#include "blob/blob_store.h"
#include "blob/verified_cache.h"

namespace gantry::blob {
namespace {

constexpr size_t kBufferSize = 1 << 20;
constexpr uint64_t kWritebackBytes = 8 << 20;

std::string Errno(const std::string& what, const std::string& path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsValidUploadId(std::string_view id) { return id.size() == 32 && IsHex(id); }

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string raw;
  for (size_t i = 0; i < bytes; ++i) raw += static_cast<char>(rd() & 0xff);
  return ToHex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(std::move(name));
  }
  ::closedir(d);
  return out;
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(Errno("cannot open", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::Error(Errno("cannot fsync", dir));
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Error(Errno("cannot write", path));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Reads a committed blob with pread; a whole-blob reader verifies the digest at the end.
class FsReader : public BlobReader {
 public:
  FsReader(int fd, uint64_t offset, uint64_t length, std::string expected_hex, std::function<void()> on_verified = {})
      : fd_(fd),
        pos_(offset),
        remaining_(length),
        size_(length),
        expected_hex_(std::move(expected_hex)),
        on_verified_(std::move(on_verified)) {
    if (!expected_hex_.empty()) hasher_ = std::make_unique<Sha256>();
  }
  ~FsReader() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  std::optional<bool> SendTo(const SendFn& send) override;
  long long Read(char* buf, size_t n) override {
    if (remaining_ == 0) {
      if (hasher_ != nullptr) {
        bool ok = hasher_->HexDigest() == expected_hex_;
        hasher_.reset();
        if (!ok) return -1;
        if (on_verified_) on_verified_();
      }
      return 0;
    }
    if (n > remaining_) n = static_cast<size_t>(remaining_);
    ssize_t r;
    do {
      r = ::pread(fd_, buf, n, static_cast<off_t>(pos_));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) return -1;  // a blob shorter than its size is corrupt
    pos_ += static_cast<uint64_t>(r);
    remaining_ -= static_cast<uint64_t>(r);
    if (hasher_ != nullptr) hasher_->Update(std::string_view(buf, static_cast<size_t>(r)));
    return r;
  }

 private:
  int fd_;
  uint64_t pos_, remaining_, size_;
  std::string expected_hex_;
  std::function<void()> on_verified_;
  std::unique_ptr<Sha256> hasher_;
};

// Hashes `n` bytes at `pos` through small memory-mapped windows (no copy, RSS bounded by one
// window); false when a window cannot be mapped or `stop` was raised.
bool HashRange(int fd, uint64_t pos, uint64_t n, Sha256& hasher, const std::atomic<bool>& stop) {
  constexpr uint64_t kWindow = 2 << 20;
  static const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  while (n > 0 && !stop.load(std::memory_order_relaxed)) {
    uint64_t len = std::min(n, kWindow);
    uint64_t start = pos / kPage * kPage;
    size_t map_len = static_cast<size_t>(pos - start + len);
    void* p = ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
    if (p == MAP_FAILED) return false;
    hasher.Update(std::string_view(static_cast<const char*>(p) + (pos - start), static_cast<size_t>(len)));
    ::munmap(p, map_len);
    pos += len, n -= len;
  }
  return n == 0;
}

// Sends with `send` (sendfile) while a second thread hashes the same bytes from the page
// cache, so a pull costs max(hash, send) instead of their sum; the last window goes out only
// after the whole digest held, so a corrupt blob never reaches a client complete.
std::optional<bool> FsReader::SendTo(const SendFn& send) {
  constexpr uint64_t kWindow = 2 << 20;
  if (hasher_ == nullptr) {
    for (; remaining_ > 0;) {
      uint64_t n = std::min(remaining_, kWindow);
      if (!send(fd_, pos_, n)) return false;
      pos_ += n, remaining_ -= n;
    }
    return true;
  }
  const uint64_t last = remaining_ <= kWindow ? remaining_ : (remaining_ - 1) % kWindow + 1;
  std::atomic<bool> stop{false};
  bool hashed = false;
  std::thread hashing;
  if (remaining_ > kWindow) {
    hashing =
        std::thread([&, fd = fd_, pos = pos_, n = remaining_] { hashed = HashRange(fd, pos, n, *hasher_, stop); });
  } else {
    hashed = HashRange(fd_, pos_, remaining_, *hasher_, stop);
  }
  bool sent = true;
  while (sent && remaining_ > last) {
    uint64_t n = std::min(remaining_ - last, kWindow);
    sent = send(fd_, pos_, n);
    pos_ += n, remaining_ -= n;
  }
  if (!sent) stop.store(true);
  if (hashing.joinable()) hashing.join();
  if (!sent) return false;
  bool ok = hashed && hasher_->HexDigest() == expected_hex_;
  hasher_.reset();
  if (!ok) return false;
  if (on_verified_) on_verified_();
  if (remaining_ > 0 && !send(fd_, pos_, remaining_)) return false;
  pos_ += remaining_;
  remaining_ = 0;
  return true;
}

// In-memory state of an upload between requests.
struct Session {
  std::mutex mu;
  std::unique_ptr<Sha256> hasher;  // covers the first `hashed` bytes of the data file
  uint64_t hashed = 0;
};

class FsBlobStore : public BlobStore {
 public:
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}

  std::optional<uint64_t> Stat(std::string_view digest) override {
    if (!IsValidDigest(digest)) return std::nullopt;
    struct stat st {};
    if (::stat(BlobPath(digest).c_str(), &st) != 0) return std::nullopt;
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::unique_ptr<BlobReader>> Open(std::string_view digest, uint64_t offset,
                                           std::optional<uint64_t> length) override {
    if (!IsValidDigest(digest)) return Status::Error("invalid digest: " + std::string(digest));
    std::string path = BlobPath(digest);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error("blob unknown: " + std::string(digest));
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size || (length && *length > size - offset)) {
      ::close(fd);
      return Status::Error("range outside the blob of " + std::to_string(size) + " bytes");
    }
    uint64_t len = length ? *length : size - offset;
    ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(len), POSIX_FADV_SEQUENTIAL);
    // A whole read is verified unless this process verified this very file recently.
    std::string key(digest);
    if (offset != 0 || len != size || verified_.Fresh(key, st))
      return std::unique_ptr<BlobReader>(std::make_unique<FsReader>(fd, offset, len, std::string()));
    return std::unique_ptr<BlobReader>(std::make_unique<FsReader>(fd, offset, len, std::string(DigestHex(digest)),
                                                                  [this, key, st] { verified_.Verified(key, st); }));
  }

  Result<std::string> ReadSmall(std::string_view digest, uint64_t limit) override {
    auto size = Stat(digest);
    if (!size) return Status::Error("blob unknown: " + std::string(digest));
    if (*size > limit) return Status::Error("blob " + std::string(digest) + " is larger than " + std::to_string(limit));
    auto data = ReadFile(BlobPath(digest), limit);
    if (!data.ok()) return data.status();
    if (DigestOf(*data) != digest) return Status::Error("blob " + std::string(digest) + " is corrupt on disk");
    return data;
  }

  Result<BlobInfo> Put(std::string_view data) override {
    auto id = BeginUpload();
    if (!id.ok()) return id.status();
    size_t pos = 0;
    ReadFn read = [&](char* buf, size_t n) -> long long {
      size_t k = std::min(n, data.size() - pos);
      std::memcpy(buf, data.data() + pos, k);
      pos += k;
      return static_cast<long long>(k);
    };
    auto appended = Append(*id, read, data.size());
    if (!appended.ok()) {
      CancelUpload(*id);
      return appended.status();
    }
    return Commit(*id, DigestOf(data));
  }

  void Touch(std::string_view digest) override {
    if (!IsValidDigest(digest)) return;
    std::string path = BlobPath(digest);
    struct stat before {
    }, after{};
    if (::stat(path.c_str(), &before) != 0) return;
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
    if (::stat(path.c_str(), &after) == 0) verified_.Retimed(std::string(digest), before, after);
  }

  Status Delete(std::string_view digest) override {
    if (!IsValidDigest(digest)) return Status::Error("invalid digest");
    std::unique_lock lock(gc_mu_);
    verified_.Forget(std::string(digest));
    if (::unlink(BlobPath(digest).c_str()) != 0 && errno != ENOENT)
      return Status::Error(Errno("cannot delete", BlobPath(digest)));
    return Status::Ok();
  }

  Result<std::string> BeginUpload() override {
    std::string id = RandomHex(16);
    std::string dir = root_ + "/uploads/" + id;
    if (Status st = MakeDirs(dir); !st.ok()) return st;
    int fd = ::open((dir + "/data").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Error(Errno("cannot create", dir + "/data"));
    ::close(fd);
    return id;
  }

  Result<uint64_t> UploadSize(std::string_view id) override {
    if (!IsValidUploadId(id)) return Status::Error("upload unknown");
    struct stat st {};
    if (::stat(DataPath(id).c_str(), &st) != 0) return Status::Error("upload unknown");
    return static_cast<uint64_t>(st.st_size);
  }

  Result<uint64_t> Append(std::string_view id, const ReadFn& read, uint64_t max_total) override {
    auto session = GetSession(id);
    if (!session) return Status::Error("upload unknown");
    std::lock_guard lock(session->mu);
    std::string path = DataPath(id);
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return Status::Error("upload unknown");
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t start = static_cast<uint64_t>(st.st_size);
    if (Status s = CatchUp(*session, path, start); !s.ok()) {
      ::close(fd);
      return s;
    }
    std::vector<char> buf(kBufferSize);
    uint64_t total = start, unsynced = 0;
    Status status;
    for (bool end = false; !end && status.ok();) {
      // Sockets hand out a few KB per read: gather a large block so the writes and hash
      // updates stay few.
      size_t filled = 0;
      while (filled < buf.size() / 2) {
        long long n = read(buf.data() + filled, buf.size() - filled);
        if (n == 0) {
          end = true;
          break;
        }
        if (n < 0) {
          status = Status::Error("the upload's body ended early or failed");
          break;
        }
        filled += static_cast<size_t>(n);
      }
      if (!status.ok()) break;
      if (total + filled > max_total) {
        status = Status::Error("upload larger than the limit of " + std::to_string(max_total) + " bytes");
        break;
      }
      if (filled == 0) continue;
      status = WriteAll(fd, buf.data(), filled, path);
      if (!status.ok()) break;
      session->hasher->Update(std::string_view(buf.data(), filled));
      total += filled;
      session->hashed = total;
      unsynced += filled;
      if (unsynced >= kWritebackBytes) {
        // Start writing back now so the fsync at commit has little left to do.
        ::sync_file_range(fd, static_cast<off_t>(total - unsynced), static_cast<off_t>(unsynced),
                          SYNC_FILE_RANGE_WRITE);
        unsynced = 0;
      }
    }
    if (!status.ok()) {
      // All or nothing: drop this request's bytes; the hash is recomputed on the next use.
      if (::ftruncate(fd, static_cast<off_t>(start)) != 0) status = Status::Error(Errno("cannot truncate", path));
      session->hasher.reset();
      session->hashed = 0;
      ::close(fd);
      return status;
    }
    ::close(fd);
    return total - start;
  }

  Result<uint64_t> WriteAt(std::string_view id, uint64_t offset, const ReadFn& read, uint64_t max_total) override {
    auto session = GetSession(id);
    if (!session) return Status::Error("upload unknown");
    std::lock_guard lock(session->mu);
    std::string path = DataPath(id);
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error("upload unknown");
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t old_size = static_cast<uint64_t>(st.st_size);
    session->hasher.reset();  // bytes may land anywhere: rehash at commit
    session->hashed = 0;
    std::vector<char> buf(kBufferSize);
    uint64_t pos = offset;
    Status status;
    for (;;) {
      long long n = read(buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) {
        status = Status::Error("the upload's body ended early or failed");
        break;
      }
      if (pos + static_cast<uint64_t>(n) > max_total) {
        status = Status::Error("upload larger than the limit of " + std::to_string(max_total) + " bytes");
        break;
      }
      const char* p = buf.data();
      size_t left = static_cast<size_t>(n);
      while (left > 0 && status.ok()) {
        ssize_t w = ::pwrite(fd, p, left, static_cast<off_t>(pos));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          status = Status::Error(Errno("cannot write", path));
          break;
        }
        p += w, left -= static_cast<size_t>(w), pos += static_cast<uint64_t>(w);
      }
      if (!status.ok()) break;
    }
    if (!status.ok() && pos > old_size && ::ftruncate(fd, static_cast<off_t>(old_size)) != 0) {
      status = Status::Error(Errno("cannot truncate", path));
    }
    ::close(fd);
    if (!status.ok()) return status;
    return pos - offset;
  }

  Result<BlobInfo> Commit(std::string_view id, std::string_view expected_digest) override {
    auto session = GetSession(id);
    if (!session) return Status::Error("upload unknown");
    std::unique_lock lock(session->mu);
    std::string path = DataPath(id);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error("upload unknown");
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (Status s = CatchUp(*session, path, size); !s.ok()) {
      ::close(fd);
      return s;
    }
    std::string digest = "sha256:" + session->hasher->HexDigest();
    session->hasher.reset();
    session->hashed = 0;
    if (!expected_digest.empty() && digest != expected_digest) {
      ::close(fd);
      lock.unlock();
      CancelUpload(id);
      return Status::Error("digest mismatch: the uploaded bytes have digest " + digest + ", not " +
                           std::string(expected_digest));
    }
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Status::Error(Errno("cannot fsync", path));
    {
      std::shared_lock gc_lock(gc_mu_);
      std::string target = BlobPath(digest);
      struct stat existing {};
      if (::stat(target.c_str(), &existing) == 0) {
        Touch(digest);
      } else {
        std::string dir = target.substr(0, target.rfind('/'));
        if (Status s = MakeDirs(dir); !s.ok()) return s;
        if (::rename(path.c_str(), target.c_str()) != 0) return Status::Error(Errno("cannot rename onto", target));
        if (Status s = FsyncDir(dir); !s.ok()) return s;
        struct stat committed {};
        if (::stat(target.c_str(), &committed) == 0) verified_.Verified(digest, committed);  // hashed on the way in
      }
    }
    lock.unlock();
    CancelUpload(id);
    return BlobInfo{digest, size};
  }

  Status CancelUpload(std::string_view id) override {
    if (!IsValidUploadId(id)) return Status::Error("upload unknown");
    {
      std::lock_guard lock(sessions_mu_);
      sessions_.erase(std::string(id));
    }
    return RemoveAll(root_ + "/uploads/" + std::string(id));
  }

  Status AddRef(std::string_view holder, std::string_view digest) override {
    if (!IsValidDigest(digest)) return Status::Error("invalid digest");
    std::string dir = HolderDir(holder);
    if (Status s = MakeDirs(dir); !s.ok()) return s;
    return WriteFileAtomic(dir + "/" + std::string(DigestHex(digest)), "");
  }

  Status RemoveRefs(std::string_view holder) override { return RemoveAll(HolderDir(holder)); }

  Result<GcStats> CollectGarbage(const GcOptions& options) override;

 private:
  std::string BlobPath(std::string_view digest) const {
    std::string_view hex = DigestHex(digest);
    return root_ + "/blobs/sha256/" + std::string(hex.substr(0, 2)) + "/" + std::string(hex);
  }
  std::string DataPath(std::string_view id) const { return root_ + "/uploads/" + std::string(id) + "/data"; }
  std::string HolderDir(std::string_view holder) const { return root_ + "/refs/" + Sha256Hex(holder); }

  std::shared_ptr<Session> GetSession(std::string_view id) {
    if (!IsValidUploadId(id) || !PathExists(DataPath(id))) return nullptr;
    std::lock_guard lock(sessions_mu_);
    auto& s = sessions_[std::string(id)];
    if (s == nullptr) s = std::make_shared<Session>();
    return s;
  }

  // Brings the session's running hash up to `size` bytes of the data file (after a restart
  // or a rolled-back append), reading the file from the start.
  static Status CatchUp(Session& s, const std::string& path, uint64_t size) {
    if (s.hasher != nullptr && s.hashed == size) return Status::Ok();
    s.hasher = std::make_unique<Sha256>();
    s.hashed = 0;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error(Errno("cannot open", path));
    std::vector<char> buf(kBufferSize);
    while (s.hashed < size) {
      ssize_t n = ::read(fd, buf.data(), std::min<uint64_t>(buf.size(), size - s.hashed));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        s.hasher.reset();
        return Status::Error(Errno("cannot read", path));
      }
      s.hasher->Update(std::string_view(buf.data(), static_cast<size_t>(n)));
      s.hashed += static_cast<uint64_t>(n);
    }
    ::close(fd);
    return Status::Ok();
  }

  std::string root_;
  std::shared_mutex gc_mu_;
  VerifiedCache verified_;  // commits share it; the collector's sweep takes it alone
  std::mutex sessions_mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

Result<GcStats> FsBlobStore::CollectGarbage(const GcOptions& options) {
  GcStats stats;
  std::set<std::string> held;
  for (const auto& holder : ListDir(root_ + "/refs")) {
    for (const auto& hex : ListDir(root_ + "/refs/" + holder)) held.insert("sha256:" + hex);
  }
  auto now = std::chrono::system_clock::now();
  auto age_of = [&](const struct stat& st) {
    auto mtime = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    return std::chrono::duration_cast<std::chrono::seconds>(now - mtime);
  };
  {
    std::unique_lock lock(gc_mu_);
    std::string base = root_ + "/blobs/sha256";
    for (const auto& prefix : ListDir(base)) {
      for (const auto& hex : ListDir(base + "/" + prefix)) {
        std::string digest = "sha256:" + hex;
        std::string path = base + "/" + prefix + "/" + hex;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;
        if (!IsValidDigest(digest) || options.roots.count(digest) || held.count(digest) ||
            age_of(st) < options.min_age) {
          ++stats.blobs_kept;
          continue;
        }
        ++stats.blobs_deleted;
        stats.bytes_freed += static_cast<uint64_t>(st.st_size);
        if (!options.dry_run) ::unlink(path.c_str());
      }
    }
  }
  for (const auto& id : ListDir(root_ + "/uploads")) {
    struct stat st {};
    if (!IsValidUploadId(id) || ::stat(DataPath(id).c_str(), &st) != 0) continue;
    if (age_of(st) < options.upload_ttl) continue;
    ++stats.uploads_expired;
    if (!options.dry_run) CancelUpload(id);
  }
  return stats;
}

}  // namespace

bool IsValidDigest(std::string_view digest) {
  return digest.size() == 71 && digest.substr(0, 7) == "sha256:" && IsHex(digest.substr(7));
}

std::string_view DigestHex(std::string_view digest) { return digest.substr(7); }

std::string DigestOf(std::string_view data) { return "sha256:" + Sha256Hex(data); }

Result<std::unique_ptr<BlobStore>> OpenFsBlobStore(const std::string& root) {
  for (const char* sub : {"/blobs/sha256", "/uploads", "/refs"}) {
    if (Status s = MakeDirs(root + sub); !s.ok()) return s;
  }
  return std::unique_ptr<BlobStore>(std::make_unique<FsBlobStore>(root));
}

}  // namespace gantry::blob
