// The content-addressed blob store: bytes named by their sha256 digest, written through
// resumable uploads that become visible only once committed with a verified digest.
// Everything streams in bounded memory (a 100 MB layer is never held whole). The interface
// is backend-neutral so an S3-compatible store can sit behind it later; OpenFsBlobStore is
// the local filesystem implementation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::blob {

// A source of bytes: fills up to n bytes of buf; returns the count, 0 at the end, -1 on error.
using ReadFn = std::function<long long(char* buf, size_t n)>;

// "sha256:<64 lowercase hex>"; the only algorithm stored.
bool IsValidDigest(std::string_view digest);
// The hex part of a valid digest.
std::string_view DigestHex(std::string_view digest);
std::string DigestOf(std::string_view data);

struct BlobInfo {
  std::string digest;
  uint64_t size = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Bytes this reader will return in total (the requested range).
  virtual uint64_t size() const = 0;
  // Reads the next bytes: count, 0 at the end, -1 on error. A reader of the whole blob checks
  // the digest at the end and returns -1 instead of 0 if the stored bytes were corrupted.
  virtual long long Read(char* buf, size_t n) = 0;
  // Zero-copy alternative to Read for readers backed by a file: calls `send(fd, offset, n)`
  // for consecutive pieces of the range. A whole-blob reader hashes each piece first and
  // refuses (false, the last piece unsent) when the digest is wrong. nullopt: not supported,
  // use Read.
  using SendFn = std::function<bool(int fd, uint64_t offset, uint64_t n)>;
  virtual std::optional<bool> SendTo(const SendFn& send) { return std::nullopt; }
};

struct GcOptions {
  // Digests the caller still uses (e.g. the registry's manifests and their layers); blobs
  // with a reference recorded through AddRef are kept too.
  std::set<std::string> roots;
  // Blobs written or touched more recently than this are kept: an upload just committed may
  // not be referenced yet (layers are pushed before their manifest).
  std::chrono::seconds min_age{3600};
  // Uploads untouched for this long are abandoned and removed; active ones never are.
  std::chrono::seconds upload_ttl{24 * 3600};
  bool dry_run = false;
};

struct GcStats {
  uint64_t blobs_kept = 0;
  uint64_t blobs_deleted = 0;
  uint64_t bytes_freed = 0;
  uint64_t uploads_expired = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Size of a committed blob; nullopt when absent.
  virtual std::optional<uint64_t> Stat(std::string_view digest) = 0;
  // Opens [offset, offset + length) of a blob (length nullopt: to the end).
  virtual Result<std::unique_ptr<BlobReader>> Open(std::string_view digest, uint64_t offset = 0,
                                                   std::optional<uint64_t> length = std::nullopt) = 0;
  // Small blobs (manifests, configs): whole, verified, refused above `limit` bytes.
  virtual Result<std::string> ReadSmall(std::string_view digest, uint64_t limit) = 0;
  virtual Result<BlobInfo> Put(std::string_view data) = 0;
  // Marks a blob as recently used so a concurrent garbage collection keeps it.
  virtual void Touch(std::string_view digest) = 0;
  virtual Status Delete(std::string_view digest) = 0;

  // Resumable uploads. An id names a session that survives a restart; its bytes are never
  // visible as a blob until Commit verified their digest.
  virtual Result<std::string> BeginUpload() = 0;
  // Bytes received so far; an error if the session does not exist.
  virtual Result<uint64_t> UploadSize(std::string_view id) = 0;
  // Appends everything `read` yields. All or nothing: on a read error, or when the upload
  // would exceed `max_total` bytes, the session is rolled back to its previous size.
  virtual Result<uint64_t> Append(std::string_view id, const ReadFn& read, uint64_t max_total) = 0;
  // Writes what `read` yields at `offset` (chunks that arrive out of order, as the cache
  // protocol sends them). All or nothing like Append; the running hash is recomputed at commit.
  virtual Result<uint64_t> WriteAt(std::string_view id, uint64_t offset, const ReadFn& read, uint64_t max_total) = 0;
  // Verifies the digest and makes the blob visible atomically; the session ends either way
  // when the digest is wrong (the caller restarts the upload). An empty `expected_digest`
  // accepts whatever the bytes hash to (protocols that name no digest).
  virtual Result<BlobInfo> Commit(std::string_view id, std::string_view expected_digest) = 0;
  virtual Status CancelUpload(std::string_view id) = 0;

  // Reference tracking for holders other than the registry (artifacts, caches): a blob with
  // at least one holder is never collected.
  virtual Status AddRef(std::string_view holder, std::string_view digest) = 0;
  virtual Status RemoveRefs(std::string_view holder) = 0;

  virtual Result<GcStats> CollectGarbage(const GcOptions& options) = 0;
};

// A store under `root` (created if needed): blobs/sha256/<2 hex>/<hex>, uploads/<id>/,
// refs/<holder>/<hex>.
Result<std::unique_ptr<BlobStore>> OpenFsBlobStore(const std::string& root);

}  // namespace gantry::blob
