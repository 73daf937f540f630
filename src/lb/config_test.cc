#include "lb/config.h"

#include <gtest/gtest.h>

namespace gantry::lb {
namespace {

TEST(LbConfig, AcceptsTheIssueShape) {
  auto c = ParseConfig(R"(
listeners:
  - listen: 127.0.0.1:8000
    rules:
      - path: /
        forward:
          - {target_group: web, weight: 100}
target_groups:
  web:
    targets: [127.0.0.1:8081]
    health_check: {path: /, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200-399"}
)");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].listen, "127.0.0.1:8000");
  EXPECT_EQ(c->listeners[0].rules[0].forward[0].weight, 100);
  const TargetGroup* g = c->FindGroup("web");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->targets, std::vector<std::string>{"127.0.0.1:8081"});
  EXPECT_EQ(g->health_check.interval_ms, 5000);
  EXPECT_EQ(g->health_check.timeout_ms, 2000);
  EXPECT_EQ(g->health_check.matcher_low, 200);
  EXPECT_EQ(g->health_check.matcher_high, 399);
}

TEST(LbConfig, ReadsEveryOption) {
  auto c = ParseConfig(R"(
workers: 2
access_log: /tmp/x.log
timeouts: {connect: 1s, header: 2s, idle: 3s, request: 4s}
limits: {max_header_bytes: 16KiB, max_body_bytes: 10MiB, max_connections: 100, upstream_keepalive: 8}
listeners:
  - listen: 0.0.0.0:80
    rules:
      - host: "*.example.com"
        path: /api
        headers: {X-Canary: "1"}
        forward:
          - {target_group: blue, weight: 90}
          - {target_group: green, weight: 10}
target_groups:
  blue:
    targets: [10.0.0.1:80, {address: "10.0.0.2:80"}]
    algorithm: least_outstanding_requests
    deregistration_delay: 30s
    slow_start: 60s
    stickiness: {enabled: true, cookie: S, duration: 1h}
    outlier_detection: {consecutive_errors: 3, ejection: 10s}
  green:
    targets: []
    health_check: {enabled: false}
)");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->workers, 2);
  EXPECT_EQ(c->timeouts.request_ms, 4000);
  EXPECT_EQ(c->limits.max_header_bytes, 16384u);
  EXPECT_EQ(c->limits.max_body_bytes, 10u << 20);
  const Rule& r = c->listeners[0].rules[0];
  EXPECT_EQ(r.host, "*.example.com");
  EXPECT_EQ(r.path_prefix, "/api");
  EXPECT_EQ(r.headers[0].name, "X-Canary");
  const TargetGroup* b = c->FindGroup("blue");
  EXPECT_EQ(b->targets.size(), 2u);
  EXPECT_EQ(b->algorithm, Algorithm::kLeastOutstandingRequests);
  EXPECT_EQ(b->slow_start_ms, 60000);
  EXPECT_TRUE(b->stickiness.enabled);
  EXPECT_EQ(b->stickiness.cookie, "S");
  EXPECT_EQ(b->outlier.consecutive_errors, 3);
  EXPECT_FALSE(c->FindGroup("green")->health_check.enabled);
}

struct Bad {
  const char* yaml;
  const char* error;
};

TEST(LbConfig, RejectsBadInputWithPositions) {
  const Bad cases[] = {
      {"listeners: []\n", "lb.yml:1:12: listeners must be a non-empty list"},
      {"listeners:\n  - listen: nope\n    rules: []\n", "lb.yml:2:13: listen must be host:port, got 'nope'"},
      {"listeners:\n  - listen: 1.2.3.4:1\n    rules:\n      - forward: [{target_group: x}]\n",
       "lb.yml:4:18: unknown target group 'x'"},
      {"listenrs: []\n", "lb.yml:1:1: unknown key 'listenrs' in configuration"},
      {"target_groups:\n  g: {health_check: {interval: 5x}}\nlisteners: []\n",
       "lb.yml:2:32: health_check.interval must be a duration"},
      {"target_groups:\n  g: {health_check: {matcher: \"300-200\"}}\n", "health_check.matcher must be"},
      {"target_groups:\n  g: {algorithm: random}\n", "algorithm must be round_robin or least_outstanding_requests"},
      {"target_groups:\n  g: {targets: [1.2.3.4:1, 1.2.3.4:1]}\n", "duplicate target 1.2.3.4:1"},
      {"target_groups:\n  g: {}\nlisteners:\n  - listen: 1.2.3.4:1\n    rules:\n      - forward: [{target_group: g, "
       "weight: 1000}]\n",
       "weight must be between 0 and 999"},
      {"listeners: [", "lb.yml:1:"},
      {"a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]", "nested too deeply"},
      {"- 1", "must be a mapping"},
      {"target_groups:\n  g: {targets: ['::1:80']}\n", "lb.yml:2:17: target has an IPv6 address without brackets"},
  };
  for (const auto& b : cases) {
    auto c = ParseConfig(b.yaml, "lb.yml");
    ASSERT_FALSE(c.ok()) << b.yaml;
    EXPECT_NE(c.error().find(b.error), std::string::npos) << "got: " << c.error() << "\nwant: " << b.error;
  }
}

TEST(LbConfig, AcceptsBracketedIPv6) {
  auto c = ParseConfig(
      "listeners:\n  - listen: '[::1]:8000'\n    rules:\n      - forward: [{target_group: g}]\n"
      "target_groups:\n  g: {targets: ['[::1]:8081', '127.0.0.1:8082']}\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->listeners[0].listen, "[::1]:8000");
  EXPECT_EQ(c->FindGroup("g")->targets[0], "[::1]:8081");
}

TEST(LbConfig, RefusesHugeFiles) {
  std::string big(2 << 20, '#');
  EXPECT_FALSE(ParseConfig(big).ok());
}

}  // namespace
}  // namespace gantry::lb
