#include "deploy/plan.h"

#include <map>

namespace gantry::deploy {

std::vector<PlanChange> PlanEnvironment(Controller& controller, Target& target, const ProjectConfig& config,
                                        const std::string& env) {
  std::vector<PlanChange> out;
  std::map<std::string, ServiceRecord> running;
  for (auto& s : controller.Services())
    if (s.environment == env) running[s.service] = s;
  for (const auto& [name, spec] : config.services) {
    int want = spec.instances;
    if (const auto* e = config.FindEnvironment(env))
      if (auto it = e->instances.find(name); it != e->instances.end()) want = it->second;
    auto it = running.find(name);
    if (it == running.end() || it->second.stable_revision.empty()) {
      out.push_back({'+', name,
                     name + ": " + std::to_string(want) + " instance(s), " + spec.strategy.type +
                         "; not deployed yet (gantry deploy " + name + " --env " + env + " --revision REV)"});
      continue;
    }
    const auto& rec = it->second;
    const int have = static_cast<int>(target.List(name + "." + env + "." + rec.stable_slot).size());
    if (have != want)
      out.push_back({'~', name,
                     name + ": instances " + std::to_string(have) + " -> " + std::to_string(want) + " of " +
                         rec.stable_revision});
    else
      out.push_back({' ', name, name + ": " + std::to_string(have) + " x " + rec.stable_revision + " (no changes)"});
    if (rec.active_deployment)
      out.push_back({' ', name, "  deployment " + std::to_string(rec.active_deployment) + " is active"});
  }
  for (const auto& [name, rec] : running)
    if (!config.services.count(name))
      out.push_back({'-', name, name + ": no longer declared; its instances will be stopped"});
  return out;
}

int PendingChanges(const std::vector<PlanChange>& plan) {
  int n = 0;
  for (const auto& c : plan) n += c.mark == '~' || c.mark == '-';
  return n;
}

}  // namespace gantry::deploy
