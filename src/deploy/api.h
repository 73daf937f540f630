// The deployment API over HTTP, for the server to mount (Router::Mount("", "/api/v1/", ...)
// or the two prefixes below). JSON in and out; errors as {"error": "..."} with 400 (bad
// input), 404 (unknown), 409 (refused by the state of the deployment).
//   GET  /api/v1/deployments?service=S&environment=E      history (newest last)
//   GET  /api/v1/deployments/ID
//   POST /api/v1/deployments  {"service","environment","revision","branch"?,"strategy"?}
//   GET  /api/v1/services/S/E                              status: stable revision, instances
//   POST /api/v1/services/S/E/promote {"full"?} | abort | rollback {"to"?} | approve {"user","approve"?}
// The server runs Controller::Tick on its own thread; these calls only record intent.
#pragma once

#include "base/http.h"
#include "deploy/controller.h"

namespace gantry::deploy {

inline constexpr uint64_t kMaxApiBodyBytes = 64 * 1024;

http::Handler MakeDeployApi(Controller* controller);

}  // namespace gantry::deploy
