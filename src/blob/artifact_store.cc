#include "blob/artifact_store.h"

#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace gantry::blob {

namespace {
constexpr uint64_t kMaxIndexBytes = 64ull << 20;
}  // namespace

Status CheckArtifactName(std::string_view name) {
  if (name.empty()) return Status::Error("artifact name is empty");
  if (name.size() > 256) return Status::Error("artifact name is longer than 256 characters");
  if (name == "." || name == "..") return Status::Error("artifact name '" + std::string(name) + "' is not allowed");
  for (char c : name) {
    if (std::string_view("\":<>|*?\r\n\\/").find(c) != std::string_view::npos || c == '\0') {
      return Status::Error("artifact name '" + std::string(name) +
                           "' contains a forbidden character (one of \" : < > | * ? \\r \\n \\ /)");
    }
  }
  return Status::Ok();
}

ArtifactStore::ArtifactStore(BlobStore& blobs, std::string path) : blobs_(blobs), path_(std::move(path)) {}

Result<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(BlobStore& blobs, const std::string& dir) {
  if (auto st = MakeDirs(dir); !st.ok()) return st;
  auto s = std::make_unique<ArtifactStore>(blobs, dir + "/artifacts.json");
  if (auto st = s->Load(); !st.ok()) return st;
  return s;
}

Status ArtifactStore::Load() {
  if (!PathExists(path_)) return Status::Ok();
  auto text = ReadFile(path_, kMaxIndexBytes);
  if (!text.ok()) return text.status();
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::Error(path_ + ":1:1: the artifact index is not a JSON object");
  try {
    next_id_ = doc.value("next_id", int64_t{1});
    for (const auto& j : doc.at("artifacts")) {
      Artifact a;
      a.id = j.at("id").get<int64_t>();
      a.run_id = j.at("run").get<int64_t>();
      a.name = j.at("name").get<std::string>();
      a.digest = j.at("digest").get<std::string>();
      a.size = j.at("size").get<uint64_t>();
      a.created_ms = j.at("created_ms").get<int64_t>();
      a.expires_ms = j.at("expires_ms").get<int64_t>();
      if (!IsValidDigest(a.digest) || !CheckArtifactName(a.name).ok()) {
        return Status::Error(path_ + ": artifact " + std::to_string(a.id) + " has a bad digest or name");
      }
      if (a.id >= next_id_) next_id_ = a.id + 1;
      by_id_[a.id] = std::move(a);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(path_ + ": malformed artifact index: " + e.what());
  }
  return Status::Ok();
}

Status ArtifactStore::SaveLocked() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, a] : by_id_) {
    list.push_back({{"id", a.id},
                    {"run", a.run_id},
                    {"name", a.name},
                    {"digest", a.digest},
                    {"size", a.size},
                    {"created_ms", a.created_ms},
                    {"expires_ms", a.expires_ms}});
  }
  nlohmann::json doc = {{"next_id", next_id_}, {"artifacts", list}};
  return WriteFileAtomic(path_, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<Artifact> ArtifactStore::Add(int64_t run_id, const std::string& name, const BlobInfo& blob, int64_t now_ms,
                                    int retention_days) {
  if (auto st = CheckArtifactName(name); !st.ok()) return st;
  if (retention_days < 0) return Result<Artifact>::Error("retention-days must not be negative");
  std::lock_guard<std::mutex> lock(mu_);
  Artifact a;
  a.id = next_id_++;
  a.run_id = run_id;
  a.name = name;
  a.digest = blob.digest;
  a.size = blob.size;
  a.created_ms = now_ms;
  a.expires_ms = retention_days > 0 ? now_ms + int64_t{retention_days} * 86400000 : 0;
  // The reference first: a collection between the two steps must not free the new bytes.
  if (auto st = blobs_.AddRef(Holder(a.id), a.digest); !st.ok()) return st;
  std::vector<int64_t> replaced;
  for (const auto& [id, old] : by_id_) {
    if (old.run_id == run_id && old.name == name) replaced.push_back(id);
  }
  for (int64_t id : replaced) by_id_.erase(id);
  by_id_[a.id] = a;
  if (auto st = SaveLocked(); !st.ok()) return st;
  for (int64_t id : replaced) (void)blobs_.RemoveRefs(Holder(id));
  return a;
}

std::vector<Artifact> ArtifactStore::List(int64_t run_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Artifact> out;
  for (const auto& [id, a] : by_id_) {
    if (a.run_id == run_id) out.push_back(a);
  }
  return out;
}

std::optional<Artifact> ArtifactStore::Find(int64_t run_id, std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, a] : by_id_) {
    if (a.run_id == run_id && a.name == name) return a;
  }
  return std::nullopt;
}

std::optional<Artifact> ArtifactStore::FindById(int64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

Result<bool> ArtifactStore::Remove(int64_t run_id, std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = by_id_.begin(); it != by_id_.end(); ++it) {
    if (it->second.run_id != run_id || it->second.name != name) continue;
    int64_t id = it->first;
    by_id_.erase(it);
    if (auto st = SaveLocked(); !st.ok()) return st;
    (void)blobs_.RemoveRefs(Holder(id));
    return true;
  }
  return false;
}

Result<size_t> ArtifactStore::Sweep(int64_t now_ms, const std::function<bool(int64_t)>& run_exists) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> gone;
  std::map<int64_t, bool> exists;
  for (const auto& [id, a] : by_id_) {
    bool expired = a.expires_ms != 0 && a.expires_ms <= now_ms;
    if (!expired && run_exists) {
      auto it = exists.find(a.run_id);
      if (it == exists.end()) it = exists.emplace(a.run_id, run_exists(a.run_id)).first;
      expired = !it->second;
    }
    if (expired) gone.push_back(id);
  }
  if (gone.empty()) return size_t{0};
  for (int64_t id : gone) by_id_.erase(id);
  if (auto st = SaveLocked(); !st.ok()) return st;
  for (int64_t id : gone) (void)blobs_.RemoveRefs(Holder(id));
  return gone.size();
}

}  // namespace gantry::blob
