// Shared state and helpers of the server's handlers (api.cc, git_http.cc, webhooks.cc).
#pragma once

#include <optional>
#include <string>

#include "base/http.h"
#include "server/executor.h"
#include "server/server.h"
#include "store/store.h"

namespace gantry::http {
class Router;
}

namespace gantry::server {

class MirrorPoller;

struct Context {
  ServerOptions options;
  store::Store* store = nullptr;
  RunQueue* queue = nullptr;
  MirrorPoller* mirrors = nullptr;  // remote mirrors (mirror.h); null in tools without polling
  std::string base_url;             // "http://127.0.0.1:8080"
  http::Handler run_artifacts;      // /api/v1/runs/ID/artifacts... (server/artifacts.h)
};

// Request size limits for JSON bodies and webhooks.
inline constexpr uint64_t kMaxJsonBody = 1u << 20;
inline constexpr uint64_t kMaxWebhookBody = 5u << 20;

void SendJson(http::Response& res, int status, const std::string& json);
void SendError(http::Response& res, int status, const std::string& message);

// Authenticates `Authorization: Bearer <token>` (or Basic with the token as password) and
// checks the role; answers 401/403 itself and returns nullopt when refused.
std::optional<store::TokenInfo> Authorize(Context& ctx, http::Request& req, http::Response& res, store::Role need);

void MountApi(Context& ctx, http::Router& router);
// Dashboard sessions (session.cc): the cookie's token, and /api/v1/session.
std::string SessionCookieToken(const http::Request& req);
void MountSession(Context& ctx, http::Router& router);
void MountGit(Context& ctx, http::Router& router);
void MountWebhooks(Context& ctx, http::Router& router);

// Verifies a webhook and extracts a push (exposed for tests and the fuzz target).
struct WebhookPush {
  std::string ref, before, after;
};
struct WebhookResult {
  int status = 200;  // 200 accepted, 202 ignored event, 400 malformed, 401 bad signature
  std::string reason;
  std::optional<WebhookPush> push;
};
WebhookResult ParseWebhook(const http::Headers& headers, const std::string& body, const std::string& secret);

}  // namespace gantry::server
