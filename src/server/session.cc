// Browser sessions for the dashboard: POST /api/v1/session exchanges an API token for an
// HttpOnly, SameSite=Strict cookie (so EventSource streams authenticate too); GET tells who
// is signed in; DELETE signs out. Requests authenticated by the cookie must also carry the
// X-Gantry-CSRF header when they change anything (see Authorize in api.cc): a cross-site
// form cannot send it, and the server answers no CORS preflight.
#include "base/http_server.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/json_body.h"

namespace gantry::server {

std::string SessionCookieToken(const http::Request& req) {
  for (const auto& h : req.headers) {
    if (!EqualsIgnoreCase(h.name, "Cookie")) continue;
    for (const auto& part : Split(h.value, ';')) {
      std::string_view kv = Trim(part);
      if (StartsWith(kv, "gantry_session=")) return std::string(kv.substr(15));
    }
  }
  return {};
}

namespace {

constexpr const char* kCookieAttrs = "; Path=/; HttpOnly; SameSite=Strict";

void Session(Context& ctx, http::Request& req, http::Response& res) {
  if (!req.rest.empty()) return SendError(res, 404, "no such API endpoint: /api/v1/session/" + req.rest);
  if (req.method == "GET") {
    auto who = Authorize(ctx, req, res, store::Role::kViewer);
    if (!who) return;
    return SendJson(res, 200, nlohmann::json{{"name", who->name}, {"role", store::RoleName(who->role)}}.dump());
  }
  if (req.method == "DELETE") {
    res.Send(200, "application/json", "{\"ok\":true}\n",
             {{"Set-Cookie", std::string("gantry_session=") + kCookieAttrs + "; Max-Age=0"}});
    return;
  }
  if (req.method != "POST") return SendError(res, 405, "use GET, POST or DELETE");
  if (req.Header("X-Gantry-CSRF").empty()) return SendError(res, 403, "send the X-Gantry-CSRF header");
  auto raw = req.ReadAll(kMaxJsonBody);
  if (!raw.ok()) return SendError(res, 413, raw.error());
  auto body = ParseJsonBody(*raw);
  if (!body.ok()) return SendError(res, 400, body.error());
  auto token = StringField(*body, "token");
  if (!token.ok() || token->empty()) return SendError(res, 400, "body: need 'token'");
  if (token->find_first_of(";, \t\r\n\"") != std::string::npos) return SendError(res, 401, "invalid token");
  auto info = ctx.store->FindToken(*token);
  if (!info.ok()) return SendError(res, 503, info.error());
  if (!info->has_value()) return SendError(res, 401, "invalid token");
  res.Send(200, "application/json",
           nlohmann::json{{"name", (*info)->name}, {"role", store::RoleName((*info)->role)}}.dump() + "\n",
           {{"Set-Cookie", "gantry_session=" + *token + kCookieAttrs}});
}

}  // namespace

void MountSession(Context& ctx, http::Router& router) {
  router.Mount("", "/api/v1/session", [&ctx](http::Request& req, http::Response& res) { Session(ctx, req, res); });
}

}  // namespace gantry::server
