// Shared by the commands that talk to a server (projects, runs, logs, trigger, cancel,
// rerun, project): --url / GANTRY_URL, --token / GANTRY_TOKEN, JSON calls, exit codes
// (3 when the server cannot be reached or refuses the token).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/http_client.h"
#include "cli/cli_util.h"

namespace gantry::cli {

struct ClientFlags {
  std::string url;
  std::string token;
  void Add(CLI::App& app);
  // The server's base URL without a trailing '/'.
  std::string BaseUrl() const;
};

struct ApiResult {
  int exit_code = kExitOk;  // kExitOk when the call got a 2xx answer
  int status = 0;
  nlohmann::json body;
};

// Calls the API (`path` under /api/v1) and prints the error on failure as
// "gantry <command>: message".
ApiResult CallApi(const ClientFlags& flags, const char* command, const std::string& method, const std::string& path,
                  const nlohmann::json* body = nullptr);

}  // namespace gantry::cli
