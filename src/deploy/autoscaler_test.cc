// The autoscaling decision (pure: counts, metrics, cooldowns, bounds) and the CPU measurement
// of real processes.
#include "deploy/autoscaler.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "deploy/deployment.h"

namespace gantry::deploy {
namespace {

constexpr long long kNow = 1'000'000;

// 2..10 instances, one metric (requests per instance, target 100), 60 s cooldowns, last
// scaled long ago.
ScalingInput Input(int current, std::optional<double> requests) {
  ScalingInput in;
  in.current = current;
  in.metrics = {{"requests", requests, 100}};
  in.min = 2;
  in.max = 10;
  in.scale_out_cooldown_ms = in.scale_in_cooldown_ms = 60'000;
  in.last_scale_out_ms = in.last_scale_in_ms = kNow - 600'000;
  in.now_ms = kNow;
  return in;
}

TEST(Autoscaler, ScalesOutProportionally) {
  auto d = DecideScale(Input(2, 250));  // 500 requests/s in all: 5 instances carry 100 each
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.reason, "250 requests/s per instance (target 100)");
  EXPECT_EQ(DecideScale(Input(3, 101)).desired, 3);  // within the 10% tolerance
  EXPECT_EQ(DecideScale(Input(3, 112)).desired, 4);  // ceil(3.36); at least one more
  EXPECT_EQ(DecideScale(Input(4, 150)).desired, 6);  // exactly 6, no rounding up past it
}

TEST(Autoscaler, NeverLeavesMinAndMax) {
  EXPECT_EQ(DecideScale(Input(4, 10'000)).desired, 10);
  auto at_max = DecideScale(Input(10, 500));
  EXPECT_EQ(at_max.desired, 10);
  EXPECT_EQ(at_max.reason.substr(0, 20), "at autoscaling.max 1");
  EXPECT_EQ(DecideScale(Input(3, 0)).desired, 2);
  auto at_min = DecideScale(Input(2, 0));
  EXPECT_EQ(at_min.desired, 2);
  EXPECT_EQ(at_min.reason.substr(0, 20), "at autoscaling.min 2");
  // A count outside the bounds (they changed) is brought inside at once, cooldown or not.
  auto low = Input(1, std::nullopt);
  low.last_scale_out_ms = low.last_scale_in_ms = kNow - 1;
  EXPECT_EQ(DecideScale(low).desired, 2);
  EXPECT_EQ(DecideScale(low).reason, "below autoscaling.min 2");
  EXPECT_EQ(DecideScale(Input(14, 100)).desired, 10);
  // min 0 means 1: no scale to zero (requests per instance need an instance).
  auto zero = Input(1, 0);
  zero.min = 0;
  EXPECT_EQ(DecideScale(zero).desired, 1);
}

TEST(Autoscaler, ScalesInConservatively) {
  EXPECT_EQ(DecideScale(Input(6, 95)).desired, 6);  // within tolerance
  EXPECT_EQ(DecideScale(Input(6, 80)).desired, 5);  // 480 in all: 5 keep it at 96
  EXPECT_EQ(DecideScale(Input(8, 10)).desired, 4);  // at most half per step
  EXPECT_EQ(DecideScale(Input(3, 0)).desired, 2);
  // Without a measurement nothing scales in (nor out).
  auto none = DecideScale(Input(6, std::nullopt));
  EXPECT_EQ(none.desired, 6);
  EXPECT_EQ(none.reason, "requests not measured yet");
}

TEST(Autoscaler, CooldownsHoldBackTheNextStep) {
  auto out = Input(2, 300);
  out.last_scale_out_ms = kNow - 20'000;  // scale-out cooldown: 40 s left
  auto d = DecideScale(out);
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(d.reason, "scale-out cooldown (40 s left): 300 requests/s per instance (target 100)");
  out.last_scale_out_ms = kNow - 60'000;
  EXPECT_EQ(DecideScale(out).desired, 6);
  // A recent scale-in does not hold back a scale-out.
  out.last_scale_in_ms = kNow - 1;
  EXPECT_EQ(DecideScale(out).desired, 6);

  auto in = Input(6, 10);
  in.last_scale_in_ms = kNow - 30'000;
  EXPECT_EQ(DecideScale(in).desired, 6);
  in.last_scale_in_ms = kNow - 600'000;
  in.last_scale_out_ms = kNow - 30'000;  // a recent scale-out holds back a scale-in too
  EXPECT_EQ(DecideScale(in).desired, 6);
  EXPECT_EQ(DecideScale(in).reason.substr(0, 29), "scale-in cooldown (30 s left)");
  in.scale_in_cooldown_ms = 10'000;  // its own, shorter, cooldown
  EXPECT_EQ(DecideScale(in).desired, 3);
  // Never scaled: no cooldown.
  in.last_scale_in_ms = in.last_scale_out_ms = 0;
  EXPECT_EQ(DecideScale(in).desired, 3);
}

TEST(Autoscaler, NothingChangesDuringADeployment) {
  for (auto in : {Input(2, 1000), Input(8, 0), Input(1, 100), Input(20, 100)}) {
    in.deployment_active = true;
    auto d = DecideScale(in);
    EXPECT_EQ(d.desired, in.current);
    EXPECT_EQ(d.reason, "a deployment is active");
  }
}

TEST(Autoscaler, TwoMetricsOutOnEitherInOnBoth) {
  auto in = Input(4, 50);  // requests below target
  in.metrics.push_back({"cpu", 90.0, 60});
  auto d = DecideScale(in);
  EXPECT_EQ(d.desired, 6);
  EXPECT_EQ(d.reason, "CPU 90% per instance (target 60%)");
  in.metrics[1].value = 56.0;  // CPU within tolerance of the target: no scale-in
  EXPECT_EQ(DecideScale(in).desired, 4);
  in.metrics[1].value = 10.0;  // both low: to what keeps both at target (requests need 2)
  EXPECT_EQ(DecideScale(in).desired, 2);
  in.metrics[1].value = std::nullopt;  // one not measured: no scale-in
  EXPECT_EQ(DecideScale(in).desired, 4);
}

TEST(Autoscaler, EffectiveInstances) {
  AutoscalingSpec off;
  EXPECT_EQ(EffectiveInstances(3, off, 7), 3);
  AutoscalingSpec on;
  on.enabled = true;
  on.min = 2;
  on.max = 5;
  EXPECT_EQ(EffectiveInstances(1, on, 0), 2);  // the declared count, clamped
  EXPECT_EQ(EffectiveInstances(3, on, 0), 3);
  EXPECT_EQ(EffectiveInstances(3, on, 4), 4);  // the autoscaler's choice replaces it
  EXPECT_EQ(EffectiveInstances(3, on, 9), 5);  // bounds that changed since
}

TEST(Autoscaler, StateIsStoredWithTheServiceRecord) {
  ServiceRecord s;
  s.service = "web";
  s.environment = "production";
  s.autoscaling.desired = 4;
  s.autoscaling.last_scale_out_ms = 17;
  s.autoscaling.last_scale_in_ms = 18;
  s.autoscaling.last_event = "scale out 2 -> 4: ...";
  s.autoscaling.last_event_ms = 17;
  auto back = ServiceRecordFromJson(ToJson(s));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->autoscaling.desired, 4);
  EXPECT_EQ(back->autoscaling.last_scale_out_ms, 17);
  EXPECT_EQ(back->autoscaling.last_scale_in_ms, 18);
  EXPECT_EQ(back->autoscaling.last_event, "scale out 2 -> 4: ...");
  // Records stored before autoscaling existed still read (nothing chosen yet).
  auto old = ServiceRecordFromJson(
      R"({"service":"web","environment":"staging","stable_revision":"v1","stable_slot":"a","history":[],)"
      R"("active_deployment":0,"weights":{},"targets":{}})");
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ(old->autoscaling.desired, 0);
  Deployment d;
  d.scale_from = 2;
  d.scale_to = 4;
  auto dd = DeploymentFromJson(ToJson(d));
  ASSERT_TRUE(dd.ok()) << dd.error();
  EXPECT_EQ(dd->scale_from, 2);
  EXPECT_EQ(dd->scale_to, 4);
}

// A process in its own session whose leader sleeps while its child spins: the CPU is the
// child's, and it counts for the session (as the app under bwrap counts for its instance).
pid_t StartSession(bool busy) {
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    execl("/bin/sh", "sh", "-c", busy ? "sh -c 'while :; do :; done' & exec sleep 60" : "exec sleep 60", nullptr);
    _exit(127);
  }
  return pid;
}

TEST(Autoscaler, MeasuresCpuPerInstanceFromProc) {
  const pid_t busy = StartSession(true), idle = StartSession(false);
  ASSERT_GT(busy, 0);
  ASSERT_GT(idle, 0);
  // Measure only once both lead their sessions (a child that has not run setsid() yet has
  // no session of its own to add up, and would start no window).
  for (int i = 0; i < 2000 && (getsid(busy) != busy || getsid(idle) != idle); ++i) usleep(1000);
  Instance a, b;
  a.id = "web.staging.a-1";
  a.pid = busy;
  b.id = "web.staging.a-2";
  b.pid = idle;
  SystemScalingMetrics metrics(nullptr);
  auto first = metrics.Measure("web.staging.a", {a, b}, 2, 1000);
  EXPECT_FALSE(first.cpu_percent.has_value());  // a window starts
  EXPECT_FALSE(first.requests_per_second.has_value());
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const long long elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin).count();
  const auto cpu_a = SessionCpuSeconds({busy, idle});
  auto second = metrics.Measure("web.staging.a", {a, b}, 2, 1000 + elapsed);
  ASSERT_TRUE(second.cpu_percent.has_value());
  printf("[ cpu    ] busy %.2f s, idle %.2f s; average %.1f%% per instance\n", cpu_a.at(busy), cpu_a.at(idle),
         *second.cpu_percent);
  // The spinning child ran for some of those 600 ms even on a busy machine; the idle session
  // did not run at all.
  EXPECT_GT(cpu_a.at(busy), 0.03);
  EXPECT_LT(cpu_a.at(idle), 0.03);
  EXPECT_GT(*second.cpu_percent, 2.0);
  EXPECT_LE(*second.cpu_percent, 100.0);  // one core per instance at most (one spinning child)
  // A restarted instance (another pid) starts a new window instead of a negative delta.
  b.pid = busy;
  auto third = metrics.Measure("web.staging.a", {b}, 1, 2000 + elapsed);
  EXPECT_FALSE(third.cpu_percent.has_value());
  for (pid_t p : {busy, idle}) {
    kill(-p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
}

}  // namespace
}  // namespace gantry::deploy
