#include "deploy/controller.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/fs.h"
#include "deploy/controller_impl.h"
#include "deploy/hooks.h"
#include "deploy/strategy.h"

namespace gantry::deploy {

namespace {

// The controller's side of a strategy step.
class Ctx : public DeployContext {
 public:
  Ctx(Controller::Impl* impl, Deployment* d, ServiceRecord* s, const ServiceSpec* spec)
      : impl_(impl), d_(d), s_(s), spec_(spec) {
    const std::string cwd = BundleDir(d_->revision);
    if (!spec_->hooks.empty()) {
      const std::string path = cwd + "/" + spec_->hooks;
      auto text = ReadFile(path, 256 * 1024);
      if (!text.ok())
        hooks_error_ = text.error();
      else if (auto parsed = ParseAppSpec(*text, path); parsed.ok())
        appspec_ = std::move(*parsed);
      else
        hooks_error_ = parsed.error();
    }
  }
  const std::string& hooks_error() const { return hooks_error_; }

  Deployment& deployment() override { return *d_; }
  ServiceRecord& service() override { return *s_; }
  const ServiceSpec& spec() override { return *spec_; }
  int desired_instances() override { return impl_->Desired(*spec_, d_->environment, s_); }
  long long now_ms() override { return WallMs(); }
  std::string Group(const std::string& slot) override { return ServiceKey(d_->service, d_->environment) + "." + slot; }
  std::vector<Instance> Instances(const std::string& slot) override {
    const std::string g = Group(slot);
    std::vector<Instance> out;
    for (auto& i : impl_->opt.target->List(g))
      if (i.group == g) out.push_back(std::move(i));
    return out;
  }
  Status StartInstances(const std::string& slot, const std::string& revision, int count) override {
    InstanceSpec is;
    is.group = Group(slot);
    is.service = d_->service;
    is.environment = d_->environment;
    is.revision = revision;
    is.command = spec_->command;
    is.env = spec_->env;
    is.cwd = BundleDir(revision);
    is.health = spec_->health_check;
    is.sandbox = spec_->sandbox;
    is.memory_limit_bytes = spec_->memory_limit_bytes;
    is.cpu_percent_limit = spec_->cpu_percent_limit;
    if (!spec_->image.empty()) {
      if (!impl_->opt.resolve_image) return Status::Error(d_->service + ": image revisions need `gantry server`");
      auto img = impl_->opt.resolve_image(spec_->image);
      if (!img.ok()) return Status::Error(img.error());
      is.rootfs = img->rootfs;
      is.workdir = img->working_dir;
      is.cwd.clear();
      // The image's Entrypoint + Cmd unless the service gives a command; its Env under the
      // service's env.
      if (is.command.empty()) {
        is.command = img->entrypoint;
        is.command.insert(is.command.end(), img->cmd.begin(), img->cmd.end());
      }
      if (is.command.empty()) return Status::Error(spec_->image + ": the image has no Entrypoint or Cmd; set command");
      std::map<std::string, std::string> env;
      for (const auto& kv : img->env)
        if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
      for (const auto& [k, v] : spec_->env) env[k] = v;
      is.env = std::move(env);
    }
    for (int k = 0; k < count; ++k) {
      for (const char* ev : {"BeforeInstall", "AfterInstall"}) {
        Status st = Hook(ev, "");
        if (!st.ok()) return st;
      }
      auto inst = impl_->opt.target->Start(is);
      if (!inst.ok()) return inst.status();
      Event("started " + inst->id + " (" + revision + ") at " + inst->address);
      Status st = Hook("ApplicationStart", inst->address);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  Status StopInstance(const Instance& instance) override {
    Status hook = Hook("ApplicationStop", instance.address);
    if (!hook.ok()) Event(hook.message() + " (stopping anyway)");
    Event("stopping " + instance.id + " (" + instance.revision + ")");
    return impl_->opt.target->Stop(instance.id);
  }
  Status SetTargets(const std::string& slot, const std::vector<std::string>& addresses) override {
    const std::string g = Group(slot);
    auto& current = s_->targets[g];
    std::set<std::string> before(current.begin(), current.end());
    std::vector<std::string> added;
    for (const auto& a : addresses)
      if (!before.count(a)) added.push_back(a);
    for (const auto& a : added) {
      Status st = Hook("BeforeAllowTraffic", a);
      if (!st.ok()) return st;
    }
    current = addresses;
    impl_->SaveService(*s_);  // stored before the router acts on it
    if (impl_->opt.router) {
      Status st = impl_->opt.router->SetTargets(g, addresses);
      if (!st.ok()) return st;
    }
    for (const auto& a : added) {
      Status st = Hook("AfterAllowTraffic", a);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  Status SetWeights(const std::map<std::string, int>& slot_weights) override {
    std::map<std::string, int> weights;
    for (const auto& [slot, w] : slot_weights) weights[Group(slot)] = w;
    if (weights == s_->weights) return Status::Ok();
    s_->weights = weights;
    impl_->SaveService(*s_);
    return impl_->opt.router ? impl_->opt.router->SetWeights(weights) : Status::Ok();
  }
  Status SetPreview(const std::string& slot) override {
    if (!impl_->opt.router) return Status::Ok();
    ListenerSpec l = impl_->Route(*spec_, *s_).listener;
    if (l.host.empty()) return Status::Ok();
    l.host = "preview." + l.host;
    Status st = impl_->opt.router->SetPreview(l, slot.empty() ? "" : Group(slot));
    if (st.ok())
      Event(slot.empty() ? "preview " + l.host + " removed" : "preview " + l.host + " routes to " + Group(slot));
    return st;
  }
  bool Serving(const std::string& slot, const Instance& instance) override {
    if (instance.health != InstanceHealth::kHealthy) return false;
    if (!impl_->opt.router) return true;
    for (const auto& h : impl_->opt.router->Health(Group(slot)))
      if (h.address == instance.address) return h.healthy;
    return false;
  }
  TrafficRouter* router() override { return impl_->opt.router; }
  AlarmSource* alarms() override { return impl_->opt.alarms; }
  Status Validate(const Instance& instance) override {
    const std::string key = instance.id + ":ValidateService";
    for (const auto& h : d_->hooks_done)
      if (h == key) return Status::Ok();
    Status st = Hook("ValidateService", instance.address);
    if (!st.ok()) return st;
    d_->hooks_done.push_back(key);
    Persist();
    return Status::Ok();
  }
  long long start_timeout_ms() override { return impl_->opt.start_timeout_ms; }
  void Event(const std::string& message) override {
    d_->events.push_back({WallMs(), message});
    if (d_->events.size() > 500) d_->events.erase(d_->events.begin());
    Persist();
  }
  void Persist() override { impl_->SaveDeployment(*d_); }
  void Fail(const std::string& reason) override {
    if (d_->phase == "rollback") {
      d_->reason += "; rollback: " + reason;
      d_->state = DeploymentState::kFailed;
      d_->finished_ms = WallMs();
      Event("rollback failed: " + reason);
      return;
    }
    if (d_->phase == "retire_stable" || d_->phase == "scale_down") {
      // Stable is no longer at full count here; rolling back would route to an
      // under-scaled set, so the failure is reported and a new deployment must fix it.
      Event("failure after promotion (not rolled back): " + reason);
      return;
    }
    d_->reason = reason;
    d_->phase = "rollback";
    d_->state = DeploymentState::kRunning;
    d_->phase_started_ms = 0;
    Event("failed: " + reason + "; rolling back");
  }
  void Finish(DeploymentState state, const std::string& stable_slot, const std::string& stable_revision) override {
    d_->state = state;
    d_->finished_ms = WallMs();
    if (!stable_revision.empty() && stable_revision != s_->stable_revision) {
      if (!s_->stable_revision.empty()) s_->history.push_back(s_->stable_revision);
      if (s_->history.size() > 50) s_->history.erase(s_->history.begin());
      s_->stable_revision = stable_revision;
    }
    s_->stable_slot = stable_slot;
    s_->active_deployment = 0;
    Event(std::string("deployment ") + DeploymentStateName(state) +
          (stable_revision.empty() ? "" : ": " + stable_revision + " is stable"));
    impl_->SaveService(*s_);
    impl_->Notify(*d_, DeploymentStateName(state));
  }

 private:
  std::string BundleDir(const std::string& revision) {
    const std::string root = impl_->opt.revision_dir ? impl_->opt.revision_dir(revision) : impl_->opt.project_dir;
    if (spec_->bundle.empty()) return root;
    if (spec_->bundle[0] == '/') return spec_->bundle;
    return root + "/" + spec_->bundle;
  }
  Status Hook(const char* event, const std::string& address) {
    if (spec_->hooks.empty()) return Status::Ok();
    if (!hooks_error_.empty()) return Status::Error(hooks_error_);
    std::map<std::string, std::string> env = {{"DEPLOYMENT_ID", "d-" + std::to_string(d_->id)},
                                              {"APPLICATION_NAME", d_->service},
                                              {"DEPLOYMENT_GROUP_NAME", d_->environment},
                                              {"DEPLOYMENT_GROUP_ID", ServiceKey(d_->service, d_->environment)},
                                              {"GANTRY_REVISION", d_->revision},
                                              {"GANTRY_INSTANCE_ADDRESS", address}};
    const std::string dir = BundleDir(d_->revision);
    const bool has_dir = !impl_->opt.project_dir.empty() || impl_->opt.revision_dir;
    const std::string log = has_dir ? dir + "/.gantry-hooks.log" : "/dev/null";
    return RunHook(appspec_, event, dir, env, log);
  }

  Controller::Impl* impl_;
  Deployment* d_;
  ServiceRecord* s_;
  const ServiceSpec* spec_;
  AppSpec appspec_;
  std::string hooks_error_;
};

}  // namespace

// One step of one deployment; true while it still runs on its own.
bool Controller::Impl::Step(long long id) {
  auto d = LoadDeployment(id);
  if (!d.ok()) return false;
  auto s = LoadService(d->service, d->environment);
  if (!s.ok()) return false;
  if (d->state != DeploymentState::kRunning && d->state != DeploymentState::kPaused) return false;
  auto it = config.services.find(d->service);
  if (it == config.services.end()) return false;  // not declared (any more): nothing to act on
  Ctx ctx(this, &*d, &*s, &it->second);
  Strategy* strategy = FindStrategy(d->strategy);
  if (strategy == nullptr) {
    ctx.Fail("unknown strategy " + d->strategy);
    return false;
  }
  if (d->abort_requested && d->phase != "rollback") {
    d->reason = d->rollback_reason.empty() ? "aborted" : d->rollback_reason;
    d->phase = "rollback";
    d->state = DeploymentState::kRunning;
    ctx.Persist();
  }
  // A failure inside a step switches to the rollback phase; run it at once so traffic
  // goes back to stable in the same tick.
  for (int round = 0; round < 3; ++round) {
    const std::string phase = d->phase;
    strategy->Step(ctx);
    if (d->phase == phase || d->phase != "rollback") break;
  }
  return d->state == DeploymentState::kRunning;
}

Controller::Controller(ControllerOptions options) : impl_(std::make_unique<Impl>()) { impl_->opt = std::move(options); }
Controller::~Controller() = default;

void Controller::SetConfig(ProjectConfig config) {
  std::lock_guard lock(impl_->mu);
  impl_->config = std::move(config);
}

Status Controller::Restore() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->opt.router) return Status::Ok();
  for (const auto& s : Services()) {
    auto it = impl_->config.services.find(s.service);
    if (it == impl_->config.services.end()) continue;
    Status st = impl_->opt.router->EnsureRoute(impl_->Route(it->second, s));
    if (!st.ok()) return st;
    for (const auto& [group, targets] : s.targets) {
      st = impl_->opt.router->SetTargets(group, targets);
      if (!st.ok()) return st;
    }
    if (!s.weights.empty()) {
      st = impl_->opt.router->SetWeights(s.weights);
      if (!st.ok()) return st;
    }
  }
  return Status::Ok();
}

Result<Deployment> Controller::Deploy(const DeployRequest& req) {
  std::lock_guard lock(impl_->mu);
  auto& cfg = impl_->config;
  auto it = cfg.services.find(req.service);
  if (it == cfg.services.end()) return Result<Deployment>::Error("service '" + req.service + "' is not declared");
  const ServiceSpec& spec = it->second;
  const EnvironmentSpec* env = cfg.FindEnvironment(req.environment);
  if (env == nullptr && !cfg.environments.empty())
    return Result<Deployment>::Error("environment '" + req.environment + "' is not declared");
  if (env && !req.is_rollback && !BranchAllowed(*env, req.branch))
    return Result<Deployment>::Error("branch '" + req.branch + "' may not deploy to " + req.environment);
  if (req.revision.empty()) return Result<Deployment>::Error("a revision is required");
  auto loaded = impl_->LoadService(req.service, req.environment);
  ServiceRecord s;
  if (loaded.ok()) {
    s = std::move(*loaded);
  } else {
    s.service = req.service;
    s.environment = req.environment;
  }
  // A scale operation in progress gives way to the deployment (which runs to the new count).
  std::optional<Deployment> superseded;
  if (s.active_deployment != 0) {
    auto active = impl_->LoadDeployment(s.active_deployment);
    if (active.ok() && !IsTerminal(active->state) && active->strategy == kScaleStrategy)
      superseded = std::move(*active);
    else if (active.ok() && !IsTerminal(active->state))
      return Result<Deployment>::Error("deployment " + std::to_string(active->id) + " of " + req.service + " in " +
                                       req.environment + " is still " + DeploymentStateName(active->state));
  }
  Deployment d;
  auto id = impl_->opt.store->NextId("deployment");
  if (!id.ok()) return id.status();
  d.id = *id;
  d.service = req.service;
  d.environment = req.environment;
  d.revision = req.revision;
  d.from_revision = s.stable_revision;
  d.branch = req.branch;
  d.is_rollback = req.is_rollback;
  d.strategy = req.strategy.empty() ? spec.strategy.type : req.strategy;
  if (FindStrategy(d.strategy) == nullptr) return Result<Deployment>::Error("unknown strategy '" + d.strategy + "'");
  const bool in_place = d.strategy == "rolling" || d.strategy == "all-at-once" || s.stable_revision.empty();
  if (s.stable_revision.empty()) d.strategy = "all-at-once";  // nothing to protect yet
  d.from_slot = s.stable_slot;
  d.to_slot = in_place ? s.stable_slot : OtherSlot(s.stable_slot);
  const std::string to_group = ServiceKey(d.service, d.environment) + "." + d.to_slot;
  d.registered = s.targets[to_group];
  const bool approved_before =
      env && static_cast<int>(req.approved_by.size()) >= env->required_approvals && !req.approved_by.empty();
  d.state = env && env->required_approvals > 0 && !req.is_rollback && !approved_before
                ? DeploymentState::kWaitingApproval
                : DeploymentState::kRunning;
  d.created_ms = WallMs();
  d.events.push_back({d.created_ms, std::string(req.is_rollback ? "rollback" : "deployment") + " of " + d.revision +
                                        " (from " + (d.from_revision.empty() ? "nothing" : d.from_revision) +
                                        ") with " + d.strategy});
  if (approved_before && env->required_approvals > 0 && !req.is_rollback) {
    d.approvals = req.approved_by;
    for (const auto& user : req.approved_by)
      d.events.push_back({d.created_ms, "approved by " + user + " (before it was requested)"});
  }
  if (d.state == DeploymentState::kWaitingApproval)
    d.events.push_back({d.created_ms, "waiting for " + std::to_string(env->required_approvals) + " approval(s)"});
  if (superseded) {
    superseded->state = DeploymentState::kAborted;
    superseded->reason = "superseded by deployment " + std::to_string(d.id);
    superseded->finished_ms = d.created_ms;
    superseded->events.push_back({d.created_ms, superseded->reason});
    impl_->SaveDeployment(*superseded);
    // Instances it was draining keep their stop times (in place); others are left to the
    // deployment's reconcile.
    if (superseded->to_slot == d.to_slot) d.retiring = superseded->retiring;
  }
  impl_->SaveDeployment(d);
  s.active_deployment = d.id;
  impl_->SaveService(s);
  if (impl_->opt.router) {
    Status st = impl_->opt.router->EnsureRoute(impl_->Route(spec, s));
    if (!st.ok()) return st;
  }
  impl_->Notify(d, d.state == DeploymentState::kWaitingApproval ? "approval_requested" : "started");
  return d;
}

Status Controller::Promote(const std::string& service, const std::string& env, bool full) {
  std::lock_guard lock(impl_->mu);
  auto d = impl_->ActiveLocked(service, env);
  if (!d.ok()) return d.status();
  if (d->state == DeploymentState::kWaitingApproval) return Status::Error("deployment is waiting for approval");
  d->promote_requested = true;
  d->full_promote = d->full_promote || full;
  d->events.push_back({WallMs(), full ? "full promotion requested" : "promotion requested"});
  impl_->SaveDeployment(*d);
  return Status::Ok();
}

Status Controller::Abort(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  auto d = impl_->ActiveLocked(service, env);
  if (!d.ok()) return d.status();
  d->abort_requested = true;
  d->events.push_back({WallMs(), "abort requested"});
  if (d->state == DeploymentState::kWaitingApproval) {
    d->state = DeploymentState::kAborted;
    d->finished_ms = WallMs();
    auto s = impl_->LoadService(service, env);
    if (s.ok()) {
      s->active_deployment = 0;
      impl_->SaveService(*s);
    }
  }
  impl_->SaveDeployment(*d);
  if (d->state == DeploymentState::kRunning || d->state == DeploymentState::kPaused) impl_->Step(d->id);
  return Status::Ok();
}

Result<Deployment> Controller::Rollback(const std::string& service, const std::string& env, const std::string& to,
                                        const std::string& why) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->LoadService(service, env);
  if (!s.ok()) return Result<Deployment>::Error(service + " has never been deployed to " + env);
  if (s->active_deployment != 0) {
    auto d = impl_->LoadDeployment(s->active_deployment);
    if (d.ok() && d->strategy == kScaleStrategy) d = Result<Deployment>::Error("");  // superseded by Deploy
    if (d.ok() && !IsTerminal(d->state) && to.empty()) {
      d->abort_requested = true;
      d->rollback_reason = why;
      d->events.push_back({WallMs(), why});
      impl_->SaveDeployment(*d);
      impl_->Step(d->id);
      return impl_->LoadDeployment(d->id);
    }
    if (d.ok() && !IsTerminal(d->state))
      return Result<Deployment>::Error("deployment " + std::to_string(d->id) + " is active; abort it first");
  }
  std::string revision = to;
  if (revision.empty()) {
    if (s->history.empty()) return Result<Deployment>::Error("no earlier revision of " + service + " in " + env);
    revision = s->history.back();
  }
  DeployRequest req;
  req.service = service;
  req.environment = env;
  req.revision = revision;
  req.is_rollback = true;
  return Deploy(req);
}

Status Controller::Approve(const std::string& service, const std::string& env, const std::string& user, bool approve) {
  std::lock_guard lock(impl_->mu);
  auto d = impl_->ActiveLocked(service, env);
  if (!d.ok()) return d.status();
  if (d->state != DeploymentState::kWaitingApproval)
    return Status::Error("deployment " + std::to_string(d->id) + " is not waiting for approval");
  const EnvironmentSpec* e = impl_->config.FindEnvironment(env);
  const int required = e ? e->required_approvals : 0;
  if (!approve) {
    d->state = DeploymentState::kRejected;
    d->finished_ms = WallMs();
    d->events.push_back({WallMs(), "rejected by " + user});
    impl_->SaveDeployment(*d);
    auto s = impl_->LoadService(service, env);
    if (s.ok()) {
      s->active_deployment = 0;
      impl_->SaveService(*s);
    }
    impl_->Notify(*d, "rejected");
    return Status::Ok();
  }
  for (const auto& a : d->approvals)
    if (a == user) return Status::Error(user + " has already approved deployment " + std::to_string(d->id));
  d->approvals.push_back(user);
  d->events.push_back({WallMs(), "approved by " + user});
  if (static_cast<int>(d->approvals.size()) >= required) d->state = DeploymentState::kRunning;
  impl_->SaveDeployment(*d);
  return Status::Ok();
}

Result<Deployment> Controller::Get(long long id) {
  std::lock_guard lock(impl_->mu);
  return impl_->LoadDeployment(id);
}

Result<Deployment> Controller::Active(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  return impl_->ActiveLocked(service, env);
}

std::vector<Deployment> Controller::History(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  std::vector<Deployment> out;
  auto all = impl_->opt.store->List("deployment");
  if (!all.ok()) return out;
  for (const auto& [key, json] : *all) {
    auto d = DeploymentFromJson(json);
    if (d.ok() && d->service == service && (env.empty() || d->environment == env)) out.push_back(std::move(*d));
  }
  return out;
}

std::vector<ServiceRecord> Controller::Services() {
  std::lock_guard lock(impl_->mu);
  std::vector<ServiceRecord> out;
  auto all = impl_->opt.store->List("service");
  if (!all.ok()) return out;
  for (const auto& [key, json] : *all)
    if (auto s = ServiceRecordFromJson(json); s.ok()) out.push_back(std::move(*s));
  return out;
}

Result<ServiceStatus> Controller::GetStatus(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->LoadService(service, env);
  if (!s.ok()) return Result<ServiceStatus>::Error(service + " has never been deployed to " + env);
  ServiceStatus st;
  st.record = *s;
  st.instances = impl_->opt.target->List(ServiceKey(service, env) + ".");
  if (impl_->opt.router)
    for (const char* slot : {"a", "b"})
      for (auto& h : impl_->opt.router->Health(ServiceKey(service, env) + "." + slot)) st.health.push_back(h);
  st.autoscaling = GetAutoscaling(service, env);
  if (s->active_deployment) {
    auto d = impl_->LoadDeployment(s->active_deployment);
    if (d.ok())
      st.active_summary = "deployment " + std::to_string(d->id) + " of " + d->revision + ": " +
                          DeploymentStateName(d->state) + " (" + d->phase + ")" +
                          (d->reason.empty() ? "" : ": " + d->reason);
  }
  return st;
}

Result<std::vector<std::string>> Controller::Converge(const std::string& env) {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> changes;
  for (const auto& [name, spec] : impl_->config.services) {
    auto s = impl_->LoadService(name, env);
    if (!s.ok() || s->stable_revision.empty() || s->active_deployment != 0) continue;
    if (!spec.autoscaling.enabled && s->autoscaling.desired != 0) {  // no longer autoscaled
      s->autoscaling = ScalingState{};
      impl_->SaveService(*s);
    }
    const int want = impl_->Desired(spec, env, &*s);
    int have = 0;
    bool other_revision = false;
    for (const auto& i : impl_->opt.target->List(ServiceKey(name, env) + "." + s->stable_slot)) {
      ++have;
      other_revision |= i.revision != s->stable_revision;
    }
    if (have == want && !other_revision) continue;
    DeployRequest req;
    req.service = name;
    req.environment = env;
    req.revision = s->stable_revision;
    req.strategy = "rolling";
    req.is_rollback = true;  // converging what was already approved needs no new approval
    auto d = Deploy(req);
    if (!d.ok()) return d.status();
    changes.push_back(name + ": " + std::to_string(have) + " -> " + std::to_string(want) + " instances of " +
                      s->stable_revision + " (deployment " + std::to_string(d->id) + ")");
  }
  for (const auto& s : Services()) {
    if (s.environment != env || impl_->config.services.count(s.service)) continue;
    Status st = Destroy(s.service, env);
    if (!st.ok()) return st;
    changes.push_back(s.service + ": stopped (no longer declared)");
  }
  return changes;
}

Status Controller::Destroy(const std::string& service, const std::string& env) {
  std::lock_guard lock(impl_->mu);
  const std::string key = ServiceKey(service, env);
  if (impl_->opt.router)
    for (const char* slot : {"a", "b"}) (void)impl_->opt.router->SetTargets(key + "." + slot, {});
  for (const auto& i : impl_->opt.target->List(key + ".")) (void)impl_->opt.target->Stop(i.id);
  return impl_->opt.store->Delete("service", key);
}

bool Controller::Tick() {
  std::lock_guard lock(impl_->mu);
  bool running = false;
  for (const auto& s : Services())
    if (s.active_deployment != 0) running |= impl_->Step(s.active_deployment);
  return running;
}

Result<Deployment> Controller::RunUntilSettled(long long id, const std::function<bool()>& cancelled) {
  for (;;) {
    {
      std::lock_guard lock(impl_->mu);
      auto d = impl_->LoadDeployment(id);
      if (!d.ok()) return d;
      if (d->state != DeploymentState::kRunning && d->state != DeploymentState::kPaused) return d;
      impl_->Step(id);
      d = impl_->LoadDeployment(id);
      if (!d.ok() || d->state != DeploymentState::kRunning) return d;
    }
    if (cancelled && cancelled()) return Get(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace gantry::deploy
