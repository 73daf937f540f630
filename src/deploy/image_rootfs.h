// Image revisions on the local fleet: an image in the built-in registry becomes a root
// filesystem on disk (layers applied in order, OCI whiteouts honoured, paths that would
// leave the root refused, sizes bounded), cached per manifest digest, plus what the image
// config says to run (Entrypoint, Cmd, Env, WorkingDir). The fleet starts instances of it
// under bubblewrap with that directory as `/` (docs/deploy.md, "Image services").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::blob {
class BlobStore;
}

namespace gantry::deploy {

// Limits on image content (layers come from whoever may push to the registry).
struct UnpackLimits {
  uint64_t max_bytes = 4ull << 30;  // file bytes written, all layers together
  uint64_t max_entries = 200'000;   // tar entries, all layers together
  int max_layers = 128;
  size_t max_path = 4096;
};

struct ImageRootfs {
  std::string manifest_digest;  // "sha256:..."; the cache key
  std::string rootfs;           // absolute directory, read-only for instances
  std::vector<std::string> entrypoint, cmd;
  std::vector<std::string> env;  // "KEY=VALUE" from the image config
  std::string working_dir;       // "" means "/"
};

// Applies one layer (a tar stream, compressed or not: gzip, zstd, ...) onto `root`.
// `read` fills a buffer (count, 0 at the end, -1 on error). Whiteouts (`.wh.NAME`, the
// opaque `.wh..wh..opq`) remove what lower layers put there. An entry whose path climbs out
// of the root (`..`, through a symlink, a hard link outside) is an error naming it.
// `written` / `entries` accumulate across layers for the limits.
struct LayerCounters {
  uint64_t bytes = 0, entries = 0;
};
Status ApplyLayer(const std::string& root, const std::function<long long(char*, size_t)>& read, const std::string& what,
                  const UnpackLimits& limits, LayerCounters* counters);

// Resolves image references against the registry's data (tags under
// REGISTRY_DIR/repositories/NAME/_tags) and blobs, unpacking each manifest once into
// CACHE_DIR/<hex>/ (thread-safe; an interrupted unpack leaves only a `.unpack-*` temp dir).
class ImageUnpacker {
 public:
  ImageUnpacker(blob::BlobStore& blobs, std::string registry_dir, std::string cache_dir, UnpackLimits limits = {});
  ~ImageUnpacker();
  // `reference`: NAME[:TAG] or NAME@sha256:HEX, optionally behind a registry host
  // ("127.0.0.1:8080/team/app:v1", "registry.local/web"); the tag defaults to "latest".
  Result<ImageRootfs> Unpack(const std::string& reference);

  // The platform an image index is resolved for: "linux/amd64", "linux/arm64/v8"; the
  // machine's own by default (HostPlatform()).
  void set_platform(std::string platform);
  static std::string HostPlatform();

  // Deletes unpacked images no instance uses (`in_use`: rootfs paths of live instances)
  // that were last asked for more than `keep_unused_ms` ago, and temp dirs of interrupted
  // unpacks. Returns how many directories were removed.
  Result<int> Prune(const std::set<std::string>& in_use, int64_t keep_unused_ms = 86'400'000);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::deploy
