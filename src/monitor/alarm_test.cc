#include "monitor/alarm.h"

#include <gtest/gtest.h>

#include "monitor/tsdb.h"

namespace gantry::monitor {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000 / 3'600'000 * 3'600'000;
constexpr int64_t kMinute = 60'000;

struct Fixture {
  Fixture() : clock(kT0) {
    TsdbOptions o;
    o.clock = &clock;
    store = std::move(TimeSeriesStore::Open(o).value());
    alarms = std::make_unique<Alarms>(store.get(), &clock);
    sampler = std::make_unique<RegistrySampler>(&registry, store.get());
    alarms->Subscribe([this](const AlarmTransition& t) { seen.push_back(t); });
  }
  // What the server's monitor loop does every 10 s.
  void Tick() {
    clock.Advance(10'000);
    ASSERT_TRUE(sampler->Sample(clock.NowMs()).ok());
    ASSERT_TRUE(store->Flush(clock.NowMs()).ok());
    alarms->Evaluate(clock.NowMs());
  }
  FakeClock clock;
  Registry registry;
  std::unique_ptr<TimeSeriesStore> store;
  std::unique_ptr<Alarms> alarms;
  std::unique_ptr<RegistrySampler> sampler;
  std::vector<AlarmTransition> seen;
};

MetricAlarm FiveXxAlarm() {
  MetricAlarm a;
  a.name = "web-5xx";
  a.metric = "gantry_lb_responses_total";
  a.dimensions = {{"target_group", "web"}, {"code_class", "5xx"}};
  a.stat = Statistic::kSum;
  a.period_ms = kMinute;
  a.evaluation_periods = 1;
  a.threshold = 10;
  a.comparison = Comparison::kGreaterThan;
  a.missing_data = MissingData::kNotBreaching;
  a.actions.on_alarm = {"deploy:rollback:web", "topic:ops"};
  a.actions.on_ok = {"topic:ops"};
  return a;
}

TEST(Alarms, FiveXxAboveTenPerMinuteFiresWithinOnePeriodAndRecovers) {
  Fixture f;
  ASSERT_TRUE(f.alarms->Put(FiveXxAlarm()).ok());
  Counter* errors =
      f.registry.GetCounter("gantry_lb_responses_total", "", {{"target_group", "web"}, {"code_class", "5xx"}});
  for (int i = 0; i < 12; ++i) {  // two healthy minutes with a few errors
    errors->Inc(1);
    f.Tick();
  }
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].to, AlarmState::kOk);
  int64_t fault = f.clock.NowMs();
  while (f.alarms->State("web-5xx") != AlarmState::kAlarm && f.clock.NowMs() < fault + 5 * kMinute) {
    errors->Inc(5);  // 30 per minute
    f.Tick();
  }
  ASSERT_EQ(f.alarms->State("web-5xx"), AlarmState::kAlarm);
  EXPECT_LE(f.clock.NowMs() - fault, kMinute + 10'000);  // one period (+ one sampling tick)
  ASSERT_EQ(f.seen.size(), 2u);
  EXPECT_EQ(f.seen[1].from, AlarmState::kOk);
  EXPECT_EQ(f.seen[1].actions, (std::vector<std::string>{"deploy:rollback:web", "topic:ops"}));
  EXPECT_NE(f.seen[1].reason.find("sum of gantry_lb_responses_total > 10"), std::string::npos) << f.seen[1].reason;
  for (int i = 0; i < 12; ++i) f.Tick();  // the fault is over: no errors, missing = not breaching
  EXPECT_EQ(f.alarms->State("web-5xx"), AlarmState::kOk);
  EXPECT_EQ(f.seen.size(), 3u);  // one transition each way, no repeats
}

TEST(Alarms, ResponseTimeAboveFiveSecondsForFiveMinutes) {
  Fixture f;
  MetricAlarm a;
  a.name = "web-slow";
  a.metric = "gantry_lb_target_response_seconds";
  a.dimensions = {{"target_group", "web"}};
  a.stat = Statistic::kAverage;
  a.period_ms = kMinute;
  a.evaluation_periods = 5;
  a.threshold = 5;
  a.comparison = Comparison::kGreaterThan;
  ASSERT_TRUE(f.alarms->Put(a).ok());
  Histogram* rt = f.registry.GetHistogram("gantry_lb_target_response_seconds", "", {{"target_group", "web"}});
  EXPECT_EQ(f.alarms->State("web-slow"), AlarmState::kInsufficientData);
  int ticks = 0;
  int64_t slow_since = f.clock.NowMs();
  while (f.alarms->State("web-slow") != AlarmState::kAlarm && ticks++ < 60) {
    rt->Observe(8);
    rt->Observe(6);
    f.Tick();
    // Four slow minutes are not enough.
    if (f.clock.NowMs() - slow_since < 5 * kMinute) {
      ASSERT_NE(f.alarms->State("web-slow"), AlarmState::kAlarm);
    }
  }
  EXPECT_EQ(f.alarms->State("web-slow"), AlarmState::kAlarm);
  EXPECT_LE(f.clock.NowMs() - slow_since, 6 * kMinute);
  rt->Observe(0.1);
  for (int i = 0; i < 6; ++i) {
    rt->Observe(0.2);
    f.Tick();
  }
  EXPECT_EQ(f.alarms->State("web-slow"), AlarmState::kOk);
}

TEST(Alarms, HealthyHostsBelowOneAndMissingDataIsBreaching) {
  Fixture f;
  MetricAlarm a;
  a.name = "web-no-hosts";
  a.metric = "gantry_lb_healthy_hosts";
  a.dimensions = {{"target_group", "web"}};
  a.stat = Statistic::kMinimum;
  a.period_ms = kMinute;
  a.threshold = 1;
  a.comparison = Comparison::kLessThan;
  a.missing_data = MissingData::kBreaching;
  ASSERT_TRUE(f.alarms->Put(a).ok());
  for (int i = 0; i < 6; ++i) f.Tick();
  EXPECT_EQ(f.alarms->State("web-no-hosts"), AlarmState::kAlarm);  // nothing reported: breaching
  Gauge* healthy = f.registry.GetGauge("gantry_lb_healthy_hosts", "", {{"target_group", "web"}});
  healthy->Set(2);
  for (int i = 0; i < 7; ++i) f.Tick();
  EXPECT_EQ(f.alarms->State("web-no-hosts"), AlarmState::kOk);
  healthy->Set(0);
  for (int i = 0; i < 7; ++i) f.Tick();
  EXPECT_EQ(f.alarms->State("web-no-hosts"), AlarmState::kAlarm);
}

TEST(Alarms, MOfNAndTreatMissingData) {
  FakeClock clock(kT0);
  TsdbOptions o;
  o.clock = &clock;
  auto store = std::move(TimeSeriesStore::Open(o).value());
  // Five periods: breach, ok, missing, breach, missing.
  const double values[] = {20, 1, -1, 30, -1};
  for (int i = 0; i < 5; ++i) {
    if (values[i] >= 0) {
      ASSERT_TRUE(store->Record("m", {}, values[i], kT0 + i * kMinute + 1000).ok());
    }
  }
  int64_t now = kT0 + 5 * kMinute + 5000;
  auto state_with = [&](int m, MissingData missing) {
    Alarms alarms(store.get(), &clock);
    MetricAlarm a;
    a.name = "a";
    a.metric = "m";
    a.stat = Statistic::kMaximum;
    a.evaluation_periods = 5;
    a.datapoints_to_alarm = m;
    a.threshold = 10;
    a.missing_data = missing;
    EXPECT_TRUE(alarms.Put(a).ok());
    alarms.Evaluate(now);
    return *alarms.State("a");
  };
  EXPECT_EQ(state_with(2, MissingData::kMissing), AlarmState::kAlarm);
  EXPECT_EQ(state_with(3, MissingData::kMissing), AlarmState::kOk);
  EXPECT_EQ(state_with(3, MissingData::kNotBreaching), AlarmState::kOk);
  EXPECT_EQ(state_with(4, MissingData::kBreaching), AlarmState::kAlarm);
  EXPECT_EQ(state_with(5, MissingData::kBreaching), AlarmState::kOk);
  EXPECT_EQ(state_with(3, MissingData::kIgnore), AlarmState::kOk);

  // No data at all: INSUFFICIENT_DATA, except with ignore, which keeps the state.
  Alarms alarms(store.get(), &clock);
  MetricAlarm a;
  a.name = "empty";
  a.metric = "nothing";
  ASSERT_TRUE(alarms.Put(a).ok());
  EXPECT_TRUE(alarms.Evaluate(now).empty());
  EXPECT_EQ(*alarms.State("empty"), AlarmState::kInsufficientData);
  a.datapoints_to_alarm = 3;  // > N
  EXPECT_FALSE(alarms.Put(a).ok());
}

TEST(Alarms, CompositeRollsBackOnEitherTrigger) {
  Fixture f;
  ASSERT_TRUE(f.alarms->Put(FiveXxAlarm()).ok());
  MetricAlarm hosts;
  hosts.name = "web-no-hosts";
  hosts.metric = "gantry_lb_healthy_hosts";
  hosts.stat = Statistic::kMinimum;
  hosts.threshold = 1;
  hosts.comparison = Comparison::kLessThan;
  ASSERT_TRUE(f.alarms->Put(hosts).ok());
  CompositeAlarm c;
  c.name = "web-rollback";
  c.rule = "ALARM(\"web-5xx\") OR (ALARM(web-no-hosts) AND NOT INSUFFICIENT_DATA(web-no-hosts))";
  c.actions.on_alarm = {"deploy:rollback:web"};
  ASSERT_TRUE(f.alarms->Put(c).ok());
  std::vector<std::string> rollbacks;
  f.alarms->Subscribe([&](const AlarmTransition& t) {
    for (const auto& a : t.actions) {
      if (a == "deploy:rollback:web") rollbacks.push_back(t.alarm);
    }
  });
  Gauge* healthy = f.registry.GetGauge("gantry_lb_healthy_hosts", "");
  healthy->Set(3);
  for (int i = 0; i < 7; ++i) f.Tick();
  EXPECT_EQ(f.alarms->State("web-rollback"), AlarmState::kOk);
  healthy->Set(0);
  for (int i = 0; i < 7; ++i) f.Tick();
  EXPECT_EQ(f.alarms->State("web-rollback"), AlarmState::kAlarm);
  EXPECT_EQ(rollbacks, (std::vector<std::string>{"web-rollback"}));
}

TEST(AlarmRule, ParsesAndReportsErrorsWithColumns) {
  auto r = AlarmRule::Parse("NOT (ALARM(a) OR OK(\"b c\")) AND TRUE");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->references(), (std::vector<std::string>{"a", "b c"}));
  EXPECT_TRUE(r->Evaluate([](const std::string&) { return AlarmState::kInsufficientData; }));
  struct Case {
    const char* in;
    const char* error;
  } cases[] = {
      {"ALARM(a) AND", "rule:1:13: expected ALARM(name)"}, {"ALARM(a", "rule:1:8: expected ')'"},
      {"MAYBE(a)", "rule:1:1: unknown word \"MAYBE\""},    {"ALARM(a) b", "rule:1:10: unexpected \"b\""},
      {"ALARM(\"a)", "rule:1:7: unterminated alarm name"},
  };
  for (const auto& c : cases) {
    auto bad = AlarmRule::Parse(c.in);
    ASSERT_FALSE(bad.ok()) << c.in;
    EXPECT_EQ(bad.error().rfind(c.error, 0), 0u) << bad.error();
  }
  EXPECT_FALSE(AlarmRule::Parse(std::string(100, '(') + "TRUE" + std::string(100, ')')).ok());
  EXPECT_FALSE(AlarmRule::Parse(std::string(20000, ' ')).ok());
}

}  // namespace
}  // namespace gantry::monitor
