// The controller's internals, shared by controller.cc (deployments) and
// controller_scaling.cc (autoscaling). Not for use outside src/deploy.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "deploy/autoscaler.h"
#include "deploy/controller.h"
#include "deploy/strategy.h"

namespace gantry::deploy {

// The strategy of deployments the autoscaler starts (the stable revision, in place, to the
// autoscaled count). A deployment asked for while one runs supersedes it.
inline constexpr const char* kScaleStrategy = "scale";

inline long long WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline std::string ServiceKey(const std::string& service, const std::string& env) { return service + "." + env; }
inline std::string DeploymentKey(long long id) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%012lld", id);
  return buf;
}

struct Controller::Impl {
  ControllerOptions opt;
  std::recursive_mutex mu;
  ProjectConfig config;
  // Autoscaling: when each service is measured next, and what its last measurement said.
  std::map<std::string, long long> scale_next_ms;
  std::map<std::string, std::string> scale_measurement;

  Result<ServiceRecord> LoadService(const std::string& service, const std::string& env) {
    auto json = opt.store->Get("service", ServiceKey(service, env));
    if (!json.ok()) return json.status();
    return ServiceRecordFromJson(*json);
  }
  void SaveService(const ServiceRecord& s) {
    Status st = opt.store->Put("service", ServiceKey(s.service, s.environment), ToJson(s));
    if (!st.ok()) fprintf(stderr, "gantry: %s\n", st.message().c_str());
  }
  Result<Deployment> LoadDeployment(long long id) {
    auto json = opt.store->Get("deployment", DeploymentKey(id));
    if (!json.ok()) return Result<Deployment>::Error("deployment " + std::to_string(id) + " not found");
    return DeploymentFromJson(*json);
  }
  void SaveDeployment(const Deployment& d) {
    Status st = opt.store->Put("deployment", DeploymentKey(d.id), ToJson(d));
    if (!st.ok()) fprintf(stderr, "gantry: %s\n", st.message().c_str());
  }
  // The declared count: the environment's override, else the service's.
  int Declared(const ServiceSpec& spec, const std::string& env) {
    if (const auto* e = config.FindEnvironment(env)) {
      auto it = e->instances.find(spec.name);
      if (it != e->instances.end()) return it->second;
    }
    return spec.instances;
  }
  // What deployments run: the declared count, or with autoscaling the autoscaler's choice
  // (the declared count until it made one), within [min, max].
  int Desired(const ServiceSpec& spec, const std::string& env, const ServiceRecord* s) {
    return EffectiveInstances(Declared(spec, env), spec.autoscaling, s ? s->autoscaling.desired : 0);
  }
  RouteSpec Route(const ServiceSpec& spec, const ServiceRecord& s) {
    RouteSpec r;
    r.name = ServiceKey(s.service, s.environment);
    r.listener = opt.route_listener ? opt.route_listener(spec, s.environment) : spec.listener;
    r.groups = {r.name + "." + s.stable_slot, r.name + "." + OtherSlot(s.stable_slot)};
    r.health = spec.health_check;
    r.deregistration_delay_ms = spec.deregistration_delay_ms;
    return r;
  }
  void Notify(const Deployment& d, const std::string& event) {
    if (opt.notify) opt.notify(d, event);
  }
  Result<Deployment> ActiveLocked(const std::string& service, const std::string& env) {
    auto s = LoadService(service, env);
    if (!s.ok() || s->active_deployment == 0)
      return Result<Deployment>::Error("no active deployment of " + service + " in " + env);
    return LoadDeployment(s->active_deployment);
  }
  bool Step(long long id);
  // Starts a scale deployment of `s`'s stable revision to `to` instances (controller_scaling.cc).
  Result<Deployment> StartScale(ServiceRecord& s, int from, int to, const std::string& why);
};

}  // namespace gantry::deploy
