// gantry plan | apply: compare the services declared in .gantry/*.yml with what runs in an
// environment, and converge (scale stable revisions, stop services no longer declared).
// New services need a first `gantry deploy` with a revision; plan says so. With --server (or
// $GANTRY_URL) the server compares the config of a project's ref (--ref, default the branch
// HEAD of the project) with what it runs, and applies it (/api/v1/plan, /api/v1/apply).
#include "deploy/plan.h"

#include "cli/cli_util.h"
#include "cli/deploy_local.h"
#include "cli/deploy_remote.h"

namespace gantry::cli {
namespace {

void PrintPlan(const std::string& env, const std::vector<deploy::PlanChange>& changes) {
  printf("environment %s:\n", env.c_str());
  for (const auto& c : changes) printf("%c %s\n", c.mark, c.text.c_str());
}

int RemotePlanOrApply(const RemoteFlags& remote, const std::string& env, const std::string& ref, bool apply) {
  nlohmann::json body = {{"environment", env}};
  if (!remote.project.empty()) body["project"] = remote.project;
  if (!ref.empty()) body["ref"] = ref;
  auto r = CallApi(remote.client, apply ? "apply" : "plan", "POST", apply ? "apply" : "plan", &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  std::vector<deploy::PlanChange> changes;
  for (const auto& c : r.body.value("changes", nlohmann::json::array())) {
    const std::string mark = c.value("mark", " ");
    changes.push_back({mark.empty() ? ' ' : mark[0], c.value("service", ""), c.value("text", "")});
  }
  printf("project %s at %s\n", r.body.value("project", "").c_str(), r.body.value("revision", "").c_str());
  PrintPlan(env, changes);
  if (!apply) {
    printf("%d change(s) to apply\n", deploy::PendingChanges(changes));
    return kExitOk;
  }
  const auto applied = r.body.value("applied", nlohmann::json::array());
  for (const auto& a : applied) printf("  %s\n", a.get<std::string>().c_str());
  printf("%zu change(s) applied (deployments continue on the server: gantry status SERVICE --env %s)\n", applied.size(),
         env.c_str());
  return kExitOk;
}

int PlanOrApply(int argc, char** argv, bool apply) {
  CLI::App app{apply ? "Converge an environment to the declared services"
                     : "Show the difference between the declared services and what runs"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  RemoteFlags remote;
  AddRemoteFlags(app, &remote);
  std::string ref;
  app.add_option("--project", remote.project, "server mode: the hosted project (default: the only one)");
  app.add_option("--ref", ref,
                 "server mode: the git ref or commit whose .gantry config to use (default: the project's HEAD)");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (UseServer(remote, flags)) return RemotePlanOrApply(remote, flags.env, ref, apply);
  if (!ref.empty()) {
    fprintf(stderr, "gantry: --ref needs a server (--server URL or $GANTRY_URL)\n");
    return kExitUsage;
  }
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  if (!local->config.environments.empty() && !local->config.FindEnvironment(flags.env)) {
    fprintf(stderr, "gantry: environment '%s' is not declared\n", flags.env.c_str());
    return kExitUsage;
  }
  const auto changes = deploy::PlanEnvironment(*local->controller, *local->fleet, local->config, flags.env);
  PrintPlan(flags.env, changes);
  if (!apply) {
    printf("%d change(s) to apply\n", deploy::PendingChanges(changes));
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
