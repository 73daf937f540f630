// Per-run artifacts: named zip files (blob/zip.h) kept in the blob store, with an index of
// run, name, digest, size and expiry persisted as one JSON file. Each artifact holds a
// reference on its blob (so the garbage collector keeps it) until it is deleted or its
// retention ran out and Sweep removed it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blob/blob_store.h"

namespace gantry::blob {

struct Artifact {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string name;
  std::string digest;  // of the zip
  uint64_t size = 0;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: kept until deleted
};

// GitHub's rules: 1..256 characters, none of " : < > | * ? \r \n \ /, not "." or "..".
Status CheckArtifactName(std::string_view name);

class ArtifactStore {
 public:
  // The index lives in `dir`/artifacts.json.
  static Result<std::unique_ptr<ArtifactStore>> Open(BlobStore& blobs, const std::string& dir);
  ArtifactStore(BlobStore& blobs, std::string path);

  // Records a committed blob as artifact `name` of the run, replacing one of the same name.
  // retention_days 0 keeps it until deleted.
  Result<Artifact> Add(int64_t run_id, const std::string& name, const BlobInfo& blob, int64_t now_ms,
                       int retention_days);
  std::vector<Artifact> List(int64_t run_id) const;
  std::optional<Artifact> Find(int64_t run_id, std::string_view name) const;
  std::optional<Artifact> FindById(int64_t id) const;
  // False when there was no such artifact.
  Result<bool> Remove(int64_t run_id, std::string_view name);
  // Removes artifacts expired at `now_ms`, and those of runs `run_exists` says are gone.
  // Returns how many went; their blobs are freed by the next garbage collection.
  Result<size_t> Sweep(int64_t now_ms, const std::function<bool(int64_t)>& run_exists = nullptr);

  BlobStore& blobs() { return blobs_; }

 private:
  Status Load();
  Status SaveLocked();
  static std::string Holder(int64_t id) { return "artifact-" + std::to_string(id); }

  BlobStore& blobs_;
  std::string path_;
  mutable std::mutex mu_;
  std::map<int64_t, Artifact> by_id_;
  int64_t next_id_ = 1;
};

}  // namespace gantry::blob
