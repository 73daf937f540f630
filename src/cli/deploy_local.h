// Shared by the deployment commands: opens the declared config (`-f DIR`, default .gantry)
// and the local data dir (`--data DIR`, default $GANTRY_DATA or .gantry-data) with a
// controller over the local fleet. Standalone mode has no load balancer: instance health
// alone decides; the server wires the same controller to its load balancer.
#pragma once

#include <memory>
#include <string>

#include "deploy/controller.h"
#include "deploy/local_fleet.h"

namespace CLI {
class App;
}

namespace gantry::cli {

struct DeployFlags {
  std::string config_dir = ".gantry";
  std::string data_dir;
  std::string env = "staging";
};
void AddDeployFlags(CLI::App& app, DeployFlags* flags, bool with_env = true);

struct LocalDeploy {
  deploy::ProjectConfig config;
  std::unique_ptr<deploy::StateStore> store;
  std::unique_ptr<deploy::LocalFleet> fleet;
  std::unique_ptr<deploy::Controller> controller;
};
// Prints the error (file:line:col for config errors) and returns null on failure.
std::unique_ptr<LocalDeploy> OpenLocalDeploy(const DeployFlags& flags);

// Ticks deployment `id` until it settles, printing new events; returns the exit code
// (0 succeeded, paused or waiting for approval; 1 failed, rolled back, aborted, rejected).
int WaitAndReport(LocalDeploy& local, long long id);

}  // namespace gantry::cli
