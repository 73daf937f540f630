// End-to-end tests of the load balancer with real sockets on 127.0.0.1: real back ends
// (test_backend.h), a real LoadBalancer, raw HTTP clients. No timing assertions: waits
// are bounded loops on observable behaviour.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>

#include "lb/load_balancer.h"
#include "lb/test_backend.h"

namespace gantry::lb {
namespace {

using testing::Client;
using testing::TestBackend;

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

TargetGroup Group(const std::string& name, std::vector<std::string> targets, bool health = false) {
  TargetGroup g;
  g.name = name;
  g.targets = std::move(targets);
  g.health_check.enabled = health;
  g.health_check.path = "/health";
  g.health_check.interval_ms = 50;
  g.health_check.timeout_ms = 500;
  g.health_check.healthy_threshold = 2;
  g.health_check.unhealthy_threshold = 2;
  g.deregistration_delay_ms = 30'000;
  return g;
}

Config OneListener(std::vector<WeightedGroup> forward, std::vector<TargetGroup> groups) {
  Config c;
  c.workers = 2;
  Listener l;
  l.listen = "127.0.0.1:0";
  Rule r;
  r.forward = std::move(forward);
  l.rules.push_back(r);
  c.listeners.push_back(l);
  c.target_groups = std::move(groups);
  return c;
}

std::unique_ptr<LoadBalancer> StartOrDie(Config c) {
  auto lb = LoadBalancer::Start(std::move(c));
  EXPECT_TRUE(lb.ok()) << lb.error();
  return std::move(*lb);
}

// Waits (bounded) until `pred` holds.
template <typename F>
bool WaitFor(F pred, int seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TargetState StateOf(const LoadBalancer& lb, const std::string& group, const std::string& address) {
  for (const auto& g : lb.GetMetrics().groups)
    if (g.name == group)
      for (const auto& t : g.targets)
        if (t.address == address) return t.state;
  return TargetState::kUnused;
}

TEST(LoadBalancer, ProxiesWithForwardedHeadersAndKeepAlive) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  Client c(lb->BoundPort(0));
  auto r = c.Get("/headers", "X-Forwarded-For: 10.0.0.1\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
  EXPECT_NE(r.body.find("X-Forwarded-Host: test\r\n"), std::string::npos);
  EXPECT_NE(r.body.find("X-Request-Id: "), std::string::npos);
  int fd = c.fd();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(c.Get("/").body, "a");
  EXPECT_EQ(fd, c.fd()) << "client connection was not kept alive";
  // A large response streams through the bounded buffers (many reads per event).
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.Get("/big?bytes=20000000").body.size(), 20'000'000u);
  auto chunked = c.Get("/chunked");
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  // Counters are recorded just after the last byte went out: wait for the worker.
  EXPECT_TRUE(WaitFor([&] { return lb->GetMetrics().groups[0].counters.requests == 105u; }));
  auto m = lb->GetMetrics();
  EXPECT_EQ(m.groups[0].counters.status_2xx, 105u);
  EXPECT_LE(a.requests.load(), 106);
}

bool HasIPv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  testing::Loopback a(true);
  bool ok = fd >= 0 && bind(fd, a.get(), a.len) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

TEST(LoadBalancer, ServesIPv6ListenersAndTargets) {
  if (!HasIPv6Loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  TestBackend v6("v6", /*v6=*/true), v4("v4");
  Config c = OneListener({{"web", 1}}, {Group("web", {v6.address(), v4.address()}, /*health=*/true)});
  c.listeners[0].listen = "[::1]:0";
  Listener second;  // an IPv4 listener in front of the same mixed group
  second.listen = "127.0.0.1:0";
  second.rules = c.listeners[0].rules;
  c.listeners.push_back(second);
  auto lb = StartOrDie(c);
  EXPECT_EQ(lb->BoundAddress(0).rfind("[::1]:", 0), 0u) << lb->BoundAddress(0);
  // Health checks reach the IPv6 target too.
  ASSERT_TRUE(WaitFor([&] { return StateOf(*lb, "web", v6.address()) == TargetState::kHealthy; }));
  ASSERT_TRUE(WaitFor([&] { return StateOf(*lb, "web", v4.address()) == TargetState::kHealthy; }));
  Client c6(lb->BoundPort(0), /*v6=*/true);
  std::map<std::string, int> seen;
  for (int i = 0; i < 20; ++i) seen[c6.Get("/").body]++;
  EXPECT_EQ(seen["v6"], 10);
  EXPECT_EQ(seen["v4"], 10);
  // The client's IPv6 address is forwarded as written (no brackets, as in X-Forwarded-For).
  std::string xff;
  for (int i = 0; i < 2 && xff.empty(); ++i) {
    auto r = c6.Get("/headers");
    ASSERT_EQ(r.status, 200);
    if (r.body.find("X-Forwarded-For: ::1\r\n") != std::string::npos) xff = "::1";
  }
  EXPECT_EQ(xff, "::1");
  Client c4(lb->BoundPort(1));
  EXPECT_EQ(c4.Get("/").status, 200);
}

TEST(LoadBalancer, WritesAnAccessLog) {
  TestBackend a("a");
  char dir[] = "/tmp/gantry-lb-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string log = std::string(dir) + "/access.log";
  Config c = OneListener({{"web", 1}}, {Group("web", {a.address()})});
  c.access_log = log;
  auto lb = StartOrDie(c);
  Client cl(lb->BoundPort(0));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cl.Get("/").status, 200);
  cl.Reset();
  lb->Stop(1000);  // flushes
  FILE* f = fopen(log.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  int lines = 0;
  while (fgets(line, sizeof(line), f)) {
    ++lines;
    EXPECT_NE(std::string(line).find(" 200 "), std::string::npos) << line;
    EXPECT_NE(std::string(line).find(" web " + a.address()), std::string::npos) << line;
  }
  fclose(f);
  EXPECT_EQ(lines, 3);
  unlink(log.c_str());
  rmdir(dir);
}

TEST(LoadBalancer, StreamsRequestBodiesAndExpectContinue) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  Client c(lb->BoundPort(0));
  std::string big(1 << 20, 'x');
  auto r = c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  EXPECT_EQ(r.body, "got 1048576");
  r = c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(r.body, "got 5");
  // Expect: 100-continue: the interim response arrives before the body is sent.
  int fd = testing::ConnectTo(lb->BoundPort(0));
  ASSERT_TRUE(
      testing::SendAll(fd, "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  std::string buf;
  EXPECT_EQ(testing::ReadReply(fd, buf).status, 100);
  ASSERT_TRUE(testing::SendAll(fd, "abcd"));
  EXPECT_EQ(testing::ReadReply(fd, buf).body, "got 4");
  close(fd);
}

TEST(LoadBalancer, WeightsAreHonouredOver10000Requests) {
  TestBackend blue("blue"), green("green");
  auto lb = StartOrDie(
      OneListener({{"blue", 30}, {"green", 70}}, {Group("blue", {blue.address()}), Group("green", {green.address()})}));
  std::atomic<int> counts[2] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      Client c(lb->BoundPort(0));
      for (int i = 0; i < 2500; ++i) {
        auto r = c.Get("/");
        if (r.body == "blue") ++counts[0];
        if (r.body == "green") ++counts[1];
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counts[0] + counts[1], 10000);
  EXPECT_NEAR(counts[0].load(), 3000, 300);  // within 3 percentage points
  EXPECT_NEAR(counts[1].load(), 7000, 300);
}

TEST(LoadBalancer, RoundRobinAndLeastOutstandingSpreadAcrossTargets) {
  TestBackend a("a"), b("b");
  for (Algorithm alg : {Algorithm::kRoundRobin, Algorithm::kLeastOutstandingRequests}) {
    TargetGroup g = Group("web", {a.address(), b.address()});
    g.algorithm = alg;
    auto lb = StartOrDie(OneListener({{"web", 1}}, {g}));
    std::map<std::string, int> seen;
    Client c(lb->BoundPort(0));
    for (int i = 0; i < 200; ++i) ++seen[c.Get("/").body];
    EXPECT_GT(seen["a"], 20);
    EXPECT_GT(seen["b"], 20);
  }
}

TEST(LoadBalancer, UnhealthyTargetStopsReceivingTraffic) {
  TestBackend a("a"), b("b");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address(), b.address()}, true)}));
  ASSERT_TRUE(WaitFor([&] {
    return StateOf(*lb, "web", a.address()) == TargetState::kHealthy &&
           StateOf(*lb, "web", b.address()) == TargetState::kHealthy;
  }));
  b.health_status = 500;
  // interval 50 ms x threshold 2: generous bound, behaviour only.
  ASSERT_TRUE(WaitFor([&] { return StateOf(*lb, "web", b.address()) == TargetState::kUnhealthy; }));
  Client c(lb->BoundPort(0));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.Get("/").body, "a");
  EXPECT_EQ(lb->GetMetrics().groups[0].healthy_hosts, 1);
  // Fail open: with every target unhealthy, traffic still flows.
  a.health_status = 500;
  ASSERT_TRUE(WaitFor([&] { return StateOf(*lb, "web", a.address()) == TargetState::kUnhealthy; }));
  EXPECT_EQ(c.Get("/").status, 200);
  b.health_status = 200;
  ASSERT_TRUE(WaitFor([&] { return StateOf(*lb, "web", b.address()) == TargetState::kHealthy; }));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(c.Get("/").body, "b");
}

TEST(LoadBalancer, PassiveOutlierDetectionEjectsFailingTarget) {
  TestBackend a("a"), b("b");
  TargetGroup g = Group("web", {a.address(), b.address()});
  g.outlier.consecutive_errors = 3;
  g.outlier.ejection_ms = 60'000;
  auto lb = StartOrDie(OneListener({{"web", 1}}, {g}));
  b.status = 503;
  Client c(lb->BoundPort(0));
  int failures = 0;
  for (int i = 0; i < 200; ++i) failures += c.Get("/").status == 503;
  EXPECT_LE(failures, 3 * 2 + 2);  // ejected after 3 consecutive 5xx (per worker race aside)
  for (int i = 0; i < 50; ++i) EXPECT_EQ(c.Get("/").body, "a");
}

TEST(LoadBalancer, RetriesOnAnotherTargetWhenConnectionRefused) {
  TestBackend a("a");
  std::string dead = "127.0.0.1:" + std::to_string(testing::DeadPort());
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {dead, a.address()})}));
  Client c(lb->BoundPort(0));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(c.Get("/").status, 200);
  auto only_dead = StartOrDie(OneListener({{"web", 1}}, {Group("web", {dead})}));
  Client d(only_dead->BoundPort(0));
  EXPECT_EQ(d.Get("/").status, 502);
}

TEST(LoadBalancer, AnswersItsOwnErrors) {
  TestBackend a("a");
  Config c = OneListener({{"web", 1}}, {Group("web", {a.address()}), Group("empty", {})});
  c.listeners[0].rules[0].path_prefix = "/app";
  Rule r;
  r.path_prefix = "/none";
  r.forward = {{"empty", 1}};
  c.listeners[0].rules.push_back(r);
  Rule hdr;
  hdr.headers = {{"X-Canary", "1"}};
  hdr.forward = {{"web", 1}};
  c.listeners[0].rules.push_back(hdr);
  auto lb = StartOrDie(c);
  Client cl(lb->BoundPort(0));
  EXPECT_EQ(cl.Get("/app/x").status, 200);
  EXPECT_EQ(cl.Get("/none").status, 503);
  EXPECT_EQ(cl.Get("/other").status, 404);
  EXPECT_EQ(cl.Get("/other", "X-Canary: 1\r\n").status, 200);
}

TEST(LoadBalancer, RefusesRequestSmuggling) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  const char* attacks[] = {
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
      "GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n folded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
  };
  for (const char* attack : attacks) {
    int fd = testing::ConnectTo(lb->BoundPort(0));
    ASSERT_TRUE(testing::SendAll(fd, attack));
    std::string buf;
    EXPECT_EQ(testing::ReadReply(fd, buf).status, 400) << attack;
    close(fd);
  }
  EXPECT_EQ(a.requests.load(), 0);  // nothing reached the back end... except framed-then-bad bodies
}

TEST(LoadBalancer, EnforcesLimitsAndTimeouts) {
  TestBackend a("a");
  Config c = OneListener({{"web", 1}}, {Group("web", {a.address()})});
  c.limits.max_header_bytes = 2048;
  c.limits.max_body_bytes = 10;
  c.timeouts.header_ms = 200;
  c.timeouts.idle_ms = 300;
  auto lb = StartOrDie(c);
  Client cl(lb->BoundPort(0));
  EXPECT_EQ(cl.Get("/", "X-Big: " + std::string(4000, 'x') + "\r\n").status, 431);
  EXPECT_EQ(cl.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world").status, 413);
  EXPECT_EQ(cl.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello").body, "got 5");
  // The target stays silent longer than the idle timeout: 504.
  EXPECT_EQ(cl.Get("/slow?ms=1500").status, 504);
  // A client that never finishes its head gets 408.
  int fd = testing::ConnectTo(lb->BoundPort(0));
  ASSERT_TRUE(testing::SendAll(fd, "GET / HTTP/1.1\r\nHost: t\r\n"));
  std::string buf;
  EXPECT_EQ(testing::ReadReply(fd, buf).status, 408);
  close(fd);
  auto m = lb->GetMetrics();
  EXPECT_GE(m.listeners[0].counters.status_4xx, 3u);
}

TEST(LoadBalancer, WebSocketUpgradeIsTunnelled) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  int fd = testing::ConnectTo(lb->BoundPort(0));
  ASSERT_TRUE(testing::SendAll(fd,
                               "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::string buf;
  auto r = testing::ReadReply(fd, buf);
  ASSERT_EQ(r.status, 101);
  EXPECT_NE(r.head.find("Upgrade: websocket"), std::string::npos);
  for (int i = 0; i < 10; ++i) {
    std::string msg = "frame-" + std::to_string(i);
    ASSERT_TRUE(testing::SendAll(fd, msg));
    char tmp[64];
    while (buf.size() < msg.size()) {
      ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
      ASSERT_GT(n, 0);
      buf.append(tmp, static_cast<size_t>(n));
    }
    EXPECT_EQ(buf, msg);
    buf.clear();
  }
  close(fd);
}

TEST(LoadBalancer, DrainingFinishesInFlightRequests) {
  TestBackend a("a"), b("b");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  uint16_t port = lb->BoundPort(0);
  std::atomic<int> slow_status{0};
  std::string slow_body;
  std::thread slow([&] {
    Client c(port);
    auto r = c.Get("/slow?ms=700");
    slow_body = r.body;
    slow_status = r.status;
  });
  ASSERT_TRUE(WaitFor([&] { return a.requests.load() >= 1; }));
  ASSERT_TRUE(lb->SetTargets("web", {b.address()}).ok());
  EXPECT_EQ(StateOf(*lb, "web", a.address()), TargetState::kDraining);
  Client c(port);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.Get("/").body, "b");
  slow.join();
  EXPECT_EQ(slow_status.load(), 200);
  EXPECT_EQ(slow_body, "a");
  // In-flight done: the target leaves the group (unused).
  EXPECT_TRUE(WaitFor([&] { return StateOf(*lb, "web", a.address()) == TargetState::kUnused; }));
}

TEST(LoadBalancer, NoFailedRequestsWhileWeightsMove) {
  TestBackend blue("blue"), green("green");
  auto lb = StartOrDie(
      OneListener({{"blue", 100}, {"green", 0}}, {Group("blue", {blue.address()}), Group("green", {green.address()})}));
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      Client c(lb->BoundPort(0));
      for (int i = 0; i < 20'000 && !done; ++i) {
        auto r = c.Get("/");
        (r.status == 200 ? ok : failed)++;
      }
    });
  for (int w = 0; w <= 100; w += 5) {
    ASSERT_TRUE(lb->SetWeights({{"blue", 100 - w}, {"green", w}}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Also swap a target set and re-apply the whole config under load.
  ASSERT_TRUE(lb->Apply(lb->config()).ok());
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  Client c(lb->BoundPort(0));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.Get("/").body, "green");
}

TEST(LoadBalancer, StickinessPinsClientsToATarget) {
  TestBackend a("a"), b("b");
  TargetGroup g = Group("web", {a.address(), b.address()});
  g.stickiness.enabled = true;
  auto lb = StartOrDie(OneListener({{"web", 1}}, {g}));
  Client c(lb->BoundPort(0));
  auto first = c.Get("/");
  size_t at = first.head.find("Set-Cookie: GANTRY_LB=");
  ASSERT_NE(at, std::string::npos);
  std::string cookie = first.head.substr(at + 12, first.head.find(';', at) - at - 12);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.Get("/", "Cookie: " + cookie + "\r\n").body, first.body);
}

TEST(LoadBalancer, RefusesAPortInUseAndKeepsConfigOnBadApply) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  Config taken = OneListener({{"web", 1}}, {Group("web", {a.address()})});
  taken.listeners[0].listen = lb->BoundAddress(0);
  auto second = LoadBalancer::Start(taken);
  EXPECT_FALSE(second.ok());
  // Apply with a listener that cannot bind fails and changes nothing.
  Config bad = lb->config();
  Listener extra;
  extra.listen = a.address();  // the back end's port is taken
  extra.rules = bad.listeners[0].rules;
  bad.listeners.push_back(extra);
  EXPECT_FALSE(lb->Apply(bad).ok());
  EXPECT_EQ(lb->config().listeners.size(), 1u);
  // A new listener added by Apply serves at once ("localhost:0" differs from "127.0.0.1:0").
  Config more = lb->config();
  Listener second_listener = more.listeners[0];
  second_listener.listen = "localhost:0";
  more.listeners.push_back(second_listener);
  EXPECT_TRUE(lb->Apply(more).ok());
  EXPECT_EQ(Client(lb->BoundPort(1)).Get("/").body, "a");
}

TEST(LoadBalancer, GracefulStopFinishesInFlight) {
  TestBackend a("a");
  auto lb = StartOrDie(OneListener({{"web", 1}}, {Group("web", {a.address()})}));
  std::atomic<int> status{0};
  std::thread slow([&] { status = Client(lb->BoundPort(0)).Get("/slow?ms=300").status; });
  ASSERT_TRUE(WaitFor([&] { return a.requests.load() >= 1; }));
  lb->Stop(5000);
  slow.join();
  EXPECT_EQ(status.load(), 200);
}

}  // namespace
}  // namespace gantry::lb
