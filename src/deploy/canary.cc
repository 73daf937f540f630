// Canary with steps (set weight, pause, analysis, set instance count) and the analysis of
// the canary group's own traffic: success rate and p99 from the router's statistics, HTTP
// checks against every canary instance, alarm states. Abort and failure put all traffic on
// the stable group in one weight change before anything else happens.
#include <cmath>

#include "base/http_client.h"
#include "deploy/strategy.h"

namespace gantry::deploy {
namespace {

enum class Verdict { kWaiting, kPassed, kFailed, kInconclusive };

std::string Percent(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.2f%%", v * 100);
  return buf;
}

// One measurement per interval; the baseline of the next is this one's end.
Verdict Measure(DeployContext& ctx, std::string* detail) {
  Deployment& d = ctx.deployment();
  const AnalysisSpec& a = ctx.spec().analysis;
  const std::string group = ctx.Group(d.to_slot);
  const long long now = ctx.now_ms();
  TrafficRouter* router = ctx.router();
  if (d.analysis_next_ms == 0) {
    if (router) d.analysis_baseline = router->Stats(group);
    d.analysis_next_ms = now + a.interval_ms;
    ctx.Persist();
    return Verdict::kWaiting;
  }
  if (now < d.analysis_next_ms) return Verdict::kWaiting;
  TrafficStats current = router ? router->Stats(group) : TrafficStats{};
  const TrafficStats delta = current.Minus(d.analysis_baseline);
  d.analysis_baseline = current;
  d.analysis_next_ms = now + a.interval_ms;

  for (const auto& alarm : a.alarms)
    if (ctx.alarms() && ctx.alarms()->State(alarm) == AlarmState::kAlarm) {
      *detail = "alarm " + alarm + " is in ALARM";
      return Verdict::kFailed;
    }
  for (const auto& check : a.http_checks)
    for (const auto& inst : ctx.Instances(d.to_slot)) {
      auto req = http::MakeRequest("GET", "http://" + inst.address + check.path);
      req.timeout_ms = 2000;
      auto res = http::Fetch(req, 64 * 1024);
      if (!res.ok() || res->status < check.expect_low || res->status > check.expect_high) {
        *detail = "HTTP check " + check.path + " on " + inst.address + " got " +
                  (res.ok() ? std::to_string(res->status) : res.error());
        return Verdict::kFailed;
      }
    }
  if (delta.requests < static_cast<uint64_t>(a.min_requests)) {
    *detail = std::to_string(delta.requests) + " requests (fewer than " + std::to_string(a.min_requests) + ")";
    return a.min_requests == 0 ? Verdict::kPassed : Verdict::kInconclusive;
  }
  const double success = 1.0 - static_cast<double>(delta.errors_5xx) / static_cast<double>(delta.requests);
  const double p99 = delta.P99Ms();
  *detail = "success " + Percent(success) + " of " + std::to_string(delta.requests) +
            " requests, p99 <= " + std::to_string(static_cast<long long>(std::ceil(p99))) + " ms";
  if (success < a.min_success_rate) return Verdict::kFailed;
  if (a.max_p99_ms > 0 && p99 > static_cast<double>(a.max_p99_ms)) return Verdict::kFailed;
  return Verdict::kPassed;
}

class Canary : public Strategy {
 public:
  void Step(DeployContext& ctx) override {
    Deployment& d = ctx.deployment();
    const auto& spec = ctx.spec();
    const int n = ctx.desired_instances();
    const std::string stable = d.from_slot, canary = d.to_slot;
    if (d.phase == "rollback") {
      // All traffic to stable first: it has kept its full count all along.
      Status st = ctx.SetWeights({{stable, 100}, {canary, 0}});
      if (!st.ok()) {
        d.reason += "; " + st.message();
        ctx.Persist();
        return;
      }
      ctx.Event("all traffic on " + d.from_revision);
      (void)ctx.SetTargets(canary, {});
      for (const auto& i : ctx.Instances(canary)) (void)ctx.StopInstance(i);
      ctx.Finish(
          d.abort_requested && d.rollback_reason.empty() ? DeploymentState::kAborted : DeploymentState::kRolledBack,
          stable, d.from_revision);
      return;
    }
    if (d.phase == "start") {
      d.phase = "steps";
      d.step = 0;
      d.phase_started_ms = 0;
      ctx.Persist();
    }
    if (d.phase == "steps") {
      if ((d.promote_requested && d.full_promote) || d.step >= static_cast<int>(spec.strategy.steps.size())) {
        d.phase = "promote";
        d.phase_started_ms = 0;
        d.state = DeploymentState::kRunning;
        ctx.Persist();
      } else if (!RunStep(ctx, spec.strategy.steps[d.step], n)) {
        return;
      } else {
        NextStep(ctx);
        return;
      }
    }
    if (d.phase == "promote") {
      // The canary group reaches the full count before it takes all traffic.
      if (!EnsureSlot(ctx, canary, d.revision, n)) return;
      Status st = ctx.SetWeights({{stable, 0}, {canary, 100}});
      if (!st.ok()) return ctx.Fail(st.message());
      ctx.Event("promoted: all traffic on " + d.revision);
      d.canary_weight = 100;
      d.phase = "retire_stable";
      d.phase_started_ms = ctx.now_ms();
      ctx.Persist();
      (void)ctx.SetTargets(stable, {});
    }
    if (d.phase == "retire_stable") {
      if (ctx.now_ms() - d.phase_started_ms < spec.deregistration_delay_ms) return;
      for (const auto& i : ctx.Instances(stable)) (void)ctx.StopInstance(i);
      ctx.Finish(DeploymentState::kSucceeded, canary, d.revision);
    }
  }

 private:
  static void NextStep(DeployContext& ctx) {
    Deployment& d = ctx.deployment();
    d.step++;
    d.phase_started_ms = 0;
    d.promote_requested = false;
    d.analysis_runs = d.analysis_failures = d.analysis_inconclusive = 0;
    d.analysis_next_ms = 0;
    d.state = DeploymentState::kRunning;
    d.reason.clear();
    ctx.Persist();
  }

  // True when the step is complete.
  static bool RunStep(DeployContext& ctx, const CanaryStep& step, int n) {
    Deployment& d = ctx.deployment();
    const std::string stable = d.from_slot, canary = d.to_slot;
    if (d.phase_started_ms == 0) {
      d.phase_started_ms = ctx.now_ms();
      ctx.Persist();
    }
    switch (step.kind) {
      case StepKind::kSetWeight: {
        const int count = d.canary_instances > 0 ? d.canary_instances : std::max(1, (n * step.value + 99) / 100);
        if (!EnsureSlot(ctx, canary, d.revision, count)) return false;
        Status st = ctx.SetWeights({{stable, 100 - step.value}, {canary, step.value}});
        if (!st.ok()) {
          ctx.Fail(st.message());
          return false;
        }
        d.canary_weight = step.value;
        ctx.Event("canary weight " + std::to_string(step.value) + "% on " + std::to_string(count) + " instance(s)");
        return true;
      }
      case StepKind::kSetInstances:
        d.canary_instances = step.value;
        return EnsureSlot(ctx, canary, d.revision, step.value);
      case StepKind::kPause:
        if (step.pause_ms >= 0) return ctx.now_ms() - d.phase_started_ms >= step.pause_ms;
        if (d.promote_requested) return true;
        if (d.state != DeploymentState::kPaused) {
          d.state = DeploymentState::kPaused;
          d.reason = "paused until promoted";
          ctx.Event(d.reason);
        }
        return false;
      case StepKind::kAnalysis: {
        if (d.state == DeploymentState::kPaused) return d.promote_requested;
        std::string detail;
        const Verdict v = Measure(ctx, &detail);
        if (v == Verdict::kWaiting) return false;
        const auto& a = ctx.spec().analysis;
        d.analysis_runs++;
        const char* word = v == Verdict::kPassed ? "passed" : v == Verdict::kFailed ? "failed" : "inconclusive";
        ctx.Event("analysis " + std::to_string(d.analysis_runs) + "/" + std::to_string(a.count) + ": " + detail + ": " +
                  word);
        if (v == Verdict::kFailed && ++d.analysis_failures > a.failure_limit) {
          ctx.Fail("analysis failed: " + detail);
          return false;
        }
        if (v == Verdict::kInconclusive && ++d.analysis_inconclusive > a.inconclusive_limit) {
          d.state = DeploymentState::kPaused;
          d.reason = "analysis inconclusive; promote to continue or abort";
          ctx.Persist();
          return false;
        }
        ctx.Persist();
        return d.analysis_runs >= a.count;
      }
    }
    return false;
  }
};

struct Registrar {
  Registrar() { RegisterStrategy("canary", std::make_unique<Canary>()); }
} registrar;

}  // namespace
}  // namespace gantry::deploy
