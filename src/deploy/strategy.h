// Strategies are plugins registered by name ("rolling", "all-at-once", "blue-green",
// "canary"). Each Step() advances one deployment a little and returns; the controller
// persists the record after every Step and calls it again on the next Tick, also after a
// restart, so a Step must be idempotent for a given stored record: it looks at the fleet
// (the source of truth for instances) and at the record, never at memory of earlier calls.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "deploy/config.h"
#include "deploy/deployment.h"
#include "deploy/router.h"
#include "deploy/target.h"

namespace gantry::deploy {

// What a strategy may do; implemented by the controller. Every method that changes routing
// stores the new desired routing state before applying it.
class DeployContext {
 public:
  virtual ~DeployContext() = default;
  virtual Deployment& deployment() = 0;
  virtual ServiceRecord& service() = 0;
  virtual const ServiceSpec& spec() = 0;
  virtual int desired_instances() = 0;
  virtual long long now_ms() = 0;

  virtual std::string Group(const std::string& slot) = 0;  // "web.production.a"
  virtual std::vector<Instance> Instances(const std::string& slot) = 0;
  // Starts `count` instances of `revision` in `slot` (running the install/start hooks).
  virtual Status StartInstances(const std::string& slot, const std::string& revision, int count) = 0;
  // Runs ApplicationStop and stops the instance.
  virtual Status StopInstance(const Instance& instance) = 0;
  // Registers `addresses` as the targets of the slot's group (BeforeAllowTraffic /
  // AfterAllowTraffic hooks run for newly added instances).
  virtual Status SetTargets(const std::string& slot, const std::vector<std::string>& addresses) = 0;
  virtual Status SetWeights(const std::map<std::string, int>& slot_weights) = 0;
  // Whether the router considers the address healthy (instance health without a router).
  // Blue/green preview: route the preview host ("preview." + the service's host) to `slot`
  // alone; an empty slot removes it. A no-op without a router or a listener host.
  virtual Status SetPreview(const std::string& slot) = 0;
  virtual bool Serving(const std::string& slot, const Instance& instance) = 0;
  virtual TrafficRouter* router() = 0;
  virtual AlarmSource* alarms() = 0;
  // Runs ValidateService once per instance; error when a hook failed.
  virtual Status Validate(const Instance& instance) = 0;
  virtual long long start_timeout_ms() = 0;

  virtual void Event(const std::string& message) = 0;
  virtual void Persist() = 0;
  // Marks the deployment failed: the next Step runs the strategy's rollback.
  virtual void Fail(const std::string& reason) = 0;
  // Ends the deployment: success makes `to_slot` with `revision` the stable one.
  virtual void Finish(DeploymentState state, const std::string& stable_slot, const std::string& stable_revision) = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void Step(DeployContext& ctx) = 0;
};

// The registry; built-in strategies register themselves.
void RegisterStrategy(const std::string& name, std::unique_ptr<Strategy> strategy);
Strategy* FindStrategy(const std::string& name);

// Shared building blocks.
std::string OtherSlot(const std::string& slot);
// Brings `slot` to exactly `count` healthy, registered and serving instances of `revision`
// (starting missing ones, stopping other revisions' instances there after draining);
// true when done. Fails the deployment when an instance does not become healthy.
bool EnsureSlot(DeployContext& ctx, const std::string& slot, const std::string& revision, int count);
// Runs the rolling reconcile of `slot` towards `revision`; true when complete.
bool RollingReconcile(DeployContext& ctx, const std::string& slot, const std::string& revision, int count,
                      int max_surge, int max_unavailable);

}  // namespace gantry::deploy
