// gantry deploy | promote | abort | rollback | approve: drive a deployment of one service in
// one environment against the local data dir (docs/deploy.md).
#include "cli/cli_util.h"
#include "cli/deploy_local.h"
#include "cli/deploy_remote.h"

namespace gantry::cli {
namespace {

int Deploy(int argc, char** argv) {
  CLI::App app{"Deploy a revision of a service to an environment and wait for the outcome"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  std::string service, revision, branch, strategy;
  bool no_wait = false;
  app.add_option("service", service, "service name")->required();
  app.add_option("-r,--revision", revision,
                 "revision to deploy (a bundle version; on a server: a git ref or commit of the project); without it, "
                 "resume driving the active "
                 "deployment (after an interrupted or killed command)");
  app.add_option("--branch", branch, "branch the revision was built from (checked against allowed_branches)");
  app.add_option("--strategy", strategy, "override the service's strategy");
  app.add_flag("--no-wait", no_wait, "return once the deployment is recorded");
  RemoteFlags remote;
  AddRemoteFlags(app, &remote, true);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (UseServer(remote, flags)) return RemoteDeploy(remote, service, flags.env, revision, branch, strategy, !no_wait);
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  if (revision.empty()) {
    auto active = local->controller->Active(service, flags.env);
    if (!active.ok()) {
      fprintf(stderr, "gantry: %s (give --revision to start one)\n", active.error().c_str());
      return kExitFailed;
    }
    printf("resuming deployment %lld of %s (%s, phase %s)\n", active->id, active->revision.c_str(),
           deploy::DeploymentStateName(active->state), active->phase.c_str());
    return WaitAndReport(*local, active->id);
  }
  deploy::DeployRequest req;
  req.service = service;
  req.environment = flags.env;
  req.revision = revision;
  req.branch = branch;
  req.strategy = strategy;
  auto d = local->controller->Deploy(req);
  if (!d.ok()) {
    fprintf(stderr, "gantry: %s\n", d.error().c_str());
    return kExitFailed;
  }
  printf("deployment %lld: %s %s to %s\n", d->id, service.c_str(), revision.c_str(), flags.env.c_str());
  if (no_wait) return kExitOk;
  return WaitAndReport(*local, d->id);
}

// promote / abort / approve share: find the active deployment, act, then keep driving it.
int Act(int argc, char** argv, const char* what) {
  const std::string cmd = what;
  CLI::App app{cmd == "promote" ? "Promote a paused deployment (the next canary step, or blue/green switch)"
               : cmd == "abort"
                   ? "Abort the active deployment: all traffic back to the stable revision"
                   : "Approve (or --reject) a deployment waiting for approval, or with --run the jobs of a\n"
                     "server run waiting for a protected environment (docs/server.md):\n"
                     "  gantry approve web --env production        a deployment of service web\n"
                     "  gantry approve --run 42 [--env production] [--reject] [--comment TEXT]\n"
                     "  gantry approve --run 42 --pending          what waits, and every decision"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  std::string service, user = getenv("USER") ? getenv("USER") : "cli";
  bool full = false, reject = false, no_wait = false, pending = false;
  long long run = 0;
  std::string comment;
  auto* service_opt = app.add_option("service", service, "service name");
  if (cmd != "approve") service_opt->required();
  if (cmd == "promote") app.add_flag("--full", full, "skip the remaining steps and promote fully");
  if (cmd == "approve") {
    app.add_flag("--reject", reject, "reject instead of approve");
    app.add_option("--user", user, "who approves (default $USER; on a server: the token's name)");
    app.add_option("--run", run, "a server run: decide on its jobs waiting for --env (default: the one waiting)");
    app.add_option("--comment", comment, "--run: a comment kept with the decision");
    app.add_flag("--pending", pending, "--run: list the waiting jobs and the decisions instead");
  }
  app.add_flag("--no-wait", no_wait, "do not drive the deployment afterwards");
  RemoteFlags remote;
  AddRemoteFlags(app, &remote);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (cmd == "approve" && run > 0) {
    if (!service.empty()) {
      fprintf(stderr, "gantry approve: give a SERVICE or --run, not both\n");
      return kExitUsage;
    }
    const std::string env = app.get_option("--env")->count() > 0 ? flags.env : "";
    return RemoteRunApproval(remote.client, run, env, reject, comment, pending);
  }
  if (service.empty()) {
    fprintf(stderr, "gantry %s: a SERVICE is required (or --run RUN for a run's waiting jobs)\n", cmd.c_str());
    return kExitUsage;
  }
  if (UseServer(remote, flags)) {
    // On a server the approving user is the token's name.
    nlohmann::json body = cmd == "promote"   ? nlohmann::json{{"full", full}}
                          : cmd == "approve" ? nlohmann::json{{"approve", !reject}}
                                             : nlohmann::json::object();
    return RemoteAct(remote, cmd, service, flags.env, body, !no_wait);
  }
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  auto active = local->controller->Active(service, flags.env);
  if (!active.ok()) {
    fprintf(stderr, "gantry: %s\n", active.error().c_str());
    return kExitFailed;
  }
  Status st = cmd == "promote" ? local->controller->Promote(service, flags.env, full)
              : cmd == "abort" ? local->controller->Abort(service, flags.env)
                               : local->controller->Approve(service, flags.env, user, !reject);
  if (!st.ok()) {
    fprintf(stderr, "gantry: %s\n", st.message().c_str());
    return kExitFailed;
  }
  if (no_wait) return kExitOk;
  return WaitAndReport(*local, active->id);
}

int Promote(int argc, char** argv) { return Act(argc, argv, "promote"); }
int Abort(int argc, char** argv) { return Act(argc, argv, "abort"); }
int Approve(int argc, char** argv) { return Act(argc, argv, "approve"); }

int Rollback(int argc, char** argv) {
  CLI::App app{"Roll a service back: abort the active deployment, or deploy an earlier revision"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  std::string service, to;
  app.add_option("service", service, "service name")->required();
  app.add_option("--to", to, "revision to go back to (default: the previous stable one)");
  RemoteFlags remote;
  AddRemoteFlags(app, &remote);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (UseServer(remote, flags)) {
    nlohmann::json body = nlohmann::json::object();
    if (!to.empty()) body["to"] = to;
    return RemoteAct(remote, "rollback", service, flags.env, body, true);
  }
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  auto d = local->controller->Rollback(service, flags.env, to);
  if (!d.ok()) {
    fprintf(stderr, "gantry: %s\n", d.error().c_str());
    return kExitFailed;
  }
  return WaitAndReport(*local, d->id);
}

}  // namespace

GANTRY_COMMAND("deploy", "Deploy a revision of a service (rolling, blue/green, canary)", Deploy);
GANTRY_COMMAND("promote", "Promote a paused deployment", Promote);
GANTRY_COMMAND("abort", "Abort a deployment; traffic back to stable", Abort);
GANTRY_COMMAND("approve", "Approve or reject a deployment, or a run's jobs (--run), waiting for approval", Approve);
GANTRY_COMMAND("rollback", "Roll a service back to an earlier revision", Rollback);

}  // namespace gantry::cli
