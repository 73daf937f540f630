// Server mode of the deployment commands: with --server URL (or $GANTRY_URL when no local
// --data / $GANTRY_DATA is given) deploy, promote, abort, rollback, approve, status and
// history call the server's API (/api/v1/deployments, /api/v1/services, docs/api.md) with
// --token / $GANTRY_TOKEN, and wait for the outcome by polling it.
#pragma once

#include <string>

#include "cli/client.h"
#include "cli/deploy_local.h"

namespace gantry::cli {

struct RemoteFlags {
  ClientFlags client;
  std::string project;      // deploy: the hosted project (default: the only one, or the last deployed)
  bool until_done = false;  // keep waiting while it waits for approval or promotion
};
void AddRemoteFlags(CLI::App& app, RemoteFlags* flags, bool with_project = false);
// Whether this invocation talks to a server rather than the local data dir.
bool UseServer(const RemoteFlags& remote, const DeployFlags& local);

// The command's outcome as an exit code (0 succeeded / paused / waiting for approval).
int RemoteDeploy(const RemoteFlags& f, const std::string& service, const std::string& env, const std::string& revision,
                 const std::string& branch, const std::string& strategy, bool wait);
// action: promote (body {"full"}), abort, approve (body {"approve"}), rollback (body {"to"}).
int RemoteAct(const RemoteFlags& f, const std::string& action, const std::string& service, const std::string& env,
              const nlohmann::json& body, bool wait);
int RemoteStatus(const RemoteFlags& f, const std::string& service, const std::string& env);
// gantry approve --run RUN (approve_run.cc): decide on the run's jobs waiting for environment
// `env` ("" = the only one waiting), or with `list` print what waits and every decision.
int RemoteRunApproval(const ClientFlags& client, long long run, const std::string& env, bool reject,
                      const std::string& comment, bool list);
int RemoteHistory(const RemoteFlags& f, const std::string& service, const std::string& env, bool events);

}  // namespace gantry::cli
