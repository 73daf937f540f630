#include "cli/deploy_local.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/fs.h"
#include "cli/cli_util.h"

namespace gantry::cli {

void AddDeployFlags(CLI::App& app, DeployFlags* flags, bool with_env) {
  app.add_option("-f,--config", flags->config_dir, "directory of declared services (default .gantry)");
  app.add_option("--data", flags->data_dir, "data dir of the local fleet (default $GANTRY_DATA or .gantry-data)");
  if (with_env) app.add_option("-e,--env", flags->env, "environment (default staging)");
}

std::unique_ptr<LocalDeploy> OpenLocalDeploy(const DeployFlags& flags) {
  auto local = std::make_unique<LocalDeploy>();
  auto config = deploy::ReadConfigDir(flags.config_dir);
  if (!config.ok()) {
    fprintf(stderr, "%s\n", config.error().c_str());
    return nullptr;
  }
  local->config = std::move(*config);
  std::string data = flags.data_dir;
  if (data.empty()) data = getenv("GANTRY_DATA") ? getenv("GANTRY_DATA") : ".gantry-data";
  if (Status st = MakeDirs(data); !st.ok()) {
    fprintf(stderr, "gantry: %s\n", st.message().c_str());
    return nullptr;
  }
  auto store = deploy::OpenSqliteStateStore(data + "/deploy.db");
  if (!store.ok()) {
    fprintf(stderr, "gantry: %s\n", store.error().c_str());
    return nullptr;
  }
  local->store = std::move(store).value();
  auto fleet = deploy::LocalFleet::Open(data);
  if (!fleet.ok()) {
    fprintf(stderr, "gantry: %s\n", fleet.error().c_str());
    return nullptr;
  }
  local->fleet = std::move(fleet).value();
  deploy::ControllerOptions o;
  o.store = local->store.get();
  o.target = local->fleet.get();
  std::error_code ec;
  o.project_dir =
      std::filesystem::absolute(std::filesystem::path(flags.config_dir) / "..", ec).lexically_normal().string();
  if (!o.project_dir.empty() && o.project_dir.back() == '/') o.project_dir.pop_back();
  local->controller = std::make_unique<deploy::Controller>(o);
  local->controller->SetConfig(local->config);
  return local;
}

namespace {
std::atomic<bool> interrupted{false};
void OnSigint(int) { interrupted = true; }
}  // namespace

int WaitAndReport(LocalDeploy& local, long long id) {
  signal(SIGINT, OnSigint);
  size_t printed = 0;
  auto print = [&](const deploy::Deployment& d) {
    for (; printed < d.events.size(); ++printed) printf("  %s\n", d.events[printed].message.c_str());
    fflush(stdout);
  };
  deploy::Deployment last;
  for (;;) {
    auto d = local.controller->Get(id);
    if (!d.ok()) {
      fprintf(stderr, "gantry: %s\n", d.error().c_str());
      return kExitFailed;
    }
    print(*d);
    last = *d;
    if (d->state != deploy::DeploymentState::kRunning) break;
    auto next = local.controller->RunUntilSettled(id, [&] {
      auto cur = local.controller->Get(id);
      if (cur.ok()) print(*cur);
      return interrupted.load();
    });
    if (interrupted) {
      printf("interrupted; the deployment continues with the next gantry command or the server\n");
      return kExitInterrupted;
    }
    if (next.ok() && next->state != deploy::DeploymentState::kRunning) {
      print(*next);
      last = *next;
      break;
    }
  }
  printf("deployment %lld: %s%s\n", last.id, deploy::DeploymentStateName(last.state),
         last.reason.empty() ? "" : (" (" + last.reason + ")").c_str());
  switch (last.state) {
    case deploy::DeploymentState::kSucceeded:
    case deploy::DeploymentState::kPaused:
    case deploy::DeploymentState::kWaitingApproval:
      return kExitOk;
    default:
      return kExitFailed;
  }
}

}  // namespace gantry::cli
