#include "registry/manifest.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "blob/blob_store.h"

namespace gantry::registry {
namespace {

using nlohmann::json;

// "manifest:line:col" for a byte offset, so errors point at the bad spot.
std::string Where(std::string_view data, size_t offset) { return TextPosition("manifest", data, offset); }

// Nesting depth outside strings; refuses deep documents before the JSON parser sees them.
Status CheckDepth(std::string_view data) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxManifestDepth) {
        return Status::Error(Where(data, i) + ": nested deeper than " + std::to_string(kMaxManifestDepth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

Result<std::string> OptionalString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Status::Error(where + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

Result<Descriptor> ReadDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return Status::Error(where + ": a descriptor must be an object");
  Descriptor d;
  auto media = OptionalString(j, "mediaType", where);
  if (!media.ok()) return media.status();
  if (media->empty()) return Status::Error(where + ": descriptor has no \"mediaType\"");
  d.media_type = *media;
  auto digest = OptionalString(j, "digest", where);
  if (!digest.ok()) return digest.status();
  if (!blob::IsValidDigest(*digest)) {
    return Status::Error(where + ": \"digest\" must be sha256:<64 lowercase hex>, got \"" + digest->substr(0, 80) +
                         "\"");
  }
  d.digest = *digest;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned()) {
    return Status::Error(where + ": descriptor needs a non-negative integer \"size\"");
  }
  d.size = size->get<uint64_t>();
  auto artifact = OptionalString(j, "artifactType", where);
  if (!artifact.ok()) return artifact.status();
  d.artifact_type = *artifact;
  // An index entry's platform ({"os":"linux","architecture":"amd64","variant":"v8"}).
  if (auto p = j.find("platform"); p != j.end()) {
    if (!p->is_object()) return Status::Error(where + ": \"platform\" must be an object");
    for (auto [key, dst] : {std::pair{"os", &d.platform_os}, std::pair{"architecture", &d.platform_arch},
                            std::pair{"variant", &d.platform_variant}}) {
      auto v = OptionalString(*p, key, where + ": platform");
      if (!v.ok()) return v.status();
      *dst = v->substr(0, 64);
    }
  }
  return d;
}

bool IsKnownType(std::string_view t) {
  return t == kOciManifest || t == kOciIndex || t == kDockerManifest || t == kDockerList;
}

// Content-Type may carry parameters ("; charset=utf-8").
std::string_view BareType(std::string_view t) {
  size_t semi = t.find(';');
  if (semi != std::string_view::npos) t = t.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view data, std::string_view content_type) {
  if (data.size() > kMaxManifestBytes) {
    return Status::Error("manifest:1:1: larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  }
  if (Status s = CheckDepth(data); !s.ok()) return s;
  json doc;
  try {
    doc = json::parse(data);
  } catch (const json::parse_error& e) {
    return Status::Error(Where(data, e.byte > 0 ? e.byte - 1 : 0) + ": not valid JSON");
  } catch (const json::exception& e) {
    return Status::Error("manifest:1:1: not a usable JSON document (" + std::string(e.what()) + ")");
  }
  std::string where = "manifest:1:1";
  if (!doc.is_object()) return Status::Error(where + ": a manifest must be a JSON object");
  auto version = doc.find("schemaVersion");
  if (version == doc.end() || !version->is_number_integer() || version->get<int64_t>() != 2) {
    return Status::Error(where + ": \"schemaVersion\" must be 2");
  }
  Manifest m;
  auto media = OptionalString(doc, "mediaType", where);
  if (!media.ok()) return media.status();
  std::string_view declared = BareType(content_type);
  if (!media->empty() && !declared.empty() && *media != declared) {
    return Status::Error(where + ": mediaType \"" + *media + "\" does not match Content-Type \"" +
                         std::string(declared) + "\"");
  }
  m.media_type = !media->empty() ? *media : std::string(declared);
  if (m.media_type.empty()) {
    // OCI allows omitting mediaType; the shape says which one it is.
    m.media_type = doc.contains("manifests") ? kOciIndex : kOciManifest;
  }
  if (!IsKnownType(m.media_type)) {
    return Status::Error(where + ": unsupported manifest media type \"" + m.media_type.substr(0, 100) + "\"");
  }
  m.is_index = m.media_type == kOciIndex || m.media_type == kDockerList;
  auto artifact = OptionalString(doc, "artifactType", where);
  if (!artifact.ok()) return artifact.status();
  m.artifact_type = *artifact;

  if (m.is_index) {
    auto list = doc.find("manifests");
    if (list == doc.end() || !list->is_array()) return Status::Error(where + ": an index needs a \"manifests\" array");
    for (size_t i = 0; i < list->size(); ++i) {
      auto d = ReadDescriptor((*list)[i], where + ": manifests[" + std::to_string(i) + "]");
      if (!d.ok()) return d.status();
      m.manifests.push_back(std::move(*d));
    }
  } else {
    auto config = doc.find("config");
    if (config == doc.end()) return Status::Error(where + ": an image manifest needs a \"config\"");
    auto c = ReadDescriptor(*config, where + ": config");
    if (!c.ok()) return c.status();
    m.config = std::move(*c);
    auto layers = doc.find("layers");
    if (layers == doc.end() || !layers->is_array()) {
      return Status::Error(where + ": an image manifest needs a \"layers\" array");
    }
    for (size_t i = 0; i < layers->size(); ++i) {
      auto d = ReadDescriptor((*layers)[i], where + ": layers[" + std::to_string(i) + "]");
      if (!d.ok()) return d.status();
      m.layers.push_back(std::move(*d));
    }
    if (m.artifact_type.empty()) m.artifact_type = m.config->media_type;
  }
  if (auto subject = doc.find("subject"); subject != doc.end()) {
    auto s = ReadDescriptor(*subject, where + ": subject");
    if (!s.ok()) return s.status();
    m.subject = std::move(*s);
  }
  if (auto ann = doc.find("annotations"); ann != doc.end()) {
    if (!ann->is_object()) return Status::Error(where + ": \"annotations\" must be an object");
    for (const auto& [k, v] : ann->items()) {
      if (!v.is_string()) return Status::Error(where + ": annotation \"" + k.substr(0, 100) + "\" must be a string");
    }
    m.annotations_json = ann->dump();
  }
  return m;
}

std::string ReferrerDescriptorJson(const Manifest& m, std::string_view digest, uint64_t size) {
  json d = {{"mediaType", m.media_type}, {"digest", digest}, {"size", size}};
  if (!m.artifact_type.empty()) d["artifactType"] = m.artifact_type;
  if (!m.annotations_json.empty()) {
    json annotations = json::parse(m.annotations_json, nullptr, false);
    if (!annotations.is_discarded()) d["annotations"] = std::move(annotations);
  }
  return d.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace gantry::registry
