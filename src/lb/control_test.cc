// lb::Control over a real LoadBalancer, both in this process and through the admin channel
// of `gantry lb` (a real base/http_server on 127.0.0.1 serving AdminHandler, the way the
// server drives its load balancer process).
#include "lb/control.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/http_server.h"
#include "lb/test_backend.h"

namespace gantry::lb {
namespace {

using testing::Client;
using testing::TestBackend;

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

Config Sample() {
  Config c;
  c.workers = 1;
  c.timeouts.connect_ms = 1500;
  c.limits.max_body_bytes = 4096;
  TargetGroup g;
  g.name = "web.staging.a";
  g.targets = {"127.0.0.1:9"};
  g.health_check.enabled = false;
  g.health_check.path = "/health";
  g.health_check.interval_ms = 250;
  g.health_check.matcher_low = 200;
  g.health_check.matcher_high = 299;
  g.deregistration_delay_ms = 300;
  g.algorithm = Algorithm::kLeastOutstandingRequests;
  g.stickiness.enabled = true;
  c.target_groups.push_back(g);
  g.name = "web.staging.b";
  g.targets.clear();
  c.target_groups.push_back(g);
  Rule r;
  r.host = "web.staging.localhost";
  r.path_prefix = "/";
  r.headers.push_back({"X-Canary", "*"});
  r.forward = {{"web.staging.a", 100}, {"web.staging.b", 0}};
  c.listeners.push_back(Listener{"127.0.0.1:0", {r}});
  return c;
}

TEST(LbControl, FormattedConfigReadsBackUnchanged) {
  const std::string text = FormatConfig(Sample());
  auto parsed = ParseConfig(text, "lb.yml");
  ASSERT_TRUE(parsed.ok()) << parsed.error() << "\n" << text;
  EXPECT_EQ(FormatConfig(*parsed), text);
  EXPECT_EQ(parsed->target_groups[0].algorithm, Algorithm::kLeastOutstandingRequests);
  EXPECT_EQ(parsed->listeners[0].rules[0].headers[0].value, "*");
}

TEST(LbControl, MetricsSurviveTheWireAndBadInputIsAnError) {
  Metrics m;
  GroupMetrics g;
  g.name = "a";
  g.counters.requests = 7;
  g.counters.status_5xx = 2;
  g.counters.latency_buckets[3] = 5;
  g.targets.push_back({"127.0.0.1:1", TargetState::kDraining, {}, 1, 0});
  m.groups.push_back(g);
  auto back = MetricsFromJson(MetricsToJson(m));
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back->groups.size(), 1u);
  EXPECT_EQ(back->groups[0].counters.requests, 7u);
  EXPECT_EQ(back->groups[0].counters.latency_buckets[3], 5u);
  EXPECT_EQ(back->groups[0].targets[0].state, TargetState::kDraining);
  for (const char* bad : {"", "[]", "{\"groups\": 3}", "{\"groups\": [{\"counters\": {\"requests\": -1}}]}", "1e99999"})
    EXPECT_FALSE(MetricsFromJson(bad).ok()) << bad;
}

TEST(LbControl, RemoteControlDrivesALoadBalancerThroughItsAdminChannel) {
  const std::string dir = *MakeTempDir("gantry-lb-control");
  const std::string file = dir + "/lb.yml";
  Config c = Sample();
  c.target_groups[0].targets.clear();
  ASSERT_TRUE(WriteFileAtomic(file, FormatConfig(c)).ok());
  auto lb = LoadBalancer::Start(*ReadConfigFile(file));
  ASSERT_TRUE(lb.ok()) << lb.error();
  http::ServerOptions ho;
  ho.listen = "127.0.0.1:0";
  http::Server admin(ho);
  ASSERT_TRUE(admin.Start(AdminHandler(lb->get(), file, "secret")).ok());
  const std::string url = "http://" + admin.address();

  auto denied = http::Fetch(http::MakeRequest("GET", url + "/lb/metrics", "", {{"Authorization", "Bearer nope"}}));
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 401);

  auto rc = RemoteControl::Open(
      file, [&] { return url; }, "secret");
  ASSERT_TRUE(rc.ok()) << rc.error();
  TestBackend backend("blue");
  ASSERT_TRUE((*rc)->SetTargets("web.staging.a", {backend.address()}).ok());
  Client client((*lb)->BoundPort(0));
  auto reply = client.Send("GET / HTTP/1.1\r\nHost: web.staging.localhost\r\nX-Canary: 1\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "blue");
  // The file holds what was applied (a restarted lb process reads it back).
  EXPECT_EQ(ReadConfigFile(file)->target_groups[0].targets, std::vector<std::string>{backend.address()});

  auto m = (*rc)->GetMetrics();
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_EQ(m->groups[0].targets.size(), 1u);
  EXPECT_EQ(m->groups[0].targets[0].state, TargetState::kHealthy);
  // The counters are updated once the response has been sent: a bounded wait.
  for (int i = 0; i < 200 && m.ok() && m->groups[0].counters.requests == 0; ++i) {
    usleep(10'000);
    m = (*rc)->GetMetrics();
  }
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_GE(m->groups[0].counters.requests, 1u);
  // Re-applying the same targets (a restarted server restoring its routes) keeps their state.
  ASSERT_TRUE((*rc)->SetTargets("web.staging.a", {backend.address()}).ok());
  EXPECT_EQ((*rc)->GetMetrics()->groups[0].targets[0].state, TargetState::kHealthy);

  ASSERT_TRUE((*rc)->SetWeights({{"web.staging.a", 0}, {"web.staging.b", 100}}).ok());
  // Workers take the new snapshot at their next loop turn: a bounded wait, not a timing assertion.
  int status = 0;
  for (int i = 0; i < 200 && status != 503; ++i) {
    status = client.Send("GET / HTTP/1.1\r\nHost: web.staging.localhost\r\nX-Canary: 1\r\n\r\n").status;
    if (status != 503) usleep(10'000);
  }
  EXPECT_EQ(status, 503);
  EXPECT_FALSE((*rc)->SetWeights({{"nope", 1}}).ok());

  // An unreachable process: the change is kept in the file, reads report the error.
  auto offline = RemoteControl::Open(
      file, [] { return std::string(); }, "secret");
  ASSERT_TRUE(offline.ok());
  EXPECT_TRUE((*offline)->SetWeights({{"web.staging.a", 100}, {"web.staging.b", 0}}).ok());
  EXPECT_FALSE((*offline)->GetMetrics().ok());
  EXPECT_EQ(ReadConfigFile(file)->listeners[0].rules[0].forward[0].weight, 100);
  admin.Stop();
  (*lb)->Stop(0);
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace gantry::lb
