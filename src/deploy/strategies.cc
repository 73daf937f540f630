// The rolling family (rolling, all-at-once) and blue/green, plus the reconcile they share.
#include <algorithm>
#include <map>
#include <set>

#include "deploy/strategy.h"

namespace gantry::deploy {

namespace {
std::map<std::string, std::unique_ptr<Strategy>>& Registry() {
  static auto* registry = new std::map<std::string, std::unique_ptr<Strategy>>();
  return *registry;
}
}  // namespace

void RegisterStrategy(const std::string& name, std::unique_ptr<Strategy> strategy) {
  Registry()[name] = std::move(strategy);
}

Strategy* FindStrategy(const std::string& name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : it->second.get();
}

std::string OtherSlot(const std::string& slot) { return slot == "a" ? "b" : "a"; }

bool RollingReconcile(DeployContext& ctx, const std::string& slot, const std::string& revision, int count,
                      int max_surge, int max_unavailable) {
  Deployment& d = ctx.deployment();
  const long long now = ctx.now_ms();
  const auto all = ctx.Instances(slot);
  auto find = [&](const std::string& id) -> const Instance* {
    for (const auto& i : all)
      if (i.id == id) return &i;
    return nullptr;
  };

  // Instances whose drain time is over are stopped; they already receive no traffic.
  for (auto it = d.retiring.begin(); it != d.retiring.end();) {
    const Instance* inst = find(it->first);
    if (inst == nullptr) {
      it = d.retiring.erase(it);
      continue;
    }
    if (now < it->second) {
      ++it;
      continue;
    }
    (void)ctx.StopInstance(*inst);
    it = d.retiring.erase(it);
    ctx.Persist();
  }
  std::set<std::string> retiring;
  for (const auto& [id, at] : d.retiring) retiring.insert(id);

  std::vector<Instance> fresh, old;
  for (const auto& i : all) {
    if (retiring.count(i.id)) continue;
    (i.revision == revision ? fresh : old).push_back(i);
  }
  std::set<std::string> registered(d.registered.begin(), d.registered.end());
  // Addresses of instances that no longer exist leave the group.
  std::set<std::string> live_addresses;
  for (const auto& i : all) live_addresses.insert(i.address);
  bool changed = false;
  for (auto it = registered.begin(); it != registered.end();)
    if (!live_addresses.count(*it))
      it = registered.erase(it), changed = true;
    else
      ++it;

  for (const auto& i : fresh) {
    if (i.consecutive_crashes >= 3) {
      ctx.Fail("instance " + i.id + " of " + revision + " exited " + std::to_string(i.consecutive_crashes) +
               " times in a row");
      return false;
    }
    if (i.health != InstanceHealth::kHealthy && d.phase_started_ms > 0 &&
        now - d.phase_started_ms > ctx.start_timeout_ms()) {
      ctx.Fail("instance " + i.id + " of " + revision + " did not become healthy");
      return false;
    }
  }
  // Healthy new instances join the group (after ValidateService).
  std::sort(fresh.begin(), fresh.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
  // Registered ones first, so a surplus (a scale-in, the rollback of a scale-out) retires the
  // instances that take no traffic before those that do.
  std::stable_partition(fresh.begin(), fresh.end(), [&](const Instance& i) { return registered.count(i.address) > 0; });
  int fresh_registered = 0;
  for (const auto& i : fresh) {
    if (registered.count(i.address)) {
      ++fresh_registered;
      continue;
    }
    if (fresh_registered >= count || i.health != InstanceHealth::kHealthy) continue;
    Status st = ctx.Validate(i);
    if (!st.ok()) {
      ctx.Fail(st.message());
      return false;
    }
    registered.insert(i.address);
    ++fresh_registered;
    changed = true;
  }
  auto apply = [&]() -> bool {
    d.registered.assign(registered.begin(), registered.end());
    ctx.Persist();
    Status st = ctx.SetTargets(slot, d.registered);
    if (!st.ok()) {
      ctx.Fail(st.message());
      return false;
    }
    changed = false;
    return true;
  };
  if (changed && !apply()) return false;

  // Capacity that serves traffic now; never go below the minimum while retiring.
  int serving = 0;
  for (const auto& i : all)
    if (!retiring.count(i.id) && registered.count(i.address) && ctx.Serving(slot, i)) ++serving;
  int min_serving = max_unavailable > 0 ? count - max_unavailable : count;
  const int pct = ctx.spec().strategy.minimum_healthy_percent;
  if (pct > 0) min_serving = std::max(min_serving, (count * pct + 99) / 100);
  min_serving = std::clamp(min_serving, 0, count);
  int can_retire = serving - min_serving;

  // Retire: other revisions first, then surplus instances of this revision.
  std::vector<Instance> surplus = old;
  if (static_cast<int>(fresh.size()) > count) surplus.insert(surplus.end(), fresh.begin() + count, fresh.end());
  int old_left = static_cast<int>(old.size());
  int fresh_left = static_cast<int>(fresh.size());
  for (const auto& i : surplus) {
    const bool is_old = i.revision != revision;
    if (!registered.count(i.address)) {
      d.retiring.emplace_back(i.id, now);  // gets no traffic: stop at once
    } else if (!ctx.Serving(slot, i) && serving >= min_serving) {
      // Not serving while enough others do: it gets no traffic, so it may go at once. When
      // capacity is short (a transient failed check under load, or targets back in the
      // router's `initial` state after a restart) it stays: the router fails open to it, and
      // removing the whole stable set would leave the group empty (503s).
      registered.erase(i.address);
      d.retiring.emplace_back(i.id, now);
      changed = true;
    } else if (can_retire > 0 && ctx.Serving(slot, i)) {
      registered.erase(i.address);
      d.retiring.emplace_back(i.id, now + ctx.spec().deregistration_delay_ms);
      --can_retire;
      changed = true;
    } else {
      continue;
    }
    (is_old ? old_left : fresh_left)--;
    ctx.Persist();
  }
  if (changed && !apply()) return false;

  const int missing = count - std::min(fresh_left, count);
  const int room = count + max_surge - (fresh_left + old_left);
  const int start = std::min(missing, room);
  if (start > 0) {
    if (d.phase_started_ms == 0 || fresh.empty()) d.phase_started_ms = now;
    ctx.Persist();
    Status st = ctx.StartInstances(slot, revision, start);
    if (!st.ok()) {
      ctx.Fail(st.message());
      return false;
    }
    return false;
  }
  if (fresh_left != count || old_left != 0 || !d.retiring.empty()) return false;
  for (const auto& i : fresh)
    if (!registered.count(i.address) || !ctx.Serving(slot, i)) return false;
  return true;
}

bool EnsureSlot(DeployContext& ctx, const std::string& slot, const std::string& revision, int count) {
  return RollingReconcile(ctx, slot, revision, count, count, count);
}

namespace {

void StopSlot(DeployContext& ctx, const std::string& slot) {
  (void)ctx.SetTargets(slot, {});
  for (const auto& i : ctx.Instances(slot)) (void)ctx.StopInstance(i);
}

// Rolling (and all-at-once, which is rolling with a surge of the whole count): replaces
// instances in place within the stable group, keeping serving capacity at its minimum.
class Rolling : public Strategy {
 public:
  explicit Rolling(bool all_at_once) : all_at_once_(all_at_once) {}

  void Step(DeployContext& ctx) override {
    Deployment& d = ctx.deployment();
    const int n = ctx.desired_instances();
    int surge = ctx.spec().strategy.max_surge;
    int unavailable = ctx.spec().strategy.max_unavailable;
    if (unavailable < 0) unavailable = (n * -unavailable + 99) / 100;  // percent (HalfAtATime)
    if (all_at_once_ || d.from_revision.empty()) surge = std::max(n, 1), unavailable = 0;
    if (d.phase == "rollback") {
      if (d.from_revision.empty()) {
        StopSlot(ctx, d.to_slot);
        ctx.Finish(DeploymentState::kFailed, d.to_slot, "");
        return;
      }
      if (RollingReconcile(ctx, d.to_slot, d.from_revision, n, std::max(surge, 1), unavailable))
        ctx.Finish(DeploymentState::kRolledBack, d.to_slot, d.from_revision);
      return;
    }
    if (d.phase == "start") {
      d.phase = "rolling";
      d.phase_started_ms = 0;
      ctx.Persist();
      (void)ctx.SetWeights({{d.to_slot, 100}, {OtherSlot(d.to_slot), 0}});
    }
    if (RollingReconcile(ctx, d.to_slot, d.revision, n, surge, unavailable))
      ctx.Finish(DeploymentState::kSucceeded, d.to_slot, d.revision);
  }

 private:
  bool all_at_once_;
};

// Blue/green: green is started in the other group and health-checked while blue takes all
// traffic; the switch is one weight change; blue stays up for scale_down_delay so a
// rollback is one weight change back.
class BlueGreen : public Strategy {
 public:
  void Step(DeployContext& ctx) override {
    Deployment& d = ctx.deployment();
    const auto& s = ctx.spec().strategy;
    const int n = ctx.desired_instances();
    const std::string blue = d.from_slot, green = d.to_slot;
    if (d.phase == "rollback") {
      Status st = ctx.SetWeights({{blue, 100}, {green, 0}});
      if (!st.ok()) return ctx.Fail(st.message());
      ctx.Event("traffic back on " + d.from_revision);
      if (s.preview) (void)ctx.SetPreview("");
      StopSlot(ctx, green);
      ctx.Finish(
          d.abort_requested && d.rollback_reason.empty() ? DeploymentState::kAborted : DeploymentState::kRolledBack,
          blue, d.from_revision);
      return;
    }
    if (d.phase == "start") {
      d.phase = "green";
      d.phase_started_ms = 0;
      ctx.Persist();
    }
    if (d.phase == "green") {
      if (!EnsureSlot(ctx, green, d.revision, n)) return;
      ctx.Event("green (" + d.revision + ") has " + std::to_string(n) + " healthy instances");
      if (s.preview) {
        if (Status st = ctx.SetPreview(green); !st.ok()) return ctx.Fail(st.message());
      }
      d.phase = s.auto_promote ? "switch" : "wait_promote";
      if (!s.auto_promote) {
        d.state = DeploymentState::kPaused;
        d.reason = "green is ready; waiting for promote";
      }
      ctx.Persist();
    }
    if (d.phase == "wait_promote") {
      if (!d.promote_requested) return;
      d.state = DeploymentState::kRunning;
      d.phase = "switch";
      ctx.Persist();
    }
    if (d.phase == "switch") {
      Status st = ctx.SetWeights({{blue, 0}, {green, 100}});
      if (!st.ok()) return ctx.Fail(st.message());
      ctx.Event("traffic switched to " + d.revision);
      if (s.preview) (void)ctx.SetPreview("");
      d.phase = "scale_down";
      d.phase_started_ms = ctx.now_ms();
      ctx.Persist();
    }
    if (d.phase == "scale_down") {
      if (ctx.now_ms() - d.phase_started_ms < s.scale_down_delay_ms) return;
      StopSlot(ctx, blue);
      ctx.Finish(DeploymentState::kSucceeded, green, d.revision);
    }
  }
};

struct Registrar {
  Registrar() {
    RegisterStrategy("rolling", std::make_unique<Rolling>(false));
    RegisterStrategy("all-at-once", std::make_unique<Rolling>(true));
    RegisterStrategy("blue-green", std::make_unique<BlueGreen>());
  }
} registrar;

}  // namespace
}  // namespace gantry::deploy
