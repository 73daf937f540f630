// `gantry plan`: what differs between the services a config declares for an environment and
// what runs there, as readable lines (+ to deploy first, ~ to change, - to stop, ' ' no
// change). Shared by the CLI (local data dir) and the server (/api/v1/plan).
#pragma once

#include <string>
#include <vector>

#include "deploy/config.h"
#include "deploy/controller.h"
#include "deploy/target.h"

namespace gantry::deploy {

struct PlanChange {
  char mark = ' ';  // '+', '~', '-', ' '
  std::string service;
  std::string text;
};

std::vector<PlanChange> PlanEnvironment(Controller& controller, Target& target, const ProjectConfig& config,
                                        const std::string& env);
// How many changes `apply` would make (the '~' and '-' lines).
int PendingChanges(const std::vector<PlanChange>& plan);

}  // namespace gantry::deploy
