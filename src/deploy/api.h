// The deployment API over HTTP, for the server to mount (Router::Mount("", "/api/v1/", ...)
// or the two prefixes below). JSON in and out; errors as {"error": "..."} with 400 (bad
// input), 404 (unknown), 409 (refused by the state of the deployment).
//   GET  /api/v1/deployments?service=S&environment=E      history (newest last)
//   GET  /api/v1/deployments/ID
//   POST /api/v1/deployments  {"service","environment","revision"|"ref","branch"?,"strategy"?,"project"?}
//   GET  /api/v1/services/S/E                              status: stable revision, instances
//   POST /api/v1/services/S/E/promote {"full"?} | abort | rollback {"to"?} | approve {"user","approve"?}
// The server runs Controller::Tick on its own thread; these calls only record intent.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "base/http.h"
#include "deploy/controller.h"

namespace gantry::deploy {

inline constexpr uint64_t kMaxApiBodyBytes = 64 * 1024;

struct DeployApiOptions {
  // Called before a deployment is created with the body's string fields: may resolve the
  // revision (a git ref to a commit, with that commit's config) or refuse with an error.
  std::function<Status(const std::map<std::string, std::string>& body, DeployRequest* request)> prepare;
  // Who acts (approve, reject): when set it replaces the body's "user" (the token's name).
  std::string user;
};

http::Handler MakeDeployApi(Controller* controller, DeployApiOptions options = {});

}  // namespace gantry::deploy
