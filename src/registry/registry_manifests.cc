// Manifest endpoints (get/head, put with validation of everything it references, delete)
// and the OCI 1.1 referrers API. Manifest bytes live in the blob store; the repository
// keeps a link with the media type and push time.
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "registry/manifest.h"
#include "registry/names.h"
#include "registry/registry_impl.h"

namespace gantry::registry {

void Registry::Impl::GetManifestRequest(http::Request& req, http::Response& res, const std::string& name,
                                        const std::string& ref) {
  std::string digest = ref;
  if (!blob::IsValidDigest(ref)) {
    if (!IsValidTag(ref))
      return SendError(res, 400, "MANIFEST_INVALID", "invalid tag or digest \"" + ref.substr(0, 200) + "\"");
    auto tag = GetTag(name, ref);
    if (!tag) return SendError(res, 404, "MANIFEST_UNKNOWN", "manifest " + name + ":" + ref + " is not known");
    digest = tag->digest;
  }
  auto link = GetManifest(name, digest);
  auto bytes = link ? blobs.ReadSmall(digest, kMaxManifestBytes) : Result<std::string>::Error("unknown");
  if (!bytes.ok()) return SendError(res, 404, "MANIFEST_UNKNOWN", "manifest " + name + "@" + digest + " is not known");
  http::Headers headers = {{"Content-Type", link->media_type},
                           {"Docker-Content-Digest", digest},
                           {"ETag", "\"" + digest + "\""},
                           {kApiVersionHeader, "registry/2.0"}};
  res.Start(200, headers, bytes->size());
  if (req.method != "HEAD") res.Write(*bytes);
  res.Finish();
}

void Registry::Impl::PutManifestRequest(http::Request& req, http::Response& res, const std::string& name,
                                        const std::string& ref) {
  bool by_digest = blob::IsValidDigest(ref);
  if (!by_digest && !IsValidTag(ref)) {
    return SendError(res, 400, "TAG_INVALID", "invalid tag \"" + ref.substr(0, 200) + "\"");
  }
  if (req.content_length && *req.content_length > kMaxManifestBytes) {
    return SendError(res, 413, "SIZE_INVALID", "manifest larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  }
  auto body = req.ReadAll(kMaxManifestBytes);
  if (!body.ok()) return SendError(res, 413, "SIZE_INVALID", body.error());
  auto manifest = ParseManifest(*body, req.Header("Content-Type"));
  if (!manifest.ok()) return SendError(res, 400, "MANIFEST_INVALID", manifest.error());
  std::string digest = blob::DigestOf(*body);
  if (by_digest && digest != ref) {
    return SendError(res, 400, "DIGEST_INVALID", "the manifest's digest is " + digest + ", not " + ref);
  }
  std::shared_lock lock(gc_mu);
  // Everything referenced must already be in this repository.
  std::vector<const Descriptor*> blobs_needed;
  if (manifest->config) blobs_needed.push_back(&*manifest->config);
  for (const auto& l : manifest->layers) blobs_needed.push_back(&l);
  for (const Descriptor* d : blobs_needed) {
    auto size = blobs.Stat(d->digest);
    if (!size || !HasLayer(name, d->digest)) {
      return SendError(res, 400, "MANIFEST_BLOB_UNKNOWN", "blob " + d->digest + " is not in repository " + name);
    }
    if (*size != d->size) {
      return SendError(res, 400, "MANIFEST_INVALID",
                       "blob " + d->digest + " has " + std::to_string(*size) + " bytes, the manifest says " +
                           std::to_string(d->size));
    }
  }
  for (const auto& child : manifest->manifests) {
    if (!GetManifest(name, child.digest)) {
      return SendError(res, 400, "MANIFEST_BLOB_UNKNOWN", "manifest " + child.digest + " is not in repository " + name);
    }
  }
  auto stored = blobs.Put(*body);
  if (!stored.ok()) return SendError(res, 500, "UNKNOWN", stored.error());
  ManifestLink link{manifest->media_type, NowSeconds(), manifest->subject ? manifest->subject->digest : ""};
  if (auto old = GetManifest(name, digest)) link.pushed = std::max(link.pushed, old->pushed);
  if (Status s = LinkManifest(name, digest, link); !s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
  http::Headers headers = {{"Location", "/v2/" + name + "/manifests/" + digest}, {"Docker-Content-Digest", digest}};
  if (manifest->subject) {
    std::string dir = RepoDir(name) + "/_referrers/" + std::string(blob::DigestHex(manifest->subject->digest));
    Status s = MakeDirs(dir);
    if (s.ok()) {
      s = WriteFileAtomic(dir + "/" + std::string(blob::DigestHex(digest)),
                          ReferrerDescriptorJson(*manifest, digest, body->size()));
    }
    if (!s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
    headers.push_back({"OCI-Subject", manifest->subject->digest});
  }
  if (!by_digest) {
    if (Status s = SetTag(name, ref, digest); !s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
  }
  headers.push_back({kApiVersionHeader, "registry/2.0"});
  res.Start(201, headers, 0);
  res.Finish();
}

void Registry::Impl::DeleteManifestRequest(http::Request& req, http::Response& res, const std::string& name,
                                           const std::string& ref) {
  std::shared_lock lock(gc_mu);
  if (blob::IsValidDigest(ref)) {
    if (Status s = RemoveManifest(name, ref); !s.ok()) {
      return SendError(res, 404, "MANIFEST_UNKNOWN", "manifest " + ref + " is not known");
    }
  } else {
    if (!IsValidTag(ref)) return SendError(res, 400, "TAG_INVALID", "invalid tag");
    if (!GetTag(name, ref)) return SendError(res, 404, "MANIFEST_UNKNOWN", "tag " + ref + " is not known");
    ::unlink((RepoDir(name) + "/_tags/" + ref).c_str());
  }
  http::Headers headers = {{kApiVersionHeader, "registry/2.0"}};
  res.Start(202, headers, 0);
  res.Finish();
}

void Registry::Impl::Referrers(http::Request& req, http::Response& res, const std::string& name,
                               const std::string& digest) {
  if (!blob::IsValidDigest(digest)) return SendError(res, 400, "DIGEST_INVALID", "invalid digest");
  auto filter = req.QueryParam("artifactType");
  nlohmann::json list = nlohmann::json::array();
  std::string dir = RepoDir(name) + "/_referrers/" + std::string(blob::DigestHex(digest));
  for (const auto& hex : ListManifests(name)) {
    std::string path = dir + "/" + std::string(blob::DigestHex(hex));
    if (!PathExists(path)) continue;
    auto text = ReadFile(path, 1 << 20);
    if (!text.ok()) continue;
    auto d = nlohmann::json::parse(*text, nullptr, false);
    if (d.is_discarded()) continue;
    if (filter && d.value("artifactType", "") != *filter) continue;
    list.push_back(std::move(d));
  }
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", list}};
  http::Headers headers;
  if (filter) headers.push_back({"OCI-Filters-Applied", "artifactType"});
  SendJson(res, 200, kOciIndex, index.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), headers);
}

}  // namespace gantry::registry
