#include "server/server.h"

#include <filesystem>

#include "base/fs.h"
#include "base/http_server.h"
#include "server/context.h"
#include "server/executor.h"
#include "server/mirror.h"
#include "server/platform.h"
#include "server/web_assets.h"
#include "store/store.h"

namespace gantry::server {

struct CiServer::Impl {
  ServerOptions options;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<RunQueue> queue;
  http::Router router;
  std::unique_ptr<http::Server> http;
  Context ctx;
  std::string initial_token;
  std::unique_ptr<Platform> platform;
  std::unique_ptr<MirrorPoller> mirrors;
  bool started = false;
};

CiServer::~CiServer() { Stop(); }

Result<std::unique_ptr<CiServer>> CiServer::Create(ServerOptions options) {
  using R = Result<std::unique_ptr<CiServer>>;
  std::unique_ptr<CiServer> s(new CiServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& m = *s->impl_;
  m.options = std::move(options);
  // Steps run in other directories: every path derived from the data dir must be absolute.
  std::error_code ec;
  m.options.data_dir = std::filesystem::absolute(m.options.data_dir, ec).lexically_normal().string();
  while (m.options.data_dir.size() > 1 && m.options.data_dir.back() == '/') m.options.data_dir.pop_back();
  if (auto st = MakeDirs(m.options.data_dir + "/git"); !st.ok()) return R::Error(st.message());
  auto store = store::Store::Open(m.options.data_dir, m.options.database);
  if (!store.ok()) return R::Error(store.error());
  m.store = std::move(*store);
  auto count = m.store->CountTokens();
  if (!count.ok()) return R::Error(count.error());
  if (!m.options.admin_token.empty()) {
    auto known = m.store->FindToken(m.options.admin_token);
    if (known.ok() && !known->has_value()) {
      if (auto st = m.store->AddToken("admin (GANTRY_ADMIN_TOKEN)", store::Role::kAdmin, m.options.admin_token);
          !st.ok()) {
        return R::Error(st.message());
      }
    }
  } else if (*count == 0) {
    auto token = m.store->CreateToken("admin", store::Role::kAdmin);
    if (!token.ok()) return R::Error(token.error());
    m.initial_token = *token;
  }
  http::ServerOptions ho;
  ho.listen = m.options.listen;
  ho.stop_grace_ms = m.options.stop_grace_ms;
  ho.max_body_bytes = 2ull << 30;  // git pushes; API handlers apply their own smaller limits
  m.http = std::make_unique<http::Server>(ho);
  return s;
}

http::Router& CiServer::router() { return impl_->router; }
store::Store& CiServer::store() { return *impl_->store; }
const std::string& CiServer::initial_admin_token() const { return impl_->initial_token; }
int CiServer::port() const { return impl_->http->port(); }
std::string CiServer::url() const { return impl_->ctx.base_url; }

Status CiServer::Start() {
  Impl& m = *impl_;
  QueueOptions qo;
  qo.data_dir = m.options.data_dir;
  qo.slots = m.options.executors;
  qo.retention_days = m.options.retention_days;
  qo.approval_timeout_ms = m.options.approval_timeout_s * 1000;
  qo.approval_poll = std::chrono::milliseconds(m.options.approval_poll_ms);
  m.queue = std::make_unique<RunQueue>(*m.store, qo);
  m.ctx.options = m.options;
  m.ctx.store = m.store.get();
  m.ctx.queue = m.queue.get();
  m.mirrors = std::make_unique<MirrorPoller>(m.ctx);
  m.ctx.mirrors = m.mirrors.get();
  // Crash policy first, before anything can look at or add runs.
  m.queue->RecoverInterrupted();
  MountApi(m.ctx, m.router);
  MountGit(m.ctx, m.router);
  MountWebhooks(m.ctx, m.router);
  MountSession(m.ctx, m.router);
  auto platform = OpenPlatform(m.ctx, m.router);
  if (!platform.ok()) return Status::Error(platform.error());
  m.platform = std::move(*platform);
  m.router.Mount("GET", "/", ServeDashboard);
  if (!m.options.public_url.empty()) m.ctx.base_url = m.options.public_url;
  if (auto st = m.http->Start(m.router.AsHandler()); !st.ok()) return st;
  if (m.ctx.base_url.empty()) m.ctx.base_url = "http://" + m.http->address();
  m.queue->set_server_url(m.ctx.base_url);
  m.queue->Start(m.options.schedule_interval_s);
  m.mirrors->Start();
  m.started = true;
  return Status::Ok();
}

void CiServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.http->Stop();
  m.mirrors->Stop();
  m.queue->Stop(m.options.stop_grace_ms);
  m.platform.reset();
}

}  // namespace gantry::server
