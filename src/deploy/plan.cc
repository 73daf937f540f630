#include "deploy/plan.h"

#include <map>

#include "deploy/autoscaler.h"

namespace gantry::deploy {

std::vector<PlanChange> PlanEnvironment(Controller& controller, Target& target, const ProjectConfig& config,
                                        const std::string& env) {
  std::vector<PlanChange> out;
  std::map<std::string, ServiceRecord> running;
  for (auto& s : controller.Services())
    if (s.environment == env) running[s.service] = s;
  for (const auto& [name, spec] : config.services) {
    int declared = spec.instances;
    if (const auto* e = config.FindEnvironment(env))
      if (auto it = e->instances.find(name); it != e->instances.end()) declared = it->second;
    auto it = running.find(name);
    // Declared, or with autoscaling the autoscaler's choice within [min, max].
    const int want =
        EffectiveInstances(declared, spec.autoscaling, it == running.end() ? 0 : it->second.autoscaling.desired);
    const std::string scaled = spec.autoscaling.enabled ? " (autoscaled, " + std::to_string(spec.autoscaling.min) +
                                                              ".." + std::to_string(spec.autoscaling.max) + ")"
                                                        : "";
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
                         rec.stable_revision + scaled});
    else
      out.push_back(
          {' ', name, name + ": " + std::to_string(have) + " x " + rec.stable_revision + scaled + " (no changes)"});
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
