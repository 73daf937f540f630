// gantry plan | apply: compare the services declared in .gantry/*.yml with what runs in an
// environment, and converge (scale stable revisions, stop services no longer declared).
// New services need a first `gantry deploy` with a revision; plan says so.
#include <map>

#include "cli/cli_util.h"
#include "cli/deploy_local.h"

namespace gantry::cli {
namespace {

struct Change {
  char mark;  // '+', '~', '-', ' '
  std::string text;
};

std::vector<Change> Diff(LocalDeploy& local, const std::string& env) {
  std::vector<Change> out;
  std::map<std::string, deploy::ServiceRecord> running;
  for (auto& s : local.controller->Services())
    if (s.environment == env) running[s.service] = s;
  for (const auto& [name, spec] : local.config.services) {
    const int want = local.controller->DesiredInstances(name, env);  // declared, or autoscaled
    auto it = running.find(name);
    if (it == running.end() || it->second.stable_revision.empty()) {
      out.push_back({'+', name + ": " + std::to_string(want) + " instance(s), " + spec.strategy.type +
                              "; not deployed yet (gantry deploy " + name + " --env " + env + " --revision REV)"});
      continue;
    }
    const auto& rec = it->second;
    int have = 0;
    have = static_cast<int>(local.fleet->List(name + "." + env + "." + rec.stable_slot).size());
    const std::string scaled = spec.autoscaling.enabled ? " (autoscaled, " + std::to_string(spec.autoscaling.min) +
                                                              ".." + std::to_string(spec.autoscaling.max) + ")"
                                                        : "";
    if (have != want)
      out.push_back({'~', name + ": instances " + std::to_string(have) + " -> " + std::to_string(want) + " of " +
                              rec.stable_revision + scaled});
    else
      out.push_back({' ', name + ": " + std::to_string(have) + " x " + rec.stable_revision + scaled + " (no changes)"});
    if (rec.active_deployment)
      out.push_back({' ', "  deployment " + std::to_string(rec.active_deployment) + " is active"});
  }
  for (const auto& [name, rec] : running)
    if (!local.config.services.count(name))
      out.push_back({'-', name + ": no longer declared; its instances will be stopped"});
  return out;
}

int PlanOrApply(int argc, char** argv, bool apply) {
  CLI::App app{apply ? "Converge an environment to the declared services"
                     : "Show the difference between the declared services and what runs"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  if (!local->config.environments.empty() && !local->config.FindEnvironment(flags.env)) {
    fprintf(stderr, "gantry: environment '%s' is not declared\n", flags.env.c_str());
    return kExitUsage;
  }
  const auto changes = Diff(*local, flags.env);
  int pending = 0;
  printf("environment %s:\n", flags.env.c_str());
  for (const auto& c : changes) {
    printf("%c %s\n", c.mark, c.text.c_str());
    pending += c.mark == '~' || c.mark == '-';
  }
  if (!apply) {
    printf("%d change(s) to apply\n", pending);
    return kExitOk;
  }
  auto done = local->controller->Converge(flags.env);
  if (!done.ok()) {
    fprintf(stderr, "gantry: %s\n", done.error().c_str());
    return kExitFailed;
  }
  int rc = kExitOk;
  for (const auto& s : local->controller->Services())
    if (s.environment == flags.env && s.active_deployment)
      rc = std::max(rc, WaitAndReport(*local, s.active_deployment));
  printf("%zu change(s) applied\n", done->size());
  return rc;
}

int Plan(int argc, char** argv) { return PlanOrApply(argc, argv, false); }
int Apply(int argc, char** argv) { return PlanOrApply(argc, argv, true); }

}  // namespace

GANTRY_COMMAND("plan", "Show how the declared services differ from what runs", Plan);
GANTRY_COMMAND("apply", "Converge to the declared services", Apply);

}  // namespace gantry::cli
