// Autoscaling in the controller: measuring services, deciding (deploy/autoscaler.h) and
// applying decisions as "scale" deployments of the stable revision, which reuse the rolling
// reconcile: new instances join the group once healthy; removed ones are deregistered and
// drained for deregistration_delay before they stop. Being deployments, they are stored
// before every step and resumed after a restart; a deployment asked for meanwhile supersedes
// one (controller.cc, Deploy).
#include <algorithm>
#include <set>

#include "deploy/controller_impl.h"

namespace gantry::deploy {
namespace {

class Scale : public Strategy {
 public:
  void Step(DeployContext& ctx) override {
    Deployment& d = ctx.deployment();
    if (d.phase == "rollback") {
      // Back to the count before (instances that did not get healthy are stopped).
      ctx.service().autoscaling.desired = d.scale_from;
      const int n = ctx.desired_instances();
      if (RollingReconcile(ctx, d.to_slot, d.revision, n, std::max(n, 1), 0))
        ctx.Finish(d.abort_requested ? DeploymentState::kAborted : DeploymentState::kRolledBack, d.to_slot, d.revision);
      return;
    }
    if (d.phase == "start") {
      d.phase = "scaling";
      d.phase_started_ms = 0;
      ctx.Persist();
    }
    // Surge of the whole difference, nothing unavailable: a scale-out starts every new
    // instance at once, a scale-in drains the surplus while the rest keeps serving.
    const int n = ctx.desired_instances();
    if (RollingReconcile(ctx, d.to_slot, d.revision, n, std::max(n, 1), 0))
      ctx.Finish(DeploymentState::kSucceeded, d.to_slot, d.revision);
  }
};

struct Registrar {
  Registrar() { RegisterStrategy(kScaleStrategy, std::make_unique<Scale>()); }
} registrar;

}  // namespace

Result<Deployment> Controller::Impl::StartScale(ServiceRecord& s, int from, int to, const std::string& why) {
  const long long now = WallMs();
  const std::string what = std::string(to > from ? "scale out " : "scale in ") + std::to_string(from) + " -> " +
                           std::to_string(to) + ": " + why;
  auto id = opt.store->NextId("deployment");
  if (!id.ok()) return id.status();
  Deployment d;
  d.id = *id;
  d.service = s.service;
  d.environment = s.environment;
  d.revision = d.from_revision = s.stable_revision;
  d.strategy = kScaleStrategy;
  d.from_slot = d.to_slot = s.stable_slot;
  d.registered = s.targets[ServiceKey(s.service, s.environment) + "." + s.stable_slot];
  d.scale_from = from;
  d.scale_to = to;
  d.created_ms = now;
  d.events.push_back({now, what});
  SaveDeployment(d);
  s.autoscaling.desired = to;
  (to > from ? s.autoscaling.last_scale_out_ms : s.autoscaling.last_scale_in_ms) = now;
  s.autoscaling.last_event = what;
  s.autoscaling.last_event_ms = now;
  s.active_deployment = d.id;
  SaveService(s);
  fprintf(stderr, "gantry: autoscaling %s in %s: %s (deployment %lld)\n", s.service.c_str(), s.environment.c_str(),
          what.c_str(), d.id);
  Notify(d, "scaling");
  return d;
}

std::vector<std::string> Controller::Autoscale(ScalingMetrics* metrics) {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> events;
  if (metrics == nullptr) return events;
  bool any = false;  // the server calls this every tick: nothing to read when nothing scales
  for (const auto& [name, spec] : impl_->config.services) any |= spec.autoscaling.enabled;
  if (!any) return events;
  const long long now = WallMs();
  for (auto& s : Services()) {
    auto it = impl_->config.services.find(s.service);
    if (it == impl_->config.services.end() || !it->second.autoscaling.enabled || s.stable_revision.empty()) continue;
    const ServiceSpec& spec = it->second;
    const AutoscalingSpec& as = spec.autoscaling;
    const std::string key = ServiceKey(s.service, s.environment);
    long long& next = impl_->scale_next_ms[key];
    if (now < next) continue;
    next = now + as.interval_ms;

    const std::string group = key + "." + s.stable_slot;
    std::vector<Instance> instances;
    for (auto& i : impl_->opt.target->List(group))
      if (i.group == group) instances.push_back(std::move(i));
    // Serving: registered targets the router finds healthy (instance health without a router).
    int serving = 0;
    if (impl_->opt.router) {
      const auto& registered = s.targets[group];
      const std::set<std::string> in_group(registered.begin(), registered.end());
      for (const auto& h : impl_->opt.router->Health(group)) serving += h.healthy && in_group.count(h.address);
    } else {
      for (const auto& i : instances) serving += i.health == InstanceHealth::kHealthy;
    }
    const ScalingSample sample = metrics->Measure(group, instances, serving, now);

    ScalingInput in;
    in.current = s.autoscaling.desired > 0 ? s.autoscaling.desired : impl_->Desired(spec, s.environment, nullptr);
    if (as.target_cpu_percent > 0) in.metrics.push_back({"cpu", sample.cpu_percent, double(as.target_cpu_percent)});
    if (as.target_requests_per_instance > 0)
      in.metrics.push_back({"requests", sample.requests_per_second, double(as.target_requests_per_instance)});
    in.min = as.min;
    in.max = as.max;
    in.last_scale_out_ms = s.autoscaling.last_scale_out_ms;
    in.last_scale_in_ms = s.autoscaling.last_scale_in_ms;
    in.scale_out_cooldown_ms = as.cooldown_ms;
    in.scale_in_cooldown_ms = as.scale_in_cooldown_ms >= 0 ? as.scale_in_cooldown_ms : as.cooldown_ms;
    in.deployment_active = s.active_deployment != 0;
    in.now_ms = now;
    const ScalingDecision decision = DecideScale(in);
    impl_->scale_measurement[key] = decision.reason;
    if (decision.desired == in.current) {
      if (s.autoscaling.desired == 0 && !in.deployment_active) {  // the starting point, persisted
        s.autoscaling.desired = in.current;
        impl_->SaveService(s);
      }
      continue;
    }
    auto d = impl_->StartScale(s, in.current, decision.desired, decision.reason);
    if (!d.ok()) {
      fprintf(stderr, "gantry: autoscaling %s: %s\n", key.c_str(), d.error().c_str());
      continue;
    }
    events.push_back(key + ": " + d->events.front().message + " (deployment " + std::to_string(d->id) + ")");
  }
  return events;
}

AutoscalingStatus Controller::GetAutoscaling(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  AutoscalingStatus st;
  auto it = impl_->config.services.find(service);
  if (it == impl_->config.services.end()) return st;
  const AutoscalingSpec& as = it->second.autoscaling;
  st.enabled = as.enabled;
  auto s = impl_->LoadService(service, env);
  st.desired = impl_->Desired(it->second, env, s.ok() ? &*s : nullptr);
  if (!as.enabled) return st;
  st.min = ScalingMin(as);
  st.max = std::max(as.max, st.min);
  st.target_cpu_percent = as.target_cpu_percent;
  st.target_requests_per_instance = as.target_requests_per_instance;
  if (auto m = impl_->scale_measurement.find(ServiceKey(service, env)); m != impl_->scale_measurement.end())
    st.measurement = m->second;
  return st;
}

int Controller::DesiredInstances(const std::string& service, const std::string& env) {
  return GetAutoscaling(service, env).desired;
}

}  // namespace gantry::deploy
