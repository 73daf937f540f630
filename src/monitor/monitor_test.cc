// The monitor wired together behind the real HTTP server, scraped by a real Prometheus.
#include "monitor/monitor.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/http_server.h"
#include "base/sha256.h"
#include "monitor/exposition.h"

extern char** environ;

namespace gantry::monitor {
namespace {

struct TempDir {
  TempDir() : path(*MakeTempDir("gantry-monitor-")) {}
  ~TempDir() { (void)RemoveAll(path); }
  std::string path;
};

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(Monitor, HandlersOverRealHttp) {
  TempDir dir;
  FakeClock clock(1'700'000'000'000 / 60'000 * 60'000);
  MonitorOptions o;
  o.data_dir = dir.path;
  o.clock = &clock;
  auto m = std::move(Monitor::Open(o).value());
  http::Router router;
  m->Mount(router);
  http::Server server;
  ASSERT_TRUE(server.Start(router.AsHandler()).ok());
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto push = http::Fetch(http::MakeRequest("POST", base + "/api/v1/metrics", "builds:3|c|#project:shop\n"));
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push->status, 204);
  auto metrics = http::Fetch(http::MakeRequest("GET", base + "/metrics"));
  EXPECT_NE(metrics->body.find("builds{project=\"shop\"} 3"), std::string::npos) << metrics->body;
  clock.Advance(10'000);
  ASSERT_TRUE(m->Tick(clock.NowMs()).ok());
  auto q = http::Fetch(http::MakeRequest("GET", base + "/api/v1/metrics/query?metric=builds&stat=sum&since=5m"));
  ASSERT_EQ(q->status, 200) << q->body;
  EXPECT_EQ(nlohmann::json::parse(q->body)["datapoints"][0]["value"], 3);
  MetricAlarm a;
  a.name = "too-many-builds";
  a.metric = "builds";
  a.stat = Statistic::kSum;
  a.threshold = 1;
  ASSERT_TRUE(m->alarms().Put(a).ok());
  clock.Advance(60'000);
  ASSERT_TRUE(m->Tick(clock.NowMs()).ok());
  auto alarms = http::Fetch(http::MakeRequest("GET", base + "/api/v1/alarms"));
  EXPECT_EQ(nlohmann::json::parse(alarms->body)["alarms"][0]["state"], "ALARM") << alarms->body;
  EXPECT_EQ(http::Fetch(http::MakeRequest("POST", base + "/metrics"))->status, 405);

  // The CLI pushes through the same endpoint; bad lines stop before the network.
  std::string gantry = std::getenv("GANTRY_BIN");
  std::string cmd = "GANTRY_URL=" + base + " " + gantry + " metrics push 'cli.pushes:2|c|#via:cli' >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0);
  metrics = http::Fetch(http::MakeRequest("GET", base + "/metrics"));
  EXPECT_NE(metrics->body.find("cli_pushes{via=\"cli\"} 2"), std::string::npos) << metrics->body;
  cmd = "GANTRY_URL=" + base + " " + gantry + " metrics push 'bad:x|c' >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 2);
  cmd =
      "GANTRY_URL=http://127.0.0.1:" + std::to_string(FreePort()) + " " + gantry + " metrics push 'a:1|c' 2>/dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 3);
  server.Stop();
}

// The acceptance path: the load balancer's 5xx counter rises, the alarm fires within one
// period, the deploy controller's hook rolls back once, and the topic gets one notification
// per transition, delivered to a real HTTP receiver with a valid signature.
TEST(Monitor, FiveXxAlarmRollsBackAndNotifiesOncePerTransition) {
  TempDir dir;
  FakeClock clock(1'700'000'000'000 / 60'000 * 60'000);
  MonitorOptions o;
  o.data_dir = dir.path;
  o.clock = &clock;
  auto m = std::move(Monitor::Open(o).value());

  std::mutex mu;
  std::vector<std::string> received;
  http::Server receiver;
  ASSERT_TRUE(receiver
                  .Start([&](http::Request& req, http::Response& res) {
                    auto body = req.ReadAll(1 << 20);
                    std::string sig(req.Header("X-Gantry-Signature-256"));
                    std::lock_guard lock(mu);
                    if (body.ok() && sig == "sha256=" + HmacSha256Hex("k", *body)) received.push_back(*body);
                    res.Send(200, "text/plain", "ok");
                  })
                  .ok());
  ASSERT_TRUE(
      m->notifier()
          .AddSubscription(
              "ops", {Protocol::kWebhook, "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook", "k", {}})
          .ok());
  MetricAlarm a;
  a.name = "web-5xx";
  a.metric = "gantry_lb_responses_total";
  a.dimensions = {{"target_group", "web"}, {"code_class", "5xx"}};
  a.stat = Statistic::kSum;
  a.threshold = 10;
  a.missing_data = MissingData::kNotBreaching;
  a.actions.on_alarm = {"deploy:rollback:web", "topic:ops"};
  a.actions.on_ok = {"topic:ops"};
  ASSERT_TRUE(m->alarms().Put(a).ok());
  int rollbacks = 0;
  m->alarms().Subscribe([&](const AlarmTransition& t) {  // what the deploy controller does
    for (const auto& act : t.actions) rollbacks += act == "deploy:rollback:web";
  });
  Counter* fivexx = m->registry().GetCounter("gantry_lb_responses_total", "Responses by class.",
                                             {{"target_group", "web"}, {"code_class", "5xx"}});
  auto tick = [&] {
    clock.Advance(10'000);
    ASSERT_TRUE(m->Tick(clock.NowMs()).ok());
  };
  for (int i = 0; i < 12; ++i) tick();  // healthy: OK
  int64_t fault = clock.NowMs();
  while (m->alarms().State("web-5xx") != AlarmState::kAlarm && clock.NowMs() - fault < 5 * 60'000) {
    fivexx->Inc(4);  // 24 per minute
    tick();
  }
  EXPECT_EQ(m->alarms().State("web-5xx"), AlarmState::kAlarm);
  EXPECT_LE(clock.NowMs() - fault, 70'000);
  for (int i = 0; i < 6; ++i) {  // still failing: no new transition
    fivexx->Inc(4);
    tick();
  }
  for (int i = 0; i < 12; ++i) tick();  // rolled back, errors stop: OK again
  EXPECT_EQ(m->alarms().State("web-5xx"), AlarmState::kOk);
  EXPECT_EQ(rollbacks, 1);
  ASSERT_TRUE(m->notifier().DeliverDue(clock.NowMs()).ok());
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 3u);  // INSUFFICIENT_DATA->OK, OK->ALARM, ALARM->OK
  EXPECT_EQ(nlohmann::json::parse(received[1])["fields"]["state"], "ALARM");
  EXPECT_EQ(nlohmann::json::parse(received[2])["fields"]["state"], "OK");
  receiver.Stop();
}

TEST(Monitor, BackgroundLoopStartsAndStops) {
  TempDir dir;
  MonitorOptions o;
  o.data_dir = dir.path;
  auto m = std::move(Monitor::Open(o).value());
  m->Start();
  m->Start();  // idempotent
  m->Stop();   // returns without waiting for the next step
  m->Stop();
}

TEST(Monitor, WatchProcessReadsProc) {
  Registry r;
  ASSERT_TRUE(WatchProcess(&r, {{"instance", "self"}}, ::getpid()).ok());
  double rss = -1;
  r.ForEach([&](const Family& f) {
    if (f.name == "gantry_process_resident_memory_bytes") rss = f.series.front().callback();
  });
  EXPECT_GT(rss, 1 << 20);
}

// A real Prometheus (Debian package) scrapes /metrics from the real HTTP server.
TEST(Monitor, PrometheusScrapesMetrics) {
  const char* prometheus = "/usr/bin/prometheus";
  if (::access(prometheus, X_OK) != 0) {
    GTEST_SKIP() << "prometheus is not installed (Debian package prometheus; scripts/deps.d/monitor.list)";
  }
  TempDir dir;
  Registry registry;
  registry
      .GetCounter("gantry_test_requests_total", "Requests\nwith \\ odd help.",
                  {{"target_group", "web"}, {"path", "/a\"b\\c"}})
      ->Inc(7);
  Histogram* h = registry.GetHistogram("gantry_test_latency_seconds", "Latency.", {{"target_group", "web"}});
  h->Observe(0.02);
  h->Observe(3);
  registry.GetGauge("gantry_test_healthy_hosts", "Healthy hosts.")->Set(2);
  http::Router router;
  router.Mount("GET", "/metrics", MetricsHandler(registry));
  http::Server server;
  ASSERT_TRUE(server.Start(router.AsHandler()).ok());

  int prom_port = FreePort();
  std::string config = dir.path + "/prometheus.yml";
  ASSERT_TRUE(WriteFileAtomic(config,
                              "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                              "scrape_configs:\n  - job_name: gantry\n    static_configs:\n"
                              "      - targets: ['127.0.0.1:" +
                                  std::to_string(server.port()) + "']\n")
                  .ok());
  std::vector<std::string> args = {prometheus, "--config.file=" + config, "--storage.tsdb.path=" + dir.path + "/data",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, prometheus, nullptr, nullptr, argv.data(), environ), 0);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};

  std::string api = "http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/query?query=";
  auto query = [&](const std::string& expr) -> nlohmann::json {
    auto r = http::Fetch(http::MakeRequest("GET", api + http::PercentEncode(expr)));
    if (!r.ok() || r->status != 200) return nlohmann::json();
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_object() ? j["data"]["result"] : nlohmann::json();
  };
  // Wait (bounded) for the first scrape to land.
  nlohmann::json result;
  for (int i = 0; i < 600 && (!result.is_array() || result.empty()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    result = query("gantry_test_requests_total");
  }
  ASSERT_TRUE(result.is_array() && !result.empty()) << "prometheus never scraped the target";
  EXPECT_EQ(result[0]["metric"]["path"], "/a\"b\\c");
  EXPECT_EQ(result[0]["value"][1], "7");
  auto up = query("up{job=\"gantry\"}");
  ASSERT_FALSE(up.empty());
  EXPECT_EQ(up[0]["value"][1], "1");
  auto buckets = query("gantry_test_latency_seconds_bucket{le=\"5\"}");
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets[0]["value"][1], "2");
  auto count = query("gantry_test_latency_seconds_count");
  ASSERT_FALSE(count.empty());
  EXPECT_EQ(count[0]["value"][1], "2");
  auto hosts = query("gantry_test_healthy_hosts");
  ASSERT_FALSE(hosts.empty());
  EXPECT_EQ(hosts[0]["value"][1], "2");
  server.Stop();
}

}  // namespace
}  // namespace gantry::monitor
