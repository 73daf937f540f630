// Internals of server/artifacts.h shared with results_api.cc (the Twirp services).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/http.h"
#include "blob/artifact_store.h"
#include "server/artifacts.h"
#include "server/executor.h"

namespace gantry::http {
class Router;
}

namespace gantry::server {

struct Context;

class ArtifactsHost {
 public:
  static constexpr uint64_t kMaxArtifactBytes = 2ull << 30;  // the server's body limit
  static constexpr int kMaxRetentionDays = 90;               // also the default, as on GitHub

  ArtifactsHost(Context& ctx, blob::BlobStore& blobs, std::unique_ptr<blob::ArtifactStore> store, std::string key,
                std::chrono::seconds sweep_every);
  ~ArtifactsHost();

  void ServeApi(http::Request& req, http::Response& res);
  RunServices ServicesFor(const store::Run& run);

  // Zips files (the built-in upload-artifact) into artifact `name` of the run.
  Result<blob::Artifact> StoreFiles(int64_t run_id, const std::string& name, const std::string& root,
                                    const std::vector<std::string>& paths, int retention_days);
  // Commits an upload session holding a zip, checks the zip, records it.
  Result<blob::Artifact> CommitZip(int64_t run_id, const std::string& name, const std::string& upload_id,
                                   int retention_days);
  // Checks a committed zip and records it.
  Result<blob::Artifact> RecordZip(int64_t run_id, const std::string& name, const blob::BlobInfo& blob,
                                   int retention_days);
  // Unzips the artifact into dest; false when the run has no such artifact.
  Result<bool> Extract(int64_t run_id, const std::string& name, const std::string& dest);
  Result<size_t> Sweep(int64_t now_ms);
  // retention-days as asked, capped, 0 meaning the default.
  int Retention(int requested) const;

  // The run's ACTIONS_RUNTIME_TOKEN and its check (nullopt: forged, malformed or expired).
  std::string RuntimeToken(int64_t run_id, int64_t exp_s) const;
  std::optional<int64_t> VerifyRuntimeToken(std::string_view token, int64_t now_s) const;
  // HMAC with the server's key, for signed URLs.
  std::string Sign(std::string_view what) const;

  Context& ctx() { return ctx_; }
  blob::BlobStore& blobs() { return blobs_; }
  blob::ArtifactStore& artifacts() { return *store_; }

 private:
  void Upload(http::Request& req, http::Response& res, int64_t run_id, const std::string& name);

  Context& ctx_;
  blob::BlobStore& blobs_;
  std::unique_ptr<blob::ArtifactStore> store_;
  std::string key_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

// The services GitHub's client libraries speak (results_api.cc), on the same router.
void MountResults(ArtifactsHost& host, http::Router& router);

}  // namespace gantry::server
