#include "monitor/tsdb.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "monitor/record_file.h"
#include "monitor/test_util.h"

namespace gantry::monitor {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000 / 3'600'000 * 3'600'000;  // an hour boundary

struct TempDir {
  TempDir() : path(*MakeTempDir("gantry-tsdb-")) {}
  ~TempDir() { (void)RemoveAll(path); }
  std::string path;
};

std::unique_ptr<TimeSeriesStore> OpenStore(const std::string& dir, FakeClock* clock) {
  TsdbOptions o;
  o.dir = dir;
  o.clock = clock;
  auto s = TimeSeriesStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.error();
  return std::move(*s);
}

TEST(Sketch, PercentilesWithinFivePercent) {
  Bin b;
  for (int i = 1; i <= 1000; ++i) b.Add(i);
  EXPECT_NEAR(b.Get(Statistic::kP50), 500, 25);
  EXPECT_NEAR(b.Get(Statistic::kP90), 900, 45);
  EXPECT_NEAR(b.Get(Statistic::kP99), 990, 50);
  EXPECT_EQ(b.Get(Statistic::kSum), 500500);
  EXPECT_EQ(b.Get(Statistic::kMinimum), 1);
  EXPECT_EQ(b.Get(Statistic::kMaximum), 1000);
  EXPECT_EQ(b.Get(Statistic::kSampleCount), 1000);
}

TEST(Tsdb, QueriesPeriodsStatisticsAndDimensions) {
  FakeClock clock(kT0);
  auto store = OpenStore("", &clock);
  for (int i = 0; i < 120; ++i) {  // 2 minutes, one sample a second per host
    int64_t t = kT0 + i * 1000;
    ASSERT_TRUE(store->Record("rt", {{"host", "a"}}, 1.0, t).ok());
    ASSERT_TRUE(store->Record("rt", {{"host", "b"}}, 3.0, t).ok());
  }
  clock.Set(kT0 + 180'000);
  ASSERT_TRUE(store->Flush().ok());
  TsdbQuery q{"rt", {}, kT0, kT0 + 180'000, 60'000, Statistic::kAverage};
  auto all = store->Query(q);
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 2u);  // the third minute has no samples: missing, not zero
  EXPECT_EQ((*all)[0].t_ms, kT0);
  EXPECT_EQ((*all)[0].value, 2.0);
  EXPECT_EQ((*all)[0].samples, 120);
  q.match = {{"host", "b"}};
  q.stat = Statistic::kMaximum;
  auto b = store->Query(q);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[1].value, 3.0);
  q.stat = Statistic::kSampleCount;
  EXPECT_EQ((*store->Query(q))[0].value, 60);
  q.period_ms = 0;
  EXPECT_FALSE(store->Query(q).ok());
}

TEST(Tsdb, PersistsAcrossRestartAndTruncatesTornTail) {
  TempDir dir;
  FakeClock clock(kT0);
  {
    auto store = OpenStore(dir.path, &clock);
    for (int i = 0; i < 60; ++i) ASSERT_TRUE(store->Record("jobs", {{"wf", "ci"}}, i, kT0 + i * 1000).ok());
    clock.Set(kT0 + 70'000);
    ASSERT_TRUE(store->Flush().ok());
  }
  // A crash in the middle of an append leaves half a record at the end of the segment.
  std::string seg = dir.path + "/tier-10000/" + std::to_string(kT0) + ".seg";
  ASSERT_TRUE(PathExists(seg));
  auto before = ReadRecords(seg);
  ASSERT_TRUE(AppendFile(seg, std::string("\x40\x00\x00\x00garbage", 11)).ok());
  auto store = OpenStore(dir.path, &clock);
  auto after = ReadRecords(seg);
  EXPECT_EQ(after->file_bytes, before->file_bytes);  // tail cut
  TsdbQuery q{"jobs", {{"wf", "ci"}}, kT0, kT0 + 60'000, 60'000, Statistic::kSum};
  auto r = store->Query(q);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 59 * 60 / 2);
  // New samples after the restart add to the old ones.
  ASSERT_TRUE(store->Record("jobs", {{"wf", "ci"}}, 100, kT0 + 75'000).ok());
  clock.Set(kT0 + 130'000);
  ASSERT_TRUE(store->Flush().ok());
  q.end_ms = kT0 + 120'000;
  r = store->Query(q);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].value, 100);
}

TEST(Tsdb, DownsamplesAndAppliesRetention) {
  TempDir dir;
  FakeClock clock(kT0);
  TsdbOptions o;
  o.dir = dir.path;
  o.clock = &clock;
  o.tiers = {{10'000, 3'600'000}, {60'000, 86'400'000}};
  o.ring_bins = 10;
  auto store = std::move(TimeSeriesStore::Open(o).value());
  for (int i = 0; i < 3 * 3600; i += 5) {  // three hours, a sample every 5 s
    ASSERT_TRUE(store->Record("cpu", {}, i % 100, kT0 + i * 1000LL).ok());
    if (i % 600 == 0) {
      clock.Set(kT0 + i * 1000LL);
      ASSERT_TRUE(store->Flush().ok());
    }
  }
  clock.Set(kT0 + 3 * 3'600'000 + 60'000);
  ASSERT_TRUE(store->Flush().ok());
  // The first hour's 10 s segment is past retention and gone; its 1 min tier remains.
  EXPECT_FALSE(PathExists(dir.path + "/tier-10000/" + std::to_string(kT0) + ".seg"));
  TsdbQuery q{"cpu", {}, kT0, kT0 + 3'600'000, 600'000, Statistic::kSampleCount};
  auto r = store->Query(q);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[0].value, 120);
  q.stat = Statistic::kMaximum;
  EXPECT_EQ((*store->Query(q))[0].value, 95);
}

TEST(Tsdb, SamplerTurnsCountersIntoIncreases) {
  FakeClock clock(kT0);
  auto store = OpenStore("", &clock);
  Registry registry;
  RegistrySampler sampler(&registry, store.get());
  Counter* errors = registry.GetCounter("lb_5xx_total", "5xx.", {{"tg", "web"}});
  Histogram* rt = registry.GetHistogram("lb_rt_seconds", "RT.", {{"tg", "web"}}, {1, 5, 10});
  for (int step = 0; step < 6; ++step) {
    errors->Inc(step);
    rt->Observe(step < 3 ? 0.5 : 7);
    clock.Advance(10'000);
    ASSERT_TRUE(sampler.Sample(clock.NowMs() - 1).ok());
  }
  clock.Advance(10'000);
  ASSERT_TRUE(store->Flush().ok());
  TsdbQuery q{"lb_5xx_total", {{"tg", "web"}}, kT0, kT0 + 120'000, 60'000, Statistic::kSum};
  auto r = store->Query(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 0 + 1 + 2 + 3 + 4 + 5);
  q.metric = "lb_rt_seconds";
  q.stat = Statistic::kAverage;
  EXPECT_NEAR((*store->Query(q))[0].value, (3 * 0.5 + 3 * 7) / 6.0, 1e-9);
  q.stat = Statistic::kP90;
  EXPECT_NEAR((*store->Query(q))[0].value, 7.5, 0.5);
}

TEST(Tsdb, QueryHandlerReturnsJson) {
  FakeClock clock(kT0 + 120'000);
  auto store = OpenStore("", &clock);
  ASSERT_TRUE(store->Record("deploys", {{"service", "web"}}, 4, kT0).ok());
  ASSERT_TRUE(store->Record("deploys", {{"service", "api"}}, 9, kT0).ok());
  auto h = QueryHandler(store.get());
  testing::StringRequest req("GET",
                             "/api/v1/metrics/query?metric=deploys&stat=sum&period=60&since=5m&label=service:web");
  testing::StringResponse res;
  h(req, res);
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = nlohmann::json::parse(res.body);
  ASSERT_EQ(j["datapoints"].size(), 1u);
  EXPECT_EQ(j["datapoints"][0]["value"], 4);
  testing::StringRequest bad("GET", "/q?metric=deploys&stat=p42");
  testing::StringResponse res2;
  h(bad, res2);
  EXPECT_EQ(res2.status, 400);
  testing::StringRequest list("GET", "/q?list=dep");
  testing::StringResponse res3;
  h(list, res3);
  EXPECT_EQ(nlohmann::json::parse(res3.body)["series"].size(), 2u);
}

}  // namespace
}  // namespace gantry::monitor
