// Reading the manifests clients push: OCI image manifest and index, Docker schema 2 manifest
// and manifest list. The reader is strict about what the registry relies on (digests,
// sizes, media types) and bounded (size and nesting depth), since the bytes come from
// the network. Errors read "manifest:line:col: what is wrong".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::registry {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr uint64_t kMaxManifestBytes = 4 << 20;
inline constexpr int kMaxManifestDepth = 32;

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string artifact_type;
  // Index entries: the platform the child manifest is for (empty when not given).
  std::string platform_os, platform_arch, platform_variant;
};

struct Manifest {
  std::string media_type;  // one of the four above
  bool is_index = false;
  std::optional<Descriptor> config;   // image manifests
  std::vector<Descriptor> layers;     // image manifests: blobs
  std::vector<Descriptor> manifests;  // indexes: child manifests
  std::optional<Descriptor> subject;  // OCI 1.1 referrers
  // What the referrers API reports: artifactType, else (image manifests) config.mediaType.
  std::string artifact_type;
  std::string annotations_json;  // the "annotations" object as JSON, or empty
};

// `content_type` is the request's Content-Type (may be empty); when the manifest has a
// mediaType field the two must agree.
Result<Manifest> ParseManifest(std::string_view data, std::string_view content_type);

// The referrers-API descriptor of a manifest: {mediaType, digest, size, artifactType, annotations}.
std::string ReferrerDescriptorJson(const Manifest& m, std::string_view digest, uint64_t size);

}  // namespace gantry::registry
