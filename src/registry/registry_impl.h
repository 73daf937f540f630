// Internals of Registry shared by its .cc files: the on-disk layout of repositories and
// the request handlers. Layout under data_dir/repositories/<name>/ (names are validated,
// and components starting with '_' cannot be names, so these never collide):
//   _layers/<hex>            a blob this repository may serve (pushed or mounted here)
//   _manifests/<hex>         "mediaType\npushed-unix-seconds\nsubject-digest-or-empty\n"
//   _tags/<tag>              "digest\npushed-unix-seconds\n"
//   _referrers/<subject-hex>/<hex>  the referrer's descriptor (JSON)
//   _policy                  "keep_tags N\nuntagged_days D\n"
// and data_dir/uploads/<id> holds the repository an upload session belongs to.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace gantry::registry {

inline constexpr char kApiVersionHeader[] = "Docker-Distribution-API-Version";

struct ManifestLink {
  std::string media_type;
  int64_t pushed = 0;
  std::string subject;
};

struct TagLink {
  std::string digest;
  int64_t pushed = 0;
};

int64_t NowSeconds();
void SendError(http::Response& res, int status, std::string_view code, std::string_view message);
void SendJson(http::Response& res, int status, std::string_view content_type, const std::string& body,
              http::Headers headers = {});

struct Registry::Impl {
  Impl(blob::BlobStore& b, RegistryOptions o);

  blob::BlobStore& blobs;
  RegistryOptions options;
  // Pushes hold it shared while they link blobs and manifests; the collector holds it alone
  // between deciding what is reachable and deleting the rest.
  std::shared_mutex gc_mu;

  // ---- storage (registry.cc) ----
  std::string RepoDir(std::string_view name) const;
  bool RepoExists(std::string_view name) const;
  std::vector<std::string> ListRepositories() const;
  bool HasLayer(std::string_view name, std::string_view digest) const;
  Status LinkLayer(std::string_view name, std::string_view digest);
  std::optional<ManifestLink> GetManifest(std::string_view name, std::string_view digest) const;
  Status LinkManifest(std::string_view name, std::string_view digest, const ManifestLink& link);
  std::vector<std::string> ListManifests(std::string_view name) const;
  std::optional<TagLink> GetTag(std::string_view name, std::string_view tag) const;
  Status SetTag(std::string_view name, std::string_view tag, std::string_view digest);
  std::vector<std::string> ListTags(std::string_view name) const;
  // Removes the manifest, the tags pointing at it and its referrer entry.
  Status RemoveManifest(std::string_view name, std::string_view digest);

  // ---- requests ----
  void Route(http::Request& req, http::Response& res);
  bool Authorize(http::Request& req, http::Response& res, std::string_view name, Access access);
  void Catalog(http::Request& req, http::Response& res);
  void TagsList(http::Request& req, http::Response& res, const std::string& name);
  // registry_manifests.cc
  void GetManifestRequest(http::Request& req, http::Response& res, const std::string& name, const std::string& ref);
  void PutManifestRequest(http::Request& req, http::Response& res, const std::string& name, const std::string& ref);
  void DeleteManifestRequest(http::Request& req, http::Response& res, const std::string& name, const std::string& ref);
  void Referrers(http::Request& req, http::Response& res, const std::string& name, const std::string& digest);
  // registry_blobs.cc
  void GetBlob(http::Request& req, http::Response& res, const std::string& name, const std::string& digest);
  void DeleteBlob(http::Request& req, http::Response& res, const std::string& name, const std::string& digest);
  void StartUpload(http::Request& req, http::Response& res, const std::string& name);
  void UploadRequest(http::Request& req, http::Response& res, const std::string& name, const std::string& id);
};

}  // namespace gantry::registry
