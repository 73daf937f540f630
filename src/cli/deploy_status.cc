// gantry status | history: what runs for a service in an environment, and its deployments.
#include <ctime>

#include "cli/cli_util.h"
#include "cli/deploy_local.h"
#include "cli/deploy_remote.h"

namespace gantry::cli {
namespace {

std::string When(long long ms) {
  if (ms == 0) return "-";
  time_t t = ms / 1000;
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", gmtime(&t));
  return buf;
}

int Status(int argc, char** argv) {
  CLI::App app{"Show the stable revision, instances, autoscaling and active deployment of a service"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  std::string service;
  app.add_option("service", service, "service name")->required();
  RemoteFlags remote;
  AddRemoteFlags(app, &remote);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (UseServer(remote, flags)) return RemoteStatus(remote, service, flags.env);
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  auto st = local->controller->GetStatus(service, flags.env);
  if (!st.ok()) {
    fprintf(stderr, "gantry: %s\n", st.error().c_str());
    return kExitFailed;
  }
  const auto& r = st->record;
  printf("%s in %s: stable %s (group %s.%s.%s)\n", service.c_str(), flags.env.c_str(),
         r.stable_revision.empty() ? "(none)" : r.stable_revision.c_str(), service.c_str(), flags.env.c_str(),
         r.stable_slot.c_str());
  for (const auto& [group, w] : r.weights) printf("  weight %-24s %d\n", group.c_str(), w);
  printf("  %-44s %-10s %-22s %-10s %s\n", "INSTANCE", "REVISION", "ADDRESS", "HEALTH", "RESTARTS");
  for (const auto& i : st->instances)
    printf("  %-44s %-10s %-22s %-10s %d\n", i.id.c_str(), i.revision.c_str(), i.address.c_str(),
           deploy::InstanceHealthName(i.health), i.restarts);
  if (const auto& a = st->autoscaling; a.enabled) {
    std::string targets;
    if (a.target_cpu_percent) targets += "CPU " + std::to_string(a.target_cpu_percent) + "%";
    if (a.target_requests_per_instance)
      targets += (targets.empty() ? "" : ", ") + std::to_string(a.target_requests_per_instance) + " requests/s";
    printf("autoscaling: %d instance(s) desired (min %d, max %d; target %s per instance)\n", a.desired, a.min, a.max,
           targets.c_str());
    if (!a.measurement.empty()) printf("  measured: %s\n", a.measurement.c_str());
    if (!r.autoscaling.last_event.empty())
      printf("  last scaling: %s  %s\n", When(r.autoscaling.last_event_ms).c_str(), r.autoscaling.last_event.c_str());
  }
  if (!st->active_summary.empty()) printf("active: %s\n", st->active_summary.c_str());
  return kExitOk;
}

int History(int argc, char** argv) {
  CLI::App app{"List the deployments of a service, newest last"};
  DeployFlags flags;
  AddDeployFlags(app, &flags);
  std::string service;
  bool events = false;
  app.add_option("service", service, "service name")->required();
  app.add_flag("-v,--events", events, "print each deployment's events");
  RemoteFlags remote;
  AddRemoteFlags(app, &remote);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (UseServer(remote, flags)) return RemoteHistory(remote, service, flags.env, events);
  auto local = OpenLocalDeploy(flags);
  if (!local) return kExitUsage;
  printf("%-5s %-20s %-12s %-12s %-12s %-14s %s\n", "ID", "STARTED", "REVISION", "FROM", "STRATEGY", "STATE", "REASON");
  for (const auto& d : local->controller->History(service, flags.env)) {
    printf("%-5lld %-20s %-12s %-12s %-12s %-14s %s\n", d.id, When(d.created_ms).c_str(), d.revision.c_str(),
           d.from_revision.empty() ? "-" : d.from_revision.c_str(), d.strategy.c_str(),
           deploy::DeploymentStateName(d.state),
           // a scale operation says what it did ("scale out 1 -> 3: ...") in its first event
           d.reason.empty() && d.strategy == "scale" && !d.events.empty() ? d.events[0].message.c_str()
                                                                          : d.reason.c_str());
    if (events)
      for (const auto& e : d.events) printf("      %s  %s\n", When(e.at_ms).c_str(), e.message.c_str());
  }
  return kExitOk;
}

}  // namespace

GANTRY_COMMAND("status", "Show what runs for a service in an environment", Status);
GANTRY_COMMAND("history", "List the deployments of a service", History);

}  // namespace gantry::cli
