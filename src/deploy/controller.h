// The deployment controller: starts deployments, advances them through their strategy one
// Tick at a time, and answers promote / abort / rollback / approve / status / history.
// The CLI drives it in-process against a data dir; the server runs Tick on a background
// thread and exposes the same methods over HTTP (deploy/api.h). Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "deploy/autoscaler.h"
#include "deploy/config.h"
#include "deploy/deployment.h"
#include "deploy/image_rootfs.h"
#include "deploy/router.h"
#include "deploy/state_store.h"
#include "deploy/target.h"

namespace gantry::deploy {

struct ControllerOptions {
  StateStore* store = nullptr;      // required
  Target* target = nullptr;         // required
  TrafficRouter* router = nullptr;  // optional: without one, instance health alone decides
  AlarmSource* alarms = nullptr;    // optional
  std::string project_dir;          // bundle paths in the config are relative to this
  // When set, the project directory of one revision (the server checks out each deployed
  // commit into a directory of its own); project_dir is used otherwise.
  std::function<std::string(const std::string& revision)> revision_dir;
  // When set, the load balancer rule of a service in an environment (the server gives every
  // environment a host of its own); the service's `listener` otherwise.
  std::function<ListenerSpec(const ServiceSpec& spec, const std::string& environment)> route_listener;
  // Deployment notifications (started, succeeded, rolled back, approval requested).
  std::function<void(const Deployment&, const std::string& event)> notify;
  // When set, resolves a service's `image:` into an unpacked root filesystem (the server
  // wires an ImageUnpacker over its registry); services with an image fail without it.
  std::function<Result<ImageRootfs>(const std::string& image)> resolve_image;
  // A new instance that is not healthy within this time fails the deployment.
  long long start_timeout_ms = 120'000;
};

struct DeployRequest {
  std::string service, environment, revision;
  std::string branch;    // checked against the environment's allowed branches
  std::string strategy;  // empty: the service's
  bool is_rollback = false;
  // Approvals given before the deployment exists (a server run's job that was approved for
  // this environment, docs/server.md): enough of them and it does not wait again.
  std::vector<std::string> approved_by;
};

// Autoscaling of a service in an environment, for status displays.
struct AutoscalingStatus {
  bool enabled = false;
  int desired = 0;  // the count deployments and scale operations run to
  int min = 0, max = 0;
  int target_cpu_percent = 0, target_requests_per_instance = 0;
  std::string measurement;  // the last measurement and what it decided ("" before the first)
};

struct ServiceStatus {
  ServiceRecord record;  // record.autoscaling: the last scaling event and its reason
  AutoscalingStatus autoscaling;
  std::vector<Instance> instances;
  std::vector<TargetHealth> health;  // from the router, for both groups
  std::string active_summary;        // empty when no deployment is active
};

class Controller {
 public:
  explicit Controller(ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void SetConfig(ProjectConfig config);
  // Re-creates routes and re-applies targets and weights from the store (after a restart).
  Status Restore();

  Result<Deployment> Deploy(const DeployRequest& request);
  Status Promote(const std::string& service, const std::string& env, bool full);
  Status Abort(const std::string& service, const std::string& env);
  // Deploys an earlier revision (the previous stable one without `to`) as a rollback; an
  // active deployment is aborted instead (all traffic back to stable at once). `why` goes
  // into the deployment's events.
  Result<Deployment> Rollback(const std::string& service, const std::string& env, const std::string& to,
                              const std::string& why = "manual rollback");
  Status Approve(const std::string& service, const std::string& env, const std::string& user, bool approve);

  Result<Deployment> Get(long long id);
  Result<Deployment> Active(const std::string& service, const std::string& env);
  std::vector<Deployment> History(const std::string& service, const std::string& env);
  Result<ServiceStatus> GetStatus(const std::string& service, const std::string& env);
  std::vector<ServiceRecord> Services();

  // Scales the stable revision of every declared service to its declared instance count
  // (what `gantry apply` converges); returns what it changed.
  Result<std::vector<std::string>> Converge(const std::string& env);
  // Stops every instance of a service in an environment and forgets it.
  Status Destroy(const std::string& service, const std::string& env);

  // Advances every active deployment; true while any is running (not waiting for a person).
  bool Tick();
  // Target tracking of services with `autoscaling`: measures each (every
  // autoscaling.interval) and, when the decision changes the count, starts a "scale"
  // deployment of the stable revision (new instances get traffic once healthy; removed ones
  // are deregistered and drained before they stop). Returns the scaling events it started.
  std::vector<std::string> Autoscale(ScalingMetrics* metrics);
  AutoscalingStatus GetAutoscaling(const std::string& service, const std::string& env);
  // The count a deployment of `service` in `env` runs (declared, or autoscaled).
  int DesiredInstances(const std::string& service, const std::string& env);
  // Ticks until deployment `id` is terminal, paused or waiting for approval.
  Result<Deployment> RunUntilSettled(long long id, const std::function<bool()>& cancelled = {});

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::deploy
