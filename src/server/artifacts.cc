#include "server/artifacts.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/base64.h"
#include "base/fs.h"
#include "base/http_server.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "blob/artifact_store.h"
#include "blob/blob_store.h"
#include "blob/zip.h"
#include "runner/store.h"
#include "server/artifacts_host.h"
#include "server/context.h"
#include "server/platform.h"
#include "store/store.h"

namespace gantry::server {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ArtifactJson(const blob::Artifact& a) {
  nlohmann::json j = {{"id", a.id},
                      {"run_id", a.run_id},
                      {"name", a.name},
                      {"digest", a.digest},
                      {"size", a.size},
                      {"created_ms", a.created_ms},
                      {"expires_ms", a.expires_ms}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The built-in artifact actions of one server run: its "artifacts/<run>" space is the
// artifact store; the cache stays in plain directories as under `gantry run`.
class RunActionStore : public runner::ActionStore {
 public:
  RunActionStore(ArtifactsHost& host, int64_t run_id, std::unique_ptr<runner::ActionStore> local)
      : host_(host), run_id_(run_id), space_("artifacts/" + std::to_string(run_id)), local_(std::move(local)) {}

  Status Save(const std::string& space, const std::string& key, const std::string& root,
              const std::vector<std::string>& paths) override {
    return SaveArtifact(space, key, root, paths, 0);
  }
  Status SaveArtifact(const std::string& space, const std::string& key, const std::string& root,
                      const std::vector<std::string>& paths, int retention_days) override {
    if (space != space_) return local_->Save(space, key, root, paths);
    auto a = host_.StoreFiles(run_id_, key, root, paths, retention_days);
    return a.ok() ? Status::Ok() : a.status();
  }
  Result<bool> Restore(const std::string& space, const std::string& key, const std::string& dest) override {
    if (space != space_) return local_->Restore(space, key, dest);
    return host_.Extract(run_id_, key, dest);
  }
  std::vector<std::string> List(const std::string& space, const std::string& prefix) override {
    if (space != space_) return local_->List(space, prefix);
    std::vector<std::string> out;
    for (const auto& a : host_.artifacts().List(run_id_)) {
      if (StartsWith(a.name, prefix)) out.push_back(a.name);
    }
    return out;
  }

 private:
  ArtifactsHost& host_;
  int64_t run_id_;
  std::string space_;
  std::unique_ptr<runner::ActionStore> local_;
};

std::string RandomKey() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  char buf[32] = {};
  in.read(buf, sizeof buf);
  return ToHex(reinterpret_cast<const uint8_t*>(buf), sizeof buf);
}

}  // namespace

ArtifactsHost::ArtifactsHost(Context& ctx, blob::BlobStore& blobs, std::unique_ptr<blob::ArtifactStore> store,
                             std::string key, std::chrono::seconds sweep_every)
    : ctx_(ctx), blobs_(blobs), store_(std::move(store)), key_(std::move(key)) {
  sweeper_ = std::thread([this, sweep_every] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Sweep(NowMs());
      lock.lock();
      cv_.wait_for(lock, sweep_every, [this] { return stopping_; });
    }
  });
}

ArtifactsHost::~ArtifactsHost() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

Result<size_t> ArtifactsHost::Sweep(int64_t now_ms) {
  return store_->Sweep(now_ms, [this](int64_t run_id) {
    auto run = ctx_.store->GetRun(run_id);
    return !run.ok() || run->has_value();  // keep them when the store can't answer
  });
}

int ArtifactsHost::Retention(int requested) const {
  if (requested <= 0 || requested > kMaxRetentionDays) return kMaxRetentionDays;
  return requested;
}

Result<blob::Artifact> ArtifactsHost::CommitZip(int64_t run_id, const std::string& name, const std::string& upload_id,
                                                int retention_days) {
  using R = Result<blob::Artifact>;
  auto info = blobs_.Commit(upload_id, "");
  if (!info.ok()) return R::Error(info.error());
  return RecordZip(run_id, name, *info, retention_days);
}

Result<blob::Artifact> ArtifactsHost::RecordZip(int64_t run_id, const std::string& name, const blob::BlobInfo& info,
                                                int retention_days) {
  using R = Result<blob::Artifact>;
  auto reader = blobs_.Open(info.digest);
  if (!reader.ok()) return R::Error(reader.error());
  blob::ReadFn read = [&r = **reader](char* b, size_t n) { return r.Read(b, n); };
  // An unreferenced blob is freed by the next collection, so a refused zip leaves nothing.
  if (auto sum = blob::CheckZip(read); !sum.ok()) return R::Error(name + ".zip: " + sum.error());
  return store_->Add(run_id, name, info, NowMs(), Retention(retention_days));
}

Result<blob::Artifact> ArtifactsHost::StoreFiles(int64_t run_id, const std::string& name, const std::string& root,
                                                 const std::vector<std::string>& paths, int retention_days) {
  using R = Result<blob::Artifact>;
  if (auto st = blob::CheckArtifactName(name); !st.ok()) return R::Error(st.message());
  auto tmp = MakeTempDir("gantry-artifact");
  if (!tmp.ok()) return R::Error(tmp.error());
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)RemoveAll(dir); }
  } cleanup{*tmp};
  std::string zip = *tmp + "/artifact.zip";
  if (auto st = blob::WriteZip(root, paths, zip); !st.ok()) return R::Error(st.message());
  auto id = blobs_.BeginUpload();
  if (!id.ok()) return R::Error(id.error());
  std::ifstream in(zip, std::ios::binary);
  blob::ReadFn read = [&in](char* b, size_t n) -> long long {
    in.read(b, static_cast<std::streamsize>(n));
    if (in.bad()) return -1;
    return in.gcount();
  };
  if (auto n = blobs_.Append(*id, read, kMaxArtifactBytes); !n.ok()) {
    (void)blobs_.CancelUpload(*id);
    return R::Error(n.error());
  }
  return CommitZip(run_id, name, *id, retention_days);
}

Result<bool> ArtifactsHost::Extract(int64_t run_id, const std::string& name, const std::string& dest) {
  auto a = store_->Find(run_id, name);
  if (!a) return false;
  auto reader = blobs_.Open(a->digest);
  if (!reader.ok()) return Result<bool>::Error(reader.error());
  blob::ReadFn read = [&r = **reader](char* b, size_t n) { return r.Read(b, n); };
  auto sum = blob::ExtractZip(read, dest);
  if (!sum.ok()) return Result<bool>::Error("artifact '" + name + "': " + sum.error());
  return true;
}

RunServices ArtifactsHost::ServicesFor(const store::Run& run) {
  RunServices s;
  s.store =
      std::make_shared<RunActionStore>(*this, run.id, runner::MakeLocalStore(ctx_.options.data_dir + "/artifacts"));
  std::string base = ctx_.base_url + "/";
  // A day is longer than any run may take (timeout-minutes caps jobs at 6 hours by default).
  std::string token = RuntimeToken(run.id, NowMs() / 1000 + 86400);
  s.env = {"ACTIONS_RUNTIME_TOKEN=" + token, "ACTIONS_RESULTS_URL=" + base, "ACTIONS_CACHE_URL=" + base,
           "ACTIONS_CACHE_SERVICE_V2=true"};
  return s;
}

// /api/v1/runs/ID/artifacts[/NAME[/zip]]
void ArtifactsHost::ServeApi(http::Request& req, http::Response& res) {
  auto parts = Split(req.rest, '/');
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  size_t n = parts.size();
  const std::string& m = req.method;
  int64_t run_id = std::stoll(parts[1]);  // api.cc checked it is a number
  bool read = m == "GET" || m == "HEAD";
  if (!Authorize(ctx_, req, res, read ? store::Role::kViewer : store::Role::kOperator)) return;
  auto run = ctx_.store->GetRun(run_id);
  if (!run.ok()) return SendError(res, 503, run.error());
  if (!run->has_value()) return SendError(res, 404, "no run " + parts[1]);
  if (n == 3 && read) {
    std::string out = "{\"artifacts\":[";
    auto list = store_->List(run_id);
    for (size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + ArtifactJson(list[i]);
    return SendJson(res, 200, out + "]}");
  }
  if (n < 4 || n > 5 || (n == 5 && parts[4] != "zip")) return SendError(res, 404, "no such artifact endpoint");
  const std::string& name = parts[3];
  if (auto st = blob::CheckArtifactName(name); !st.ok()) return SendError(res, 400, st.message());
  if (n == 4 && m == "PUT") return Upload(req, res, run_id, name);
  if (n == 4 && m == "DELETE") {
    auto gone = store_->Remove(run_id, name);
    if (!gone.ok()) return SendError(res, 503, gone.error());
    if (!*gone) return SendError(res, 404, "no artifact '" + name + "' in run " + parts[1]);
    return res.Send(204, "application/json", "");
  }
  if (!read) return SendError(res, 405, "method not allowed");
  auto a = store_->Find(run_id, name);
  if (!a) return SendError(res, 404, "no artifact '" + name + "' in run " + parts[1]);
  if (n == 4) return SendJson(res, 200, ArtifactJson(*a));
  auto reader = blobs_.Open(a->digest);
  if (!reader.ok()) return SendError(res, 500, reader.error());
  http::Headers h = {{"Content-Disposition", "attachment; filename=\"" + http::PercentEncode(name) + ".zip\""},
                     {"Content-Type", "application/zip"},
                     {"Docker-Content-Digest", a->digest}};
  if (!res.Start(200, h, a->size) || m == "HEAD") return;
  if ((*reader)->SendTo([&res](int fd, uint64_t off, uint64_t k) { return res.WriteFile(fd, off, k); })) return;
  std::string buf(1 << 20, '\0');
  for (;;) {
    long long k = (*reader)->Read(buf.data(), buf.size());
    if (k <= 0) return;  // a corrupted blob ends the body early: the client sees a short read
    if (!res.Write(std::string_view(buf.data(), static_cast<size_t>(k)))) return;
  }
}

void ArtifactsHost::Upload(http::Request& req, http::Response& res, int64_t run_id, const std::string& name) {
  int days = 0;
  if (auto r = req.QueryParam("retention-days")) {
    if (r->empty() || r->size() > 5 || r->find_first_not_of("0123456789") != std::string::npos) {
      return SendError(res, 400, "retention-days must be a number of days");
    }
    days = std::stoi(*r);
  }
  if (req.content_length && *req.content_length > kMaxArtifactBytes) {
    return SendError(res, 413, "an artifact may be at most " + std::to_string(kMaxArtifactBytes) + " bytes");
  }
  auto id = blobs_.BeginUpload();
  if (!id.ok()) return SendError(res, 503, id.error());
  blob::ReadFn read = [&req](char* b, size_t k) { return req.ReadBody(b, k); };
  if (auto got = blobs_.Append(*id, read, kMaxArtifactBytes); !got.ok()) {
    (void)blobs_.CancelUpload(*id);
    return SendError(res, 400, "upload failed: " + got.error());
  }
  auto a = CommitZip(run_id, name, *id, days);
  if (!a.ok()) return SendError(res, 400, a.error());
  SendJson(res, 201, ArtifactJson(*a));
}

std::string ArtifactsHost::Sign(std::string_view what) const { return HmacSha256Hex(key_, what); }

std::string ArtifactsHost::RuntimeToken(int64_t run_id, int64_t exp_s) const {
  // A JWT (HS256-shaped) because @actions/artifact reads its run ids from the `scp` claim.
  std::string id = std::to_string(run_id);
  std::string header = Base64Url(R"({"alg":"HS256","typ":"JWT"})");
  std::string payload = Base64Url(R"({"scp":"Actions.Results:)" + id + ":" + id + R"(","run":)" + id + R"(,"exp":)" +
                                  std::to_string(exp_s) + "}");
  return header + "." + payload + "." + HmacSha256Hex(key_, "runtime:" + header + "." + payload);
}

std::optional<int64_t> ArtifactsHost::VerifyRuntimeToken(std::string_view token, int64_t now_s) const {
  if (token.size() > 4096) return std::nullopt;
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  std::string signed_part(token.substr(0, b));
  if (!ConstantTimeEquals(HmacSha256Hex(key_, "runtime:" + signed_part), token.substr(b + 1))) return std::nullopt;
  auto payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
  if (!payload) return std::nullopt;
  // We wrote this payload ourselves (the signature holds), so a fixed layout is safe to read.
  auto field = [&](std::string_view name) -> std::optional<int64_t> {
    std::string key = "\"" + std::string(name) + "\":";
    size_t p = payload->find(key);
    if (p == std::string::npos) return std::nullopt;
    return std::stoll(payload->substr(p + key.size()));
  };
  auto run = field("run"), exp = field("exp");
  if (!run || !exp || *exp < now_s) return std::nullopt;
  return run;
}

Status MountArtifacts(Context& ctx, http::Router& router, Platform& platform) {
  std::string dir = ctx.options.data_dir + "/artifact-index";
  auto store = blob::ArtifactStore::Open(*platform.blobs, dir);
  if (!store.ok()) return store.status();
  std::string key_file = dir + "/signing.key";
  auto key = ReadFile(key_file, 1024);
  if (!key.ok() || key->size() < 32) {
    key = RandomKey();
    if (auto st = WriteFileAtomic(key_file, *key); !st.ok()) return st;
    std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  auto host = std::make_unique<ArtifactsHost>(ctx, *platform.blobs, std::move(*store), *key, std::chrono::minutes(10));
  ArtifactsHost* h = host.get();
  ctx.run_artifacts = [h](http::Request& req, http::Response& res) { h->ServeApi(req, res); };
  ctx.queue->set_run_services([h](const store::Run& run) { return h->ServicesFor(run); });
  MountResults(*h, router);
  platform.artifacts = std::move(host);
  return Status::Ok();
}

}  // namespace gantry::server
