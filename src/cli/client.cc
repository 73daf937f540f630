#include "cli/client.h"

#include <cstdio>
#include <cstdlib>

namespace gantry::cli {

void ClientFlags::Add(CLI::App& app) {
  app.add_option("--url", url, "server URL (default: $GANTRY_URL, else http://127.0.0.1:8080)");
  app.add_option("--token", token, "API token (default: $GANTRY_TOKEN)");
}

std::string ClientFlags::BaseUrl() const {
  std::string u = url;
  if (u.empty()) {
    const char* env = std::getenv("GANTRY_URL");
    u = env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8080";
  }
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

ApiResult CallApi(const ClientFlags& flags, const char* command, const std::string& method, const std::string& path,
                  const nlohmann::json* body) {
  ApiResult out;
  std::string token = flags.token;
  if (token.empty()) {
    const char* env = std::getenv("GANTRY_TOKEN");
    if (env != nullptr) token = env;
  }
  http::Headers headers = {{"Accept", "application/json"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  if (body != nullptr) headers.push_back({"Content-Type", "application/json"});
  auto req = http::MakeRequest(method, flags.BaseUrl() + "/api/v1/" + path, body ? body->dump() : "", headers);
  req.timeout_ms = 15000;
  auto res = http::Fetch(req);
  if (!res.ok()) {
    std::fprintf(stderr, "gantry %s: server unavailable: %s\n", command, res.error().c_str());
    out.exit_code = kExitUnavailable;
    return out;
  }
  out.status = res->status;
  out.body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) return out;
  std::string message = out.body.is_object() && out.body.contains("error") && out.body["error"].is_string()
                            ? out.body["error"].get<std::string>()
                            : "HTTP " + std::to_string(res->status);
  std::fprintf(stderr, "gantry %s: %s\n", command, message.c_str());
  // Refused credentials count as "refused by the server" (3); other refusals as failures.
  out.exit_code = res->status == 401 || res->status == 403 || res->status >= 500 ? kExitUnavailable
                  : res->status == 400 || res->status == 422                     ? kExitUsage
                                                                                 : kExitFailed;
  return out;
}

}  // namespace gantry::cli
