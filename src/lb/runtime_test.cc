#include "lb/runtime.h"

#include <gtest/gtest.h>

#include <map>

namespace gantry::lb {
namespace {

GroupView MakeGroup(int n, Algorithm alg = Algorithm::kRoundRobin) {
  GroupView g;
  g.runtime = std::make_shared<GroupRuntime>();
  g.config.algorithm = alg;
  for (int i = 0; i < n; ++i) {
    auto t = std::make_shared<TargetRuntime>();
    t->address = "t" + std::to_string(i);
    t->health = static_cast<int>(TargetState::kHealthy);
    g.targets.push_back(t);
  }
  return g;
}

TEST(LbRuntime, PicksOnlyEligibleTargetsAndFailsOpen) {
  GroupView g = MakeGroup(3);
  g.targets[1]->health = static_cast<int>(TargetState::kUnhealthy);
  g.targets[2]->ejected_until_ms = NowMs() + 60'000;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(PickTarget(g, i, NowMs(), nullptr, 0), g.targets[0].get());
  g.targets[0]->health = static_cast<int>(TargetState::kUnhealthy);
  std::map<TargetRuntime*, int> seen;
  for (int i = 0; i < 30; ++i) ++seen[PickTarget(g, i, NowMs(), nullptr, 0)];
  EXPECT_EQ(seen.size(), 3u);  // fail open: everything registered
  TargetRuntime* exclude[] = {g.targets[0].get(), g.targets[1].get(), g.targets[2].get()};
  EXPECT_EQ(PickTarget(g, 1, NowMs(), exclude, 3), nullptr);
}

TEST(LbRuntime, LeastOutstandingPrefersIdleTargets) {
  GroupView g = MakeGroup(3, Algorithm::kLeastOutstandingRequests);
  g.targets[0]->outstanding = 5;
  g.targets[2]->outstanding = 3;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(PickTarget(g, i * 7919, NowMs(), nullptr, 0), g.targets[1].get());
}

TEST(LbRuntime, SlowStartRampsANewTarget) {
  GroupView g = MakeGroup(2);
  g.config.slow_start_ms = 100'000;
  int64_t now = NowMs();
  g.targets[0]->healthy_since_ms = now - 1'000'000;  // old
  g.targets[1]->healthy_since_ms = now - 10'000;     // 10% into its ramp
  std::map<TargetRuntime*, int> seen;
  uint64_t rng = 88172645463325252ull;
  for (int i = 0; i < 10'000; ++i) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    ++seen[PickTarget(g, rng, now, nullptr, 0)];
  }
  EXPECT_LT(seen[g.targets[1].get()], 2'000);
  EXPECT_GT(seen[g.targets[1].get()], 200);
}

TEST(LbRuntime, WeightedGroupsAndRules) {
  GroupView a = MakeGroup(1), b = MakeGroup(1);
  RuleView r;
  r.forward = {{&a, 1}, {&b, 3}};
  r.total_weight = 4;
  int to_b = 0;
  for (uint64_t i = 0; i < 4000; ++i) to_b += PickGroup(r, i) == &b;
  EXPECT_EQ(to_b, 3000);
  r.forward = {{&a, 0}};
  r.total_weight = 0;
  EXPECT_EQ(PickGroup(r, 1), nullptr);

  struct NoHeaders : HeaderLookup {
    std::string_view Get(std::string_view) const override { return {}; }
  } none;
  ListenerView l;
  RuleView host;
  host.config.host = "*.example.com";
  l.rules.push_back(host);
  EXPECT_NE(MatchRule(l, "api.Example.com:8080", "/", none), nullptr);
  EXPECT_EQ(MatchRule(l, "example.com", "/", none), nullptr);
}

TEST(LbRuntime, OutlierDetectionEjectsAfterConsecutiveErrors) {
  TargetRuntime t;
  t.health = static_cast<int>(TargetState::kHealthy);
  OutlierDetection od{3, 1000};
  t.RecordOutcome(true, od, 0);
  t.RecordOutcome(true, od, 0);
  t.RecordOutcome(false, od, 0);  // success resets the streak
  t.RecordOutcome(true, od, 0);
  t.RecordOutcome(true, od, 0);
  EXPECT_TRUE(t.Eligible(1));
  t.RecordOutcome(true, od, 0);
  EXPECT_FALSE(t.Eligible(1));
  EXPECT_TRUE(t.Eligible(1000));
}

}  // namespace
}  // namespace gantry::lb
