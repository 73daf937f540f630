// `gantry server`: the CI server. Wires the store, the run queue (executor.h), the REST API
// under /api/v1 (api.cc, docs/api.md), git smart HTTP under /git/<project>.git (git_http.cc)
// and webhooks (webhooks.cc) behind one base/http_server. Other parts (registry, dashboard,
// metrics) mount their handlers on router() before Start().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/http.h"
#include "base/status.h"

namespace gantry::http {
class Router;
}
namespace gantry::store {
class Store;
}

namespace gantry::server {

struct ServerOptions {
  std::string data_dir = "gantry-data";
  std::string listen = "127.0.0.1:8080";
  std::string database;                       // "" = SQLite in data_dir; "postgres://..."
  int executors = 2;                          // runs at once
  std::string admin_token;                    // GANTRY_ADMIN_TOKEN: registered as an admin token on start
  std::string public_url;                     // base URL shown in git URLs; default http://<listen>
  int schedule_interval_s = 30;               // how often `schedule:` crons are checked
  int stop_grace_ms = 10000;                  // SIGTERM: running steps may finish for this long
  int retention_days = 0;                     // completed runs older than this are deleted (0 = keep all)
  std::string lb_listen = "127.0.0.1:8081";   // where deployed services are reached (docs/deploy.md)
  int64_t approval_timeout_s = 30LL * 86400;  // a job waiting for approvals fails after this
  int approval_poll_ms = 1000;                // how often waiting jobs look for decisions
};

class RunQueue;

class CiServer {
 public:
  static Result<std::unique_ptr<CiServer>> Create(ServerOptions options);
  ~CiServer();

  http::Router& router();
  // Marks interrupted runs (crash policy), starts the executors and the HTTP listener.
  Status Start();
  // Stops accepting, cancels running runs after the grace period, joins everything.
  void Stop();
  int port() const;
  std::string url() const;
  // The admin token created on first start (empty when tokens existed or one was given).
  const std::string& initial_admin_token() const;
  store::Store& store();

 private:
  CiServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::server
