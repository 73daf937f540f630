// The services GitHub's JavaScript libraries speak, so actions built on them work against
// Gantry unchanged (docs/artifacts.md):
//   - Twirp `github.actions.results.api.v1.ArtifactService` (@actions/artifact v2+) and
//     `...CacheService` (@actions/cache v2) at /twirp/<service>/<method>, JSON bodies with the
//     proto field names, authenticated by the run's ACTIONS_RUNTIME_TOKEN;
//   - signed URLs in Azure block-blob style for the bytes: PUT ?comp=block&blockid=,
//     PUT ?comp=blocklist, or one PUT with x-ms-blob-type; GET (with Range) to download;
//   - the v1 cache protocol (/_apis/artifactcache/) for clients without ACTIONS_CACHE_SERVICE_V2.
// A signed URL names one upload or one blob, expires, and carries an HMAC of both.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include "base/http_server.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "blob/block_upload.h"
#include "blob/cache_service.h"
#include "server/artifacts_host.h"
#include "server/context.h"
#include "server/json_body.h"
#include "server/results_wire.h"

namespace gantry::server {

namespace {

using nlohmann::json;

constexpr uint64_t kMaxTwirpBody = 64 << 10;
constexpr int64_t kUrlLifetimeS = 6 * 3600;

int64_t NowS() { return std::time(nullptr); }

void TwirpError(http::Response& res, int status, const char* code, const std::string& msg) {
  res.Send(status, "application/json",
           json{{"code", code}, {"msg", msg}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

void TwirpOk(http::Response& res, const json& body) {
  res.Send(200, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string RandomId() {
  static std::atomic<uint64_t> counter{0};
  return Sha256Hex(std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":" +
                   std::to_string(counter++))
      .substr(0, 32);
}

std::string Rfc3339(int64_t ms) {
  std::time_t t = ms / 1000;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// The run a request's bearer token belongs to.
std::optional<int64_t> TokenRun(ArtifactsHost& host, const http::Request& req) {
  std::string_view auth = req.Header("Authorization");
  if (!StartsWith(auth, "Bearer ")) return std::nullopt;
  return host.VerifyRuntimeToken(Trim(auth.substr(7)), NowS());
}

// The cache scopes of a run: its ref first (where saves go), then the default branch.
std::optional<std::vector<std::string>> ScopesOf(ArtifactsHost& host, int64_t run_id) {
  auto run = host.ctx().store->GetRun(run_id);
  if (!run.ok() || !run->has_value()) return std::nullopt;
  std::vector<std::string> scopes = {(*run)->ref.empty() ? "refs/heads/main" : (*run)->ref};
  if (scopes[0] != "refs/heads/main") scopes.push_back("refs/heads/main");
  return scopes;
}

// "bytes=a-b" / "bytes=a-" of Range or x-ms-range; nullopt when absent; {0,0} flags malformed.
std::optional<std::pair<uint64_t, uint64_t>> ParseRange(std::string_view h, uint64_t size, bool* bad) {
  *bad = false;
  if (h.empty()) return std::nullopt;
  if (!StartsWith(h, "bytes=") || size == 0) {
    *bad = true;
    return std::nullopt;
  }
  std::string_view r = h.substr(6);
  size_t dash = r.find('-');
  auto num = [](std::string_view d, uint64_t* v) {
    if (d.empty() || d.size() > 19 || d.find_first_not_of("0123456789") != std::string_view::npos) return false;
    *v = std::stoull(std::string(d));
    return true;
  };
  uint64_t a = 0, b = size - 1;
  if (dash == std::string_view::npos || !num(r.substr(0, dash), &a) ||
      (dash + 1 < r.size() && !num(r.substr(dash + 1), &b)) || a > b || a >= size) {
    *bad = true;
    return std::nullopt;
  }
  return std::make_pair(a, std::min(b, size - 1));
}

void ServeBlob(blob::BlobStore& blobs, const std::string& digest, http::Request& req, http::Response& res) {
  auto size = blobs.Stat(digest);
  if (!size) return res.Send(404, "application/xml", "<Error><Code>BlobNotFound</Code></Error>");
  bool bad = false;
  std::string_view rh = req.Header("x-ms-range");
  auto range = ParseRange(rh.empty() ? req.Header("Range") : rh, *size, &bad);
  if (bad) {
    return res.Send(416, "application/xml", "<Error><Code>InvalidRange</Code></Error>",
                    {{"Content-Range", "bytes */" + std::to_string(*size)}});
  }
  uint64_t offset = range ? range->first : 0, length = range ? range->second - range->first + 1 : *size;
  auto reader = range ? blobs.Open(digest, offset, length) : blobs.Open(digest);
  if (!reader.ok()) return res.Send(500, "text/plain", reader.error());
  http::Headers h = {{"Content-Type", "application/octet-stream"},
                     {"Accept-Ranges", "bytes"},
                     {"x-ms-blob-type", "BlockBlob"},
                     {"ETag", "\"" + std::string(blob::DigestHex(digest)).substr(0, 32) + "\""},
                     {"Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"}};
  if (range) {
    h.push_back({"Content-Range", "bytes " + std::to_string(range->first) + "-" + std::to_string(range->second) + "/" +
                                      std::to_string(*size)});
  }
  if (!res.Start(range ? 206 : 200, h, length) || req.method == "HEAD") return;
  if ((*reader)->SendTo([&res](int fd, uint64_t off, uint64_t k) { return res.WriteFile(fd, off, k); })) return;
  std::string buf(1 << 20, '\0');
  for (;;) {
    long long k = (*reader)->Read(buf.data(), buf.size());
    if (k <= 0) return;
    if (!res.Write(std::string_view(buf.data(), static_cast<size_t>(k)))) return;
  }
}

// What a signed upload URL will become once its bytes are in.
struct Pending {
  enum class Kind { kArtifact, kCache } kind = Kind::kArtifact;
  int64_t run_id = 0;
  std::string name;  // artifact name or cache key
  std::string scope, version;
  int retention_days = 0;
  int64_t expires_s = 0;
  std::optional<blob::BlobInfo> blob;  // set when the upload completed
};

class Results {
 public:
  Results(ArtifactsHost& host, std::unique_ptr<blob::CacheService> cache)
      : host_(host),
        cache_(std::move(cache)),
        blocks_(host.blobs(), host.ctx().options.data_dir + "/artifact-index/blocks") {}

  blob::CacheService& cache() { return *cache_; }

  void Twirp(http::Request& req, http::Response& res) {
    auto slash = req.rest.rfind('/');
    std::string method = slash == std::string::npos ? req.rest : req.rest.substr(slash + 1);
    std::string service = req.path.substr(0, req.path.size() - req.rest.size());
    if (req.method != "POST") return TwirpError(res, 405, "bad_route", "Twirp methods are POST");
    auto run = TokenRun(host_, req);
    if (!run) return TwirpError(res, 401, "unauthenticated", "a valid ACTIONS_RUNTIME_TOKEN is required");
    auto text = req.ReadAll(kMaxTwirpBody);
    if (!text.ok()) return TwirpError(res, 400, "invalid_argument", "body: " + text.error());
    auto msg = ParseTwirpRequest(*text);
    if (!msg.ok()) return TwirpError(res, 400, "malformed", msg.error());
    if (EndsWith(service, ".ArtifactService")) return Artifact(req, res, method, *msg, *run);
    if (EndsWith(service, ".CacheService")) return Cache(req, res, method, *msg, *run);
    TwirpError(res, 404, "bad_route", "no such service");
  }

  void Artifact(http::Request& req, http::Response& res, const std::string& method, const TwirpRequest& m,
                int64_t run) {
    if (!m.run_backend_id.empty() && m.run_backend_id != std::to_string(run)) {
      return TwirpError(res, 403, "permission_denied", "workflow_run_backend_id is not this token's run");
    }
    auto& store = host_.artifacts();
    if (method == "ListArtifacts") {
      json list = json::array();
      for (const auto& a : store.List(run)) {
        if (m.name_filter && *m.name_filter != a.name) continue;
        if (m.id_filter && *m.id_filter != a.id) continue;
        list.push_back({{"workflow_run_backend_id", std::to_string(run)},
                        {"workflow_job_run_backend_id", std::to_string(run)},
                        {"database_id", std::to_string(a.id)},
                        {"name", a.name},
                        {"size", std::to_string(a.size)},
                        {"created_at", Rfc3339(a.created_ms)},
                        {"digest", a.digest}});
      }
      return TwirpOk(res, {{"artifacts", list}});
    }
    if (auto st = blob::CheckArtifactName(m.name); !st.ok())
      return TwirpError(res, 400, "invalid_argument", st.message());
    if (method == "CreateArtifact") {
      if (store.Find(run, m.name)) {
        return TwirpError(res, 409, "already_exists", "artifact '" + m.name + "' exists in this run");
      }
      Pending p;
      p.run_id = run;
      p.name = m.name;
      if (m.expires_at_s) p.retention_days = static_cast<int>((*m.expires_at_s - NowS() + 86399) / 86400);
      std::string url = NewUpload(req, std::move(p));
      return TwirpOk(res, {{"ok", true}, {"signed_upload_url", url}});
    }
    if (method == "FinalizeArtifact") {
      auto p = TakeCompleted(Pending::Kind::kArtifact, run, m.name);
      if (!p) return TwirpError(res, 404, "not_found", "no completed upload for artifact '" + m.name + "'");
      if (m.size && *m.size != p->blob->size) {
        return TwirpError(
            res, 400, "invalid_argument",
            "size " + std::to_string(*m.size) + " but " + std::to_string(p->blob->size) + " bytes arrived");
      }
      if (m.hash && !m.hash->empty() && *m.hash != p->blob->digest) {
        return TwirpError(res, 400, "invalid_argument", "hash " + *m.hash + " but the upload is " + p->blob->digest);
      }
      auto a = host_.RecordZip(run, m.name, *p->blob, p->retention_days);
      if (!a.ok()) return TwirpError(res, 400, "invalid_argument", a.error());
      return TwirpOk(res, {{"ok", true}, {"artifact_id", std::to_string(a->id)}});
    }
    auto a = store.Find(run, m.name);
    if (!a) return TwirpError(res, 404, "not_found", "no artifact '" + m.name + "' in this run");
    if (method == "GetSignedArtifactURL") return TwirpOk(res, {{"signed_url", DownloadUrl(req, a->digest)}});
    if (method == "DeleteArtifact") {
      auto gone = store.Remove(run, m.name);
      if (!gone.ok()) return TwirpError(res, 500, "internal", gone.error());
      return TwirpOk(res, {{"ok", true}, {"artifact_id", std::to_string(a->id)}});
    }
    TwirpError(res, 404, "bad_route", "no method " + method);
  }

  void Cache(http::Request& req, http::Response& res, const std::string& method, const TwirpRequest& m, int64_t run) {
    auto scopes = ScopesOf(host_, run);
    if (!scopes) return TwirpError(res, 404, "not_found", "the token's run no longer exists");
    if (auto st = CheckCacheKey(m.key); !st.ok()) return TwirpError(res, 400, "invalid_argument", st.message());
    if (m.version.empty() || m.version.size() > 512) {
      return TwirpError(res, 400, "invalid_argument", "version: 1 to 512 characters expected");
    }
    auto& index = cache_->index();
    if (method == "GetCacheEntryDownloadURL") {
      for (const auto& k : m.restore_keys) {
        if (auto st = CheckCacheKey(k); !st.ok()) return TwirpError(res, 400, "invalid_argument", st.message());
      }
      auto hit = index.Restore(*scopes, m.key, m.restore_keys, m.version, NowS());
      if (!hit) return TwirpOk(res, {{"ok", false}});
      return TwirpOk(res,
                     {{"ok", true}, {"signed_download_url", DownloadUrl(req, hit->digest)}, {"matched_key", hit->key}});
    }
    if (method == "CreateCacheEntry") {
      for (const auto& e : index.List(scopes->front())) {
        if (e.key == m.key && e.version == m.version) {
          return TwirpError(res, 409, "already_exists", "cache entry '" + m.key + "' exists (caches are immutable)");
        }
      }
      Pending p;
      p.kind = Pending::Kind::kCache;
      p.run_id = run;
      p.name = m.key;
      p.scope = scopes->front();
      p.version = m.version;
      return TwirpOk(res, {{"ok", true}, {"signed_upload_url", NewUpload(req, std::move(p))}});
    }
    if (method == "FinalizeCacheEntryUpload") {
      auto p = TakeCompleted(Pending::Kind::kCache, run, m.key, m.version);
      if (!p) return TwirpError(res, 404, "not_found", "no completed upload for cache key '" + m.key + "'");
      if (m.size && *m.size != p->blob->size) {
        return TwirpError(
            res, 400, "invalid_argument",
            "size_bytes " + std::to_string(*m.size) + " but " + std::to_string(p->blob->size) + " arrived");
      }
      blob::CacheEntry e;
      e.scope = p->scope;
      e.key = p->name;
      e.version = p->version;
      e.digest = p->blob->digest;
      e.size = p->blob->size;
      if (auto st = index.Save(e, NowS()); !st.ok()) return TwirpError(res, 409, "already_exists", st.message());
      return TwirpOk(res, {{"ok", true}, {"entry_id", std::to_string(++entries_)}});
    }
    TwirpError(res, 404, "bad_route", "no method " + method);
  }

  // PUT /_gantry/uploads/<id>?se=&sig=[&comp=block&blockid=|&comp=blocklist]
  void Upload(http::Request& req, http::Response& res) {
    std::string id = req.rest.empty() ? "" : req.rest.substr(1);
    if (req.method != "PUT") return AzureError(res, 405, "UnsupportedHttpVerb", "uploads take PUT");
    if (!CheckSignature(req, "PUT " + id))
      return AzureError(res, 403, "AuthenticationFailed", "bad or expired signature");
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(id);
      if (it == pending_.end() || it->second.blob) {
        return AzureError(res, 404, "BlobNotFound", "no such upload (finished or never created)");
      }
    }
    std::string comp = req.QueryParam("comp").value_or("");
    blob::ReadFn read = [&req](char* b, size_t n) { return req.ReadBody(b, n); };
    Result<blob::BlobInfo> done = Result<blob::BlobInfo>::Error("unset");
    if (comp == "block") {
      auto st = blocks_.StageBlock(id, req.QueryParam("blockid").value_or(""), read);
      if (!st.ok()) return AzureError(res, 400, "InvalidInput", st.message());
      return res.Send(201, "application/xml", "");
    } else if (comp == "blocklist") {
      auto body = req.ReadAll(blob::BlockLimits().max_list_bytes);
      if (!body.ok()) return AzureError(res, 413, "RequestBodyTooLarge", body.error());
      auto ids = blob::ParseBlockList(*body);
      if (!ids.ok()) return AzureError(res, 400, "InvalidXmlDocument", ids.error());
      done = blocks_.CommitBlockList(id, *ids);
    } else if (comp.empty()) {
      if (!EqualsIgnoreCase(req.Header("x-ms-blob-type"), "BlockBlob")) {
        return AzureError(res, 400, "InvalidHeaderValue", "x-ms-blob-type: BlockBlob is required");
      }
      done = blocks_.PutWhole(read);
    } else {
      return AzureError(res, 400, "InvalidQueryParameterValue", "comp must be block or blocklist");
    }
    if (!done.ok()) return AzureError(res, 400, "InvalidBlockList", done.error());
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(id);
      if (it != pending_.end()) it->second.blob = *done;
    }
    res.Send(201, "application/xml", "", {{"x-ms-request-server-encrypted", "false"}});
  }

  // GET|HEAD /_gantry/blobs/<digest>?se=&sig= with Range or x-ms-range.
  void Download(http::Request& req, http::Response& res) {
    std::string digest = req.rest.empty() ? "" : req.rest.substr(1);
    if (!blob::IsValidDigest(digest)) return AzureError(res, 404, "BlobNotFound", "no such blob");
    if (!CheckSignature(req, "GET " + digest))
      return AzureError(res, 403, "AuthenticationFailed", "bad or expired signature");
    ServeBlob(host_.blobs(), digest, req, res);
  }

 private:
  void AzureError(http::Response& res, int status, const char* code, const std::string& msg) {
    std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + std::string(code) +
                      "</Code><Message>" + XmlEscape(msg) + "</Message></Error>";
    res.Send(status, "application/xml", xml, {{"x-ms-error-code", code}});
  }

  std::string Signed(const http::Request& req, const std::string& path, const std::string& what) {
    int64_t exp = NowS() + kUrlLifetimeS;
    return host_.ctx().base_url + path + "?se=" + std::to_string(exp) +
           "&sig=" + host_.Sign(what + " " + std::to_string(exp));
  }

  bool CheckSignature(const http::Request& req, const std::string& what) {
    std::string se = req.QueryParam("se").value_or(""), sig = req.QueryParam("sig").value_or("");
    if (se.empty() || se.size() > 12 || se.find_first_not_of("0123456789") != std::string::npos) return false;
    if (std::stoll(se) < NowS()) return false;
    return ConstantTimeEquals(host_.Sign(what + " " + se), sig);
  }

  std::string DownloadUrl(const http::Request& req, const std::string& digest) {
    return Signed(req, "/_gantry/blobs/" + digest, "GET " + digest);
  }

  std::string NewUpload(const http::Request& req, Pending p) {
    std::string id = RandomId();
    p.expires_s = NowS() + kUrlLifetimeS;
    std::lock_guard<std::mutex> lock(mu_);
    // Abandoned uploads expire with their URL; their staged blocks go with them.
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.expires_s < NowS()) {
        blocks_.Discard(it->first);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    pending_[id] = std::move(p);
    return Signed(req, "/_gantry/uploads/" + id, "PUT " + id);
  }

  std::optional<Pending> TakeCompleted(Pending::Kind kind, int64_t run, const std::string& name,
                                       const std::string& version = "") {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      const Pending& p = it->second;
      if (p.kind != kind || p.run_id != run || p.name != name || p.version != version || !p.blob) continue;
      Pending out = p;
      pending_.erase(it);
      return out;
    }
    return std::nullopt;
  }

  ArtifactsHost& host_;
  std::unique_ptr<blob::CacheService> cache_;
  blob::BlockUploads blocks_;
  std::mutex mu_;
  std::map<std::string, Pending> pending_;
  std::atomic<int64_t> entries_{0};
};

}  // namespace

void MountResults(ArtifactsHost& host, http::Router& router) {
  blob::CacheServiceOptions co;
  co.data_dir = host.ctx().options.data_dir + "/artifact-index/cache";
  co.scopes = [&host](const http::Request& req) -> std::optional<std::vector<std::string>> {
    auto run = TokenRun(host, req);
    // v1 clients fetch archiveLocation without credentials (on GitHub it is a SAS URL): a
    // blob is named by its sha256, which only runs that looked the entry up have seen.
    if (!run && (req.method == "GET" || req.method == "HEAD") && req.path.find("/blobs/sha256:") != std::string::npos) {
      return std::vector<std::string>{"download"};
    }
    if (!run) return std::nullopt;
    return ScopesOf(host, *run);
  };
  auto cache = blob::CacheService::Open(host.blobs(), co);
  if (!cache.ok()) {
    std::fprintf(stderr, "gantry server: the cache service is off: %s\n", cache.error().c_str());
    return;
  }
  auto r = std::make_shared<Results>(host, std::move(*cache));
  router.Mount("", "/twirp/github.actions.results.api.v1.ArtifactService",
               [r](http::Request& q, http::Response& s) { r->Twirp(q, s); });
  router.Mount("", "/twirp/github.actions.results.api.v1.CacheService",
               [r](http::Request& q, http::Response& s) { r->Twirp(q, s); });
  router.Mount("", "/_gantry/uploads", [r](http::Request& q, http::Response& s) { r->Upload(q, s); });
  router.Mount("", "/_gantry/blobs", [r](http::Request& q, http::Response& s) { r->Download(q, s); });
  router.Mount("", "/_apis/artifactcache", [r](http::Request& q, http::Response& s) { r->cache().Serve(q, s); });
}

}  // namespace gantry::server
