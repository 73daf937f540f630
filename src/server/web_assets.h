// The dashboard's files (web/), embedded into the binary at build time by
// cmake/web_assets.cmake, and the handler that serves them.
#pragma once

#include <string_view>
#include <vector>

#include "base/http.h"

namespace gantry::server {

struct WebAsset {
  std::string_view path;          // "/index.html"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view data;
  std::string_view etag;  // quoted, from the content's sha256
};

const std::vector<WebAsset>& WebAssets();
const WebAsset* FindWebAsset(std::string_view path);

// Serves the dashboard: assets by path (ETag / If-None-Match, no-cache revalidation), every
// other path under the mount answers index.html (the app routes on the client), with a strict
// Content-Security-Policy so that nothing but the embedded scripts can run.
void ServeDashboard(http::Request& req, http::Response& res);

}  // namespace gantry::server
