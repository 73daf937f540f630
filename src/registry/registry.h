// The OCI Distribution Spec v1.1 registry served at /v2/ over a BlobStore: pull, push
// (monolithic, chunked, cross-repository mount), manifests, tags, catalog, referrers and
// delete, with the spec's error bodies and status codes. Authentication is a hook so the
// server's tokens decide who may pull or push; lifecycle policies are applied by
// CollectGarbage.
//
//   auto store = blob::OpenFsBlobStore(dir + "/blobs");       // keep it alive with the registry
//   registry::RegistryOptions options;
//   options.data_dir = dir + "/registry";
//   options.auth = hook;                                       // tokens decide pull/push/delete
//   registry::Registry reg(**store, options);
//   router.Mount("", "/v2", reg.Handler());   // the handler reads request.path ("/v2/...")
// Blob uploads are request bodies of any size: give the server a max_body_bytes at least
// options.max_blob_bytes (the registry enforces its own limit with 413 SIZE_INVALID).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/http.h"
#include "base/status.h"
#include "blob/blob_store.h"

namespace gantry::registry {

enum class Access { kPull, kPush, kDelete };
enum class AuthResult {
  kAllowed,
  kUnauthenticated,  // no or bad credentials: 401 with the WWW-Authenticate challenge
  kDenied,           // known user without the right: 403 DENIED
};
// `repository` is empty for the base check (GET /v2/) and the catalog.
using AuthHook = std::function<AuthResult(const http::Request& request, std::string_view repository, Access access)>;

struct RegistryOptions {
  std::string data_dir;                   // repositories, tags and links (created if needed)
  uint64_t max_blob_bytes = 64ull << 30;  // larger uploads get 413
  AuthHook auth;                          // empty: anyone may pull, push and delete
  std::string challenge = "Basic realm=\"gantry\"";
};

// Lifecycle policy of one repository; 0 turns a rule off.
struct Policy {
  int keep_tags = 0;      // keep the N most recently pushed tags, delete older ones
  int untagged_days = 0;  // delete manifests no tag reaches after D days
};

struct GcRunOptions {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // Blobs younger than this are kept even when unreferenced (a push in progress).
  std::chrono::seconds blob_min_age{3600};
  bool dry_run = false;
};

struct GcReport {
  uint64_t tags_deleted = 0;
  uint64_t manifests_deleted = 0;
  blob::GcStats blobs;
};

class Registry {
 public:
  Registry(blob::BlobStore& blobs, RegistryOptions options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Serves every request whose path starts with /v2 (the registry must outlive it).
  http::Handler Handler();
  void Serve(http::Request& request, http::Response& response);

  Status SetPolicy(std::string_view repository, const Policy& policy);
  Result<Policy> GetPolicy(std::string_view repository);
  // Applies each repository's policy, then deletes blobs no manifest reaches.
  Result<GcReport> CollectGarbage(const GcRunOptions& options);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::registry
