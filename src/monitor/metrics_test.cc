#include "monitor/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "monitor/exposition.h"
#include "monitor/push.h"
#include "monitor/test_util.h"

namespace gantry::monitor {
namespace {

TEST(Registry, CountersSumAcrossThreads) {
  Registry r;
  Counter* c = r.GetCounter("gantry_requests_total", "Requests.", {{"code", "200"}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 10000; ++i) c->Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value(), 40000);
  EXPECT_EQ(r.GetCounter("gantry_requests_total", "Requests.", {{"code", "200"}}), c);
  c->Inc(-5);  // ignored
  EXPECT_EQ(c->Value(), 40000);
}

TEST(Registry, RefusesBadNamesTypeClashesAndTooManySeries) {
  RegistryLimits limits;
  limits.max_series = 2;
  Registry r(limits);
  EXPECT_FALSE(r.MakeCounter("9bad", "").ok());
  EXPECT_FALSE(r.MakeCounter("ok", "", {{"__reserved", "x"}}).ok());
  EXPECT_FALSE(r.MakeCounter("ok", "", {{"a", "1"}, {"a", "2"}}).ok());
  ASSERT_TRUE(r.MakeCounter("ok", "").ok());
  auto clash = r.MakeGauge("ok", "");
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().find("is a counter"), std::string::npos);
  ASSERT_TRUE(r.MakeGauge("g", "").ok());
  auto full = r.MakeGauge("g2", "");
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find("too many"), std::string::npos);
}

TEST(Exposition, RendersTextFormatWithEscapingAndHistograms) {
  Registry r;
  r.GetCounter("http_requests_total", "Requests\nby \\ code.", {{"path", "/a\"b\\c\nd"}, {"code", "500"}})->Inc(3);
  r.GetGauge("temperature", "T.")->Set(-1.5);
  Histogram* h = r.GetHistogram("latency_seconds", "L.", {{"tg", "web"}}, {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(7);
  ASSERT_TRUE(r.GaugeCallback("answer", "A.", {}, [] { return 42.0; }).ok());
  std::string text = RenderPrometheus(r);
  EXPECT_EQ(text,
            "# HELP answer A.\n# TYPE answer gauge\nanswer 42\n"
            "# HELP http_requests_total Requests\\nby \\\\ code.\n# TYPE http_requests_total counter\n"
            "http_requests_total{code=\"500\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP latency_seconds L.\n# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{tg=\"web\",le=\"0.1\"} 1\n"
            "latency_seconds_bucket{tg=\"web\",le=\"1\"} 2\n"
            "latency_seconds_bucket{tg=\"web\",le=\"+Inf\"} 3\n"
            "latency_seconds_sum{tg=\"web\"} 7.55\n"
            "latency_seconds_count{tg=\"web\"} 3\n"
            "# HELP temperature T.\n# TYPE temperature gauge\ntemperature -1.5\n");
}

TEST(Exposition, HandlerServesGetOnly) {
  Registry r;
  r.GetCounter("x_total", "X.")->Inc();
  testing::StringRequest get("GET", "/metrics");
  testing::StringResponse res;
  MetricsHandler(r)(get, res);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(http::FindHeader(res.headers, "Content-Type"), kPrometheusContentType);
  EXPECT_NE(res.body.find("x_total 1\n"), std::string::npos);
  testing::StringRequest post("POST", "/metrics");
  testing::StringResponse res2;
  MetricsHandler(r)(post, res2);
  EXPECT_EQ(res2.status, 405);
}

TEST(Statsd, ParsesCountersGaugesTimingsRatesAndTags) {
  auto s = ParseStatsd("web.requests:3|c|@0.5|#service:web,env:prod\nqueue:7|g\nqueue:-2|g\nbuild.time:250|ms\n\n");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->size(), 4u);
  EXPECT_EQ((*s)[0].name, "web_requests");
  EXPECT_EQ((*s)[0].rate, 0.5);
  EXPECT_EQ((*s)[0].labels, (Labels{{"env", "prod"}, {"service", "web"}}));
  EXPECT_EQ((*s)[2].kind, SampleKind::kGaugeDelta);
  Registry r;
  ASSERT_TRUE(ApplySamples(*s, &r).ok());
  std::string text = RenderPrometheus(r);
  EXPECT_NE(text.find("web_requests{env=\"prod\",service=\"web\"} 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("queue 5\n"), std::string::npos);
  EXPECT_NE(text.find("build_time_bucket{le=\"250\"} 1\n"), std::string::npos);
}

TEST(Statsd, BadInputHasLineAndColumn) {
  struct Case {
    const char* in;
    const char* error;
  } cases[] = {
      {"ok:1|c\nnocolon", "statsd:2:1: expected name:value|type"},
      {"a:x|c", "statsd:1:3: invalid number \"x\""},
      {"a:1|q", "statsd:1:5: unknown type \"q\""},
      {"a:1|c|@2", "statsd:1:7: sample rate must be in (0, 1]"},
      {"a:-1|c", "statsd:1:3: a counter cannot be negative"},
      {"a:1|c|zzz", "statsd:1:7: expected @rate or #tags"},
      {"a:1", "statsd:1:3: expected value|type"},
      {"1a:1|c", "statsd:1:1: invalid metric name"},
  };
  for (const auto& c : cases) {
    auto r = ParseStatsd(c.in);
    ASSERT_FALSE(r.ok()) << c.in;
    EXPECT_EQ(r.error().rfind(c.error, 0), 0u) << r.error();
  }
  PushLimits limits;
  limits.max_samples = 2;
  EXPECT_FALSE(ParseStatsd("a:1|c\na:1|c\na:1|c", "statsd", limits).ok());
  limits.max_line_length = 10;
  EXPECT_FALSE(ParseStatsd("a:1|c|#xxxxxxxxxxxxxxx", "statsd", limits).ok());
}

TEST(PushJson, AppliesAndReportsErrors) {
  auto s = ParsePushJson(R"({"metrics":[{"name":"deploys_total","type":"counter","value":2,"labels":{"service":"web"}},
                            {"name":"coverage","value":81.5,"help":"Line coverage."}]})");
  ASSERT_TRUE(s.ok()) << s.error();
  Registry r;
  ASSERT_TRUE(ApplySamples(*s, &r).ok());
  std::string text = RenderPrometheus(r);
  EXPECT_NE(text.find("deploys_total{service=\"web\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP coverage Line coverage.\n"), std::string::npos);

  auto bad = ParsePushJson("{\n  \"metrics\": [1,]\n}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("push:2:", 0), 0u) << bad.error();
  EXPECT_FALSE(ParsePushJson(std::string(100, '[')).ok());
  EXPECT_FALSE(ParsePushJson(R"({"metrics":[{"name":"x","value":"1"}]})").ok());
  EXPECT_FALSE(ParsePushJson(R"({"metrics":[{"name":"x","value":1,"type":"weird"}]})").ok());
}

TEST(PushHandler, AcceptsStatsdAndJson) {
  Registry r;
  auto handler = PushHandler(&r);
  testing::StringRequest req("POST", "/api/v1/metrics", "hits:1|c\n");
  testing::StringResponse res;
  handler(req, res);
  EXPECT_EQ(res.status, 204);
  testing::StringRequest bad("POST", "/api/v1/metrics", "hits:1|zz\n");
  testing::StringResponse res2;
  handler(bad, res2);
  EXPECT_EQ(res2.status, 400);
  EXPECT_NE(res2.body.find("request body:1:8"), std::string::npos) << res2.body;
}

}  // namespace
}  // namespace gantry::monitor
