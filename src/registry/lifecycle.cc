// Lifecycle policies and garbage collection: per repository, delete tags beyond the newest
// N and manifests no tag reaches after D days; then everything still reachable from a
// manifest is a root for the blob store's collector, which deletes the rest.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "registry/manifest.h"
#include "registry/names.h"
#include "registry/registry_impl.h"

namespace gantry::registry {

Status Registry::SetPolicy(std::string_view repository, const Policy& policy) {
  if (!IsValidRepositoryName(repository))
    return Status::Error("invalid repository name \"" + std::string(repository) + "\"");
  if (policy.keep_tags < 0 || policy.untagged_days < 0) return Status::Error("policy values must be >= 0");
  std::string dir = impl_->RepoDir(repository);
  if (Status s = MakeDirs(dir + "/_manifests"); !s.ok()) return s;
  return WriteFileAtomic(dir + "/_policy", "keep_tags " + std::to_string(policy.keep_tags) + "\nuntagged_days " +
                                               std::to_string(policy.untagged_days) + "\n");
}

Result<Policy> Registry::GetPolicy(std::string_view repository) {
  if (!IsValidRepositoryName(repository))
    return Status::Error("invalid repository name \"" + std::string(repository) + "\"");
  Policy p;
  auto text = ReadFile(impl_->RepoDir(repository) + "/_policy", 4096);
  if (!text.ok()) return p;
  for (const auto& line : Split(*text, '\n')) {
    auto parts = Split(line, ' ');
    if (parts.size() != 2) continue;
    int v = std::atoi(parts[1].c_str());
    if (parts[0] == "keep_tags") p.keep_tags = v;
    if (parts[0] == "untagged_days") p.untagged_days = v;
  }
  return p;
}

Result<GcReport> Registry::CollectGarbage(const GcRunOptions& options) {
  Impl& r = *impl_;
  GcReport report;
  std::unique_lock lock(r.gc_mu);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(options.now.time_since_epoch()).count();
  std::set<std::string> roots;
  for (const auto& repo : r.ListRepositories()) {
    auto policy = GetPolicy(repo);
    if (!policy.ok()) continue;
    // Tags, newest first; those past keep_tags go.
    std::vector<std::pair<TagLink, std::string>> tags;
    for (const auto& t : r.ListTags(repo)) {
      if (auto link = r.GetTag(repo, t)) tags.push_back({*link, t});
    }
    std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) {
      return a.first.pushed != b.first.pushed ? a.first.pushed > b.first.pushed : a.second > b.second;
    });
    if (policy->keep_tags > 0 && tags.size() > static_cast<size_t>(policy->keep_tags)) {
      for (size_t i = static_cast<size_t>(policy->keep_tags); i < tags.size(); ++i) {
        ++report.tags_deleted;
        if (!options.dry_run) ::unlink((r.RepoDir(repo) + "/_tags/" + tags[i].second).c_str());
      }
      tags.resize(static_cast<size_t>(policy->keep_tags));
    }
    // What each manifest reaches: child manifests (indexes) and blobs.
    std::map<std::string, Manifest> parsed;
    for (const auto& digest : r.ListManifests(repo)) {
      auto bytes = r.blobs.ReadSmall(digest, kMaxManifestBytes);
      if (!bytes.ok()) continue;
      auto link = r.GetManifest(repo, digest);
      auto m = ParseManifest(*bytes, link ? link->media_type : "");
      if (m.ok()) parsed.emplace(digest, std::move(*m));
    }
    // Live: tagged, children of live indexes, referrers of live manifests (to a fixpoint).
    std::set<std::string> live;
    for (const auto& [link, name] : tags) live.insert(link.digest);
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [digest, m] : parsed) {
        bool reached = live.count(digest) > 0;
        if (!reached && m.subject && live.count(m.subject->digest)) reached = grew = live.insert(digest).second;
        if (!reached) continue;
        for (const auto& child : m.manifests) grew |= live.insert(child.digest).second;
      }
    }
    for (const auto& [digest, m] : parsed) {
      if (live.count(digest) || policy->untagged_days <= 0) continue;
      auto link = r.GetManifest(repo, digest);
      if (!link || now - link->pushed < static_cast<int64_t>(policy->untagged_days) * 86400) continue;
      ++report.manifests_deleted;
      if (!options.dry_run) r.RemoveManifest(repo, digest);
    }
    // Roots for the blob collector: every manifest still linked and what it references.
    for (const auto& digest : r.ListManifests(repo)) {
      roots.insert(digest);
      auto it = parsed.find(digest);
      if (it == parsed.end()) continue;
      if (it->second.config) roots.insert(it->second.config->digest);
      for (const auto& l : it->second.layers) roots.insert(l.digest);
    }
  }
  blob::GcOptions blob_options;
  blob_options.roots = std::move(roots);
  blob_options.min_age = options.blob_min_age;
  blob_options.dry_run = options.dry_run;
  auto stats = r.blobs.CollectGarbage(blob_options);
  if (!stats.ok()) return stats.status();
  report.blobs = *stats;
  if (!options.dry_run) {
    // Session owner files of uploads the blob store expired.
    if (auto* d = ::opendir((r.options.data_dir + "/uploads").c_str())) {
      std::vector<std::string> ids;
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') ids.push_back(e->d_name);
      }
      ::closedir(d);
      for (const auto& id : ids) {
        if (!r.blobs.UploadSize(id).ok()) ::unlink((r.options.data_dir + "/uploads/" + id).c_str());
      }
    }
    // Layer links whose blob is gone would advertise what cannot be served.
    for (const auto& repo : r.ListRepositories()) {
      std::string dir = r.RepoDir(repo) + "/_layers/";
      std::vector<std::string> layer_files;
      if (auto* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n.size() == 64) layer_files.push_back(n);
        }
        ::closedir(d);
      }
      for (const auto& hex : layer_files) {
        if (!r.blobs.Stat("sha256:" + hex)) ::unlink((dir + hex).c_str());
      }
    }
  }
  return report;
}

}  // namespace gantry::registry
