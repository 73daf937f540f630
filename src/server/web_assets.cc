#include "server/web_assets.h"

namespace gantry::server {

const WebAsset* FindWebAsset(std::string_view path) {
  for (const auto& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

void ServeDashboard(http::Request& req, http::Response& res) {
  if (req.method != "GET") {
    res.Send(405, "text/plain", "method not allowed\n", {{"Allow", "GET"}});
    return;
  }
  std::string path = "/" + req.rest;
  const WebAsset* asset = FindWebAsset(path);
  if (asset == nullptr || path == "/") asset = FindWebAsset("/index.html");
  if (asset == nullptr) {
    res.Send(404, "text/plain", "the dashboard was not built into this binary\n");
    return;
  }
  http::Headers headers = {
      {"Content-Type", std::string(asset->content_type)},
      {"ETag", std::string(asset->etag)},
      {"Cache-Control", "no-cache"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
  };
  if (req.Header("If-None-Match") == asset->etag) {
    res.Start(304, headers, 0);
    res.Finish();
    return;
  }
  res.Start(200, headers, asset->data.size());
  res.Write(asset->data);
  res.Finish();
}

}  // namespace gantry::server
