// Routing, authorization, repository storage, and the small read-only endpoints (base
// check, catalog, tags list) of the registry.
#include "registry/registry.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"
#include "registry/names.h"
#include "registry/registry_impl.h"

namespace gantry::registry {
namespace {

constexpr size_t kMaxPageSize = 10000;
constexpr int kMaxCatalogDepth = 32;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && name.find(".tmp.") == std::string::npos) out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Hex(std::string_view digest) { return std::string(blob::DigestHex(digest)); }

void CollectRepositories(const std::string& dir, const std::string& prefix, int depth, std::vector<std::string>* out) {
  if (depth > kMaxCatalogDepth) return;
  bool is_repo = false;
  for (const auto& entry : ListDir(dir)) {
    if (entry[0] == '_') {
      is_repo = true;
      continue;
    }
    if (IsDir(dir + "/" + entry)) CollectRepositories(dir + "/" + entry, prefix + entry + "/", depth + 1, out);
  }
  if (is_repo && !prefix.empty()) out->push_back(prefix.substr(0, prefix.size() - 1));
}

// n and last of a paginated list; false after sending 400 for a malformed n.
bool PageParams(http::Request& req, http::Response& res, size_t* n, std::string* last) {
  *n = kMaxPageSize;
  if (auto v = req.QueryParam("n")) {
    if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos) {
      SendError(res, 400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer");
      return false;
    }
    *n = std::min<size_t>(std::stoul(*v), kMaxPageSize);
  }
  *last = req.QueryParam("last").value_or("");
  return true;
}

// Applies n/last to a sorted list; fills the Link header when more remain.
std::vector<std::string> Page(const std::vector<std::string>& all, size_t n, const std::string& last,
                              const std::string& base_path, http::Headers* headers) {
  auto it = last.empty() ? all.begin() : std::upper_bound(all.begin(), all.end(), last);
  std::vector<std::string> page;
  for (; it != all.end() && page.size() < n; ++it) page.push_back(*it);
  if (it != all.end() && !page.empty()) {
    headers->push_back({"Link", "<" + base_path + "?n=" + std::to_string(n) +
                                    "&last=" + http::PercentEncode(page.back()) + ">; rel=\"next\""});
  }
  return page;
}

}  // namespace

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void SendJson(http::Response& res, int status, std::string_view content_type, const std::string& body,
              http::Headers headers) {
  headers.push_back({"Content-Type", std::string(content_type)});
  headers.push_back({kApiVersionHeader, "registry/2.0"});
  res.Start(status, headers, body.size());
  res.Write(body);
  res.Finish();
}

void SendError(http::Response& res, int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"errors", {{{"code", code}, {"message", message}}}}};
  SendJson(res, status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Registry::Impl::Impl(blob::BlobStore& b, RegistryOptions o) : blobs(b), options(std::move(o)) {
  MakeDirs(options.data_dir + "/repositories");
  MakeDirs(options.data_dir + "/uploads");
}

std::string Registry::Impl::RepoDir(std::string_view name) const {
  return options.data_dir + "/repositories/" + std::string(name);
}

bool Registry::Impl::RepoExists(std::string_view name) const {
  return IsDir(RepoDir(name) + "/_layers") || IsDir(RepoDir(name) + "/_manifests");
}

std::vector<std::string> Registry::Impl::ListRepositories() const {
  std::vector<std::string> out;
  CollectRepositories(options.data_dir + "/repositories", "", 0, &out);
  std::sort(out.begin(), out.end());
  return out;
}

bool Registry::Impl::HasLayer(std::string_view name, std::string_view digest) const {
  return PathExists(RepoDir(name) + "/_layers/" + Hex(digest)) && blobs.Stat(digest).has_value();
}

Status Registry::Impl::LinkLayer(std::string_view name, std::string_view digest) {
  std::string dir = RepoDir(name) + "/_layers";
  if (Status s = MakeDirs(dir); !s.ok()) return s;
  blobs.Touch(digest);
  std::string path = dir + "/" + Hex(digest);
  if (PathExists(path)) return Status::Ok();
  return WriteFileAtomic(path, "");
}

std::optional<ManifestLink> Registry::Impl::GetManifest(std::string_view name, std::string_view digest) const {
  if (!blob::IsValidDigest(digest)) return std::nullopt;
  auto text = ReadFile(RepoDir(name) + "/_manifests/" + Hex(digest), 4096);
  if (!text.ok()) return std::nullopt;
  auto lines = Split(*text, '\n');
  if (lines.size() < 3) return std::nullopt;
  ManifestLink link{lines[0], std::atoll(lines[1].c_str()), lines[2]};
  return link;
}

Status Registry::Impl::LinkManifest(std::string_view name, std::string_view digest, const ManifestLink& link) {
  std::string dir = RepoDir(name) + "/_manifests";
  if (Status s = MakeDirs(dir); !s.ok()) return s;
  return WriteFileAtomic(dir + "/" + Hex(digest),
                         link.media_type + "\n" + std::to_string(link.pushed) + "\n" + link.subject + "\n");
}

std::vector<std::string> Registry::Impl::ListManifests(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& hex : ListDir(RepoDir(name) + "/_manifests")) out.push_back("sha256:" + hex);
  return out;
}

std::optional<TagLink> Registry::Impl::GetTag(std::string_view name, std::string_view tag) const {
  if (!IsValidTag(tag)) return std::nullopt;
  auto text = ReadFile(RepoDir(name) + "/_tags/" + std::string(tag), 4096);
  if (!text.ok()) return std::nullopt;
  auto lines = Split(*text, '\n');
  if (lines.size() < 2 || !blob::IsValidDigest(lines[0])) return std::nullopt;
  return TagLink{lines[0], std::atoll(lines[1].c_str())};
}

Status Registry::Impl::SetTag(std::string_view name, std::string_view tag, std::string_view digest) {
  std::string dir = RepoDir(name) + "/_tags";
  if (Status s = MakeDirs(dir); !s.ok()) return s;
  return WriteFileAtomic(dir + "/" + std::string(tag),
                         std::string(digest) + "\n" + std::to_string(NowSeconds()) + "\n");
}

std::vector<std::string> Registry::Impl::ListTags(std::string_view name) const {
  return ListDir(RepoDir(name) + "/_tags");
}

Status Registry::Impl::RemoveManifest(std::string_view name, std::string_view digest) {
  auto link = GetManifest(name, digest);
  if (!link) return Status::Error("manifest unknown");
  for (const auto& tag : ListTags(name)) {
    auto t = GetTag(name, tag);
    if (t && t->digest == digest) ::unlink((RepoDir(name) + "/_tags/" + tag).c_str());
  }
  if (blob::IsValidDigest(link->subject)) {
    ::unlink((RepoDir(name) + "/_referrers/" + Hex(link->subject) + "/" + Hex(digest)).c_str());
  }
  if (::unlink((RepoDir(name) + "/_manifests/" + Hex(digest)).c_str()) != 0) {
    return Status::Error("cannot remove manifest " + std::string(digest));
  }
  return Status::Ok();
}

bool Registry::Impl::Authorize(http::Request& req, http::Response& res, std::string_view name, Access access) {
  if (!options.auth) return true;
  switch (options.auth(req, name, access)) {
    case AuthResult::kAllowed:
      return true;
    case AuthResult::kUnauthenticated: {
      nlohmann::json body = {{"errors", {{{"code", "UNAUTHORIZED"}, {"message", "authentication required"}}}}};
      SendJson(res, 401, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               {{"WWW-Authenticate", options.challenge}});
      return false;
    }
    case AuthResult::kDenied:
      SendError(res, 403, "DENIED", "requested access to the resource is denied");
      return false;
  }
  return false;
}

void Registry::Impl::Route(http::Request& req, http::Response& res) {
  std::string_view path = req.path;
  if (!StartsWith(path, "/v2")) return SendError(res, 404, "NAME_UNKNOWN", "not a registry path");
  path.remove_prefix(3);
  const std::string& m = req.method;
  Access access = (m == "GET" || m == "HEAD") ? Access::kPull : m == "DELETE" ? Access::kDelete : Access::kPush;
  if (path.empty() || path == "/") {
    if (!Authorize(req, res, "", Access::kPull)) return;
    if (m != "GET" && m != "HEAD") return SendError(res, 405, "UNSUPPORTED", "method not allowed");
    return SendJson(res, 200, "application/json", "{}");
  }
  if (path == "/_catalog") {
    if (!Authorize(req, res, "", Access::kPull)) return;
    if (m != "GET") return SendError(res, 405, "UNSUPPORTED", "method not allowed");
    return Catalog(req, res);
  }
  auto segs = Split(path.substr(1), '/');
  size_t n = segs.size();
  auto name_of = [&](size_t count) {
    std::vector<std::string> parts(segs.begin(), segs.begin() + static_cast<long>(count));
    return Join(parts, "/");
  };
  enum class Kind { kTags, kManifest, kReferrers, kUploads, kUpload, kBlob, kNone } kind = Kind::kNone;
  std::string name, arg;
  if (n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list") {
    kind = Kind::kTags, name = name_of(n - 2);
  } else if (n >= 3 && segs[n - 2] == "manifests") {
    kind = Kind::kManifest, name = name_of(n - 2), arg = segs[n - 1];
  } else if (n >= 3 && segs[n - 2] == "referrers") {
    kind = Kind::kReferrers, name = name_of(n - 2), arg = segs[n - 1];
  } else if (n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads") {
    kind = segs[n - 1].empty() ? Kind::kUploads : Kind::kUpload, name = name_of(n - 3), arg = segs[n - 1];
  } else if (n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads") {
    kind = Kind::kUploads, name = name_of(n - 2);
  } else if (n >= 3 && segs[n - 2] == "blobs") {
    kind = Kind::kBlob, name = name_of(n - 2), arg = segs[n - 1];
  }
  if (kind == Kind::kNone) return SendError(res, 404, "NAME_UNKNOWN", "no such registry endpoint");
  if (!IsValidRepositoryName(name)) {
    return SendError(res, 400, "NAME_INVALID", "invalid repository name \"" + name.substr(0, 300) + "\"");
  }
  if (!Authorize(req, res, name, access)) return;
  auto bad_method = [&] { SendError(res, 405, "UNSUPPORTED", "method " + m + " not allowed here"); };
  switch (kind) {
    case Kind::kTags:
      return m == "GET" ? TagsList(req, res, name) : bad_method();
    case Kind::kManifest:
      if (m == "GET" || m == "HEAD") return GetManifestRequest(req, res, name, arg);
      if (m == "PUT") return PutManifestRequest(req, res, name, arg);
      if (m == "DELETE") return DeleteManifestRequest(req, res, name, arg);
      return bad_method();
    case Kind::kReferrers:
      return m == "GET" ? Referrers(req, res, name, arg) : bad_method();
    case Kind::kUploads:
      return m == "POST" ? StartUpload(req, res, name) : bad_method();
    case Kind::kUpload:
      return UploadRequest(req, res, name, arg);
    case Kind::kBlob:
      if (m == "GET" || m == "HEAD") return GetBlob(req, res, name, arg);
      if (m == "DELETE") return DeleteBlob(req, res, name, arg);
      return bad_method();
    case Kind::kNone:
      break;
  }
}

void Registry::Impl::Catalog(http::Request& req, http::Response& res) {
  size_t n;
  std::string last;
  if (!PageParams(req, res, &n, &last)) return;
  http::Headers headers;
  auto page = Page(ListRepositories(), n, last, "/v2/_catalog", &headers);
  nlohmann::json body = {{"repositories", page}};
  SendJson(res, 200, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), headers);
}

void Registry::Impl::TagsList(http::Request& req, http::Response& res, const std::string& name) {
  if (!RepoExists(name)) return SendError(res, 404, "NAME_UNKNOWN", "repository " + name + " is not known");
  size_t n;
  std::string last;
  if (!PageParams(req, res, &n, &last)) return;
  http::Headers headers;
  auto page = Page(ListTags(name), n, last, "/v2/" + name + "/tags/list", &headers);
  nlohmann::json body = {{"name", name}, {"tags", page}};
  SendJson(res, 200, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), headers);
}

Registry::Registry(blob::BlobStore& blobs, RegistryOptions options)
    : impl_(std::make_unique<Impl>(blobs, std::move(options))) {}
Registry::~Registry() = default;

http::Handler Registry::Handler() {
  return [this](http::Request& req, http::Response& res) { Serve(req, res); };
}

void Registry::Serve(http::Request& req, http::Response& res) { impl_->Route(req, res); }

}  // namespace gantry::registry
