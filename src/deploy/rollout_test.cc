// Deployments end to end with real processes (a tiny python HTTP app as instances), the real
// load balancer in front and a bounded load generator at a fixed rate on 127.0.0.1. No timed
// assertions: waits are bounded loops on behaviour; durations are printed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "deploy/controller.h"
#include "deploy/lb_router.h"
#include "deploy/local_fleet.h"
#include "deploy/test_app.h"
#include "lb/load_balancer.h"

namespace gantry::deploy {
namespace {

using Clock = std::chrono::steady_clock;

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

// Sends GET / at a fixed rate; counts answers by body and failures (non-2xx, errors).
class Load {
 public:
  explicit Load(uint16_t port, int per_second = 100) : port_(port), period_us_(1'000'000 / per_second) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int sent() const { return sent_; }
  int failed() const { return failed_; }
  int Served(const std::string& body) {
    std::lock_guard lock(mu_);
    return bodies_[body];
  }
  void Reset() {
    std::lock_guard lock(mu_);
    bodies_.clear();
  }
  std::string last_error() {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  void Run() {
    auto next = Clock::now();
    while (!stop_) {
      auto req = http::MakeRequest("GET", "http://127.0.0.1:" + std::to_string(port_) + "/");
      req.timeout_ms = 5000;
      auto res = http::Fetch(req, 4096);
      ++sent_;
      std::lock_guard lock(mu_);
      if (!res.ok() || res->status / 100 != 2) {
        ++failed_;
        last_error_ = res.ok() ? std::to_string(res->status) + " " + res->body : res.error();
      }
      if (res.ok()) bodies_[res->body]++;
      next += std::chrono::microseconds(period_us_);
      std::this_thread::sleep_until(next);
    }
  }
  uint16_t port_;
  long long period_us_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0}, failed_{0};
  std::mutex mu_;
  std::map<std::string, int> bodies_;
  std::string last_error_;
  std::thread thread_;
};

std::string ServiceYaml(const std::string& strategy, int instances = 3) {
  return "services:\n  web:\n    command: [/usr/bin/python3, app.py]\n    instances: " + std::to_string(instances) +
         "\n    health_check: {path: /health, interval: 100ms, timeout: 80ms, healthy_threshold: 2, "
         "unhealthy_threshold: 2}\n    deregistration_delay: 300ms\n    strategy: " +
         strategy +
         "\n    analysis: {interval: 500ms, count: 3, failure_limit: 0, success_rate: 0.99, min_requests: 10}\n"
         "environments:\n  staging: {}\n  production: {required_approvals: 1}\n";
}

// A data dir, a fleet, a load balancer with one listener and no rules, a controller.
struct World {
  explicit World(const std::string& yaml) {
    dir = *MakeTempDir("gantry-deploy-test");
    EXPECT_TRUE(WriteFileAtomic(dir + "/app.py", testing::kTestAppPy).ok());
    ProjectConfig config;
    Status st = ParseConfigText(yaml, "gantry.yml", &config);
    EXPECT_TRUE(st.ok()) << st.message();
    lb::Config lbc;
    lbc.workers = 1;
    lb::Listener l;
    l.listen = "127.0.0.1:0";
    lbc.listeners.push_back(l);
    auto started = lb::LoadBalancer::Start(lbc);
    EXPECT_TRUE(started.ok()) << started.error();
    balancer = std::move(*started);
    router = std::make_unique<LbRouter>(balancer.get());
    OpenController(config);
  }
  void OpenController(const ProjectConfig& config) {
    controller.reset();
    fleet.reset();
    store.reset();
    store = OpenSqliteStateStore(dir + "/deploy.db").value();
    fleet = LocalFleet::Open(dir).value();
    ControllerOptions o;
    o.store = store.get();
    o.target = fleet.get();
    o.router = router.get();
    o.project_dir = dir;
    o.start_timeout_ms = 30'000;
    controller = std::make_unique<Controller>(o);
    controller->SetConfig(config);
    EXPECT_TRUE(controller->Restore().ok());
  }
  ~World() {
    controller.reset();
    if (fleet) fleet->StopAll();
    fleet.reset();
    balancer->Stop(0);
    (void)RemoveAll(dir);
  }
  uint16_t port() const { return balancer->BoundPort(0); }

  Deployment DeployAndSettle(const std::string& revision, const std::string& env = "staging") {
    DeployRequest r;
    r.service = "web";
    r.environment = env;
    r.revision = revision;
    auto d = controller->Deploy(r);
    EXPECT_TRUE(d.ok()) << d.error();
    auto begin = Clock::now();
    auto done = controller->RunUntilSettled(d->id);
    EXPECT_TRUE(done.ok());
    printf("[ deploy ] %s -> %s (%s): %lld ms\n", done->from_revision.c_str(), revision.c_str(),
           DeploymentStateName(done->state),
           (long long)std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count());
    return *done;
  }
  std::string Dump(const Deployment& d) {
    std::string s = "deployment " + std::to_string(d.id) + " " + DeploymentStateName(d.state) + " " + d.reason + "\n";
    for (const auto& e : d.events) s += "  " + e.message + "\n";
    return s;
  }
  int Running(const std::string& revision) {
    int n = 0;
    for (const auto& i : fleet->List("web.")) n += i.revision == revision;
    return n;
  }

  std::string dir;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<LocalFleet> fleet;
  std::unique_ptr<lb::LoadBalancer> balancer;
  std::unique_ptr<LbRouter> router;
  std::unique_ptr<Controller> controller;
};

TEST(DeployRollout, RollingUnderLoadFailsNoRequest) {
  World w(ServiceYaml("{type: rolling, max_surge: 1}"));
  auto first = w.DeployAndSettle("v1");
  ASSERT_EQ(first.state, DeploymentState::kSucceeded) << w.Dump(first);
  ASSERT_EQ(w.Running("v1"), 3);
  Load load(w.port());
  auto second = w.DeployAndSettle("v2");
  load.Stop();
  ASSERT_EQ(second.state, DeploymentState::kSucceeded) << w.Dump(second);
  EXPECT_EQ(w.Running("v2"), 3);
  EXPECT_EQ(w.Running("v1"), 0);
  printf("[ load   ] %d requests, %d failed, v1 %d v2 %d\n", load.sent(), load.failed(), load.Served("v1"),
         load.Served("v2"));
  EXPECT_EQ(load.failed(), 0) << load.last_error();
  EXPECT_GT(load.Served("v2"), 0);
  auto status = w.controller->GetStatus("web", "staging");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->record.stable_revision, "v2");
  EXPECT_EQ(status->record.history, std::vector<std::string>{"v1"});
}

TEST(DeployRollout, BlueGreenUnderLoadFailsNoRequestAndKeepsBlueForRollback) {
  World w(ServiceYaml("{type: blue-green, scale_down_delay: 1s}"));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  Load load(w.port());
  auto second = w.DeployAndSettle("v2");
  load.Stop();
  ASSERT_EQ(second.state, DeploymentState::kSucceeded) << w.Dump(second);
  printf("[ load   ] %d requests, %d failed, v1 %d v2 %d\n", load.sent(), load.failed(), load.Served("v1"),
         load.Served("v2"));
  EXPECT_EQ(load.failed(), 0) << load.last_error();
  EXPECT_EQ(w.Running("v2"), 3);
  EXPECT_EQ(w.Running("v1"), 0);
  EXPECT_NE(second.to_slot, second.from_slot);
}

TEST(DeployRollout, ManualBlueGreenWaitsForPromoteAndSurvivesAControllerRestart) {
  World w(ServiceYaml("{type: blue-green, auto_promote: false, scale_down_delay: 200ms}"));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  auto paused = w.DeployAndSettle("v2");
  ASSERT_EQ(paused.state, DeploymentState::kPaused) << w.Dump(paused);
  EXPECT_EQ(w.Running("v2"), 3);  // green is up, blue still serves
  // A new controller (as after a server restart) over the same data dir resumes it.
  ProjectConfig config;
  ASSERT_TRUE(ParseConfigText(ServiceYaml("{type: blue-green, auto_promote: false, scale_down_delay: 200ms}"),
                              "gantry.yml", &config)
                  .ok());
  w.OpenController(config);
  EXPECT_EQ(w.Running("v2"), 3);  // re-adopted, not restarted
  ASSERT_TRUE(w.controller->Promote("web", "staging", false).ok());
  auto done = w.controller->RunUntilSettled(paused.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, DeploymentState::kSucceeded) << w.Dump(*done);
  EXPECT_EQ(w.Running("v1"), 0);
}

TEST(DeployRollout, BlueGreenPreviewHostReachesGreenBeforePromotion) {
  std::string yaml = ServiceYaml("{type: blue-green, auto_promote: false, preview: true, scale_down_delay: 200ms}");
  yaml.replace(yaml.find("    deregistration_delay"), 0, "    listener: {host: web.test}\n");
  World w(yaml);
  // The HTTP client always sends the URL's host, so a raw request names the Host.
  auto get = [&](const std::string& host) -> std::string {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(w.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
    const std::string req = "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    close(fd);
    const auto body = out.find("\r\n\r\n");
    return out.size() < 12 || body == std::string::npos ? out : out.substr(9, 3) + " " + out.substr(body + 4);
  };
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  auto paused = w.DeployAndSettle("v2");
  ASSERT_EQ(paused.state, DeploymentState::kPaused) << w.Dump(paused);
  // Green gets only the preview host's traffic until it is promoted.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(get("web.test"), "200 v1");
    EXPECT_EQ(get("preview.web.test"), "200 v2");
  }
  ASSERT_TRUE(w.controller->Promote("web", "staging", false).ok());
  auto done = w.controller->RunUntilSettled(paused.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, DeploymentState::kSucceeded) << w.Dump(*done);
  EXPECT_EQ(get("web.test"), "200 v2");
  EXPECT_EQ(get("preview.web.test").substr(0, 3), "404");  // the preview rule is gone
}

TEST(DeployRollout, FailingCanaryIsRolledBackWithAllTrafficOnStable) {
  World w(ServiceYaml("{type: canary, steps: [{set_weight: 50}, {analysis: {}}, {set_weight: 100}]}"));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  Load load(w.port(), 150);
  auto canary = w.DeployAndSettle("v2-bad");
  ASSERT_EQ(canary.state, DeploymentState::kRolledBack) << w.Dump(canary);
  EXPECT_NE(canary.reason.find("analysis failed"), std::string::npos) << canary.reason;
  // The bad revision served no more than its weight (50%) of what was sent (the count also
  // covers the time before the canary got any weight, so it is well within).
  const int bad_served = load.Served("v2-bad"), sent_so_far = load.sent();
  printf("[ load   ] %d sent, %d served by v2-bad\n", sent_so_far, bad_served);
  EXPECT_LE(bad_served, sent_so_far / 2 + 5);
  // Right after the failing analysis all traffic is on stable.
  load.Reset();
  const int before = load.sent();
  while (load.sent() < before + 50) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  load.Stop();
  EXPECT_EQ(load.Served("v2-bad"), 0);
  EXPECT_GE(load.Served("v1"), 50);
  EXPECT_EQ(w.Running("v2-bad"), 0);
  const lb::Config lbc = w.balancer->config();
  ASSERT_EQ(lbc.listeners[0].rules.size(), 1u);
  for (const auto& g : lbc.listeners[0].rules[0].forward)
    EXPECT_EQ(g.weight, g.target_group == "web.staging." + canary.from_slot ? 100 : 0) << g.target_group;
  for (const auto& e : canary.events) printf("[ event  ] %s\n", e.message.c_str());
}

TEST(DeployRollout, GoodCanaryIsPromoted) {
  // On a loaded 2-core machine the load generator may reach the canary only a few times per
  // 500 ms interval; with 10 required requests the analysis would (rightly) be inconclusive
  // and pause. This test is about promotion, so it asks for 2.
  std::string yaml = ServiceYaml("{type: canary, steps: [{set_weight: 34}, {analysis: {}}]}");
  yaml.replace(yaml.find("min_requests: 10"), 16, "min_requests: 2");
  World w(yaml);
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  Load load(w.port(), 150);
  auto canary = w.DeployAndSettle("v2");
  load.Stop();
  ASSERT_EQ(canary.state, DeploymentState::kSucceeded) << w.Dump(canary);
  EXPECT_EQ(load.failed(), 0) << load.last_error();
  EXPECT_EQ(w.Running("v2"), 3);
  EXPECT_EQ(w.Running("v1"), 0);
}

TEST(DeployRollout, UnhealthyRevisionIsRolledBackAutomatically) {
  World w(ServiceYaml("{type: rolling, max_surge: 1}"));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  w.controller.reset();
  ProjectConfig config;
  ASSERT_TRUE(ParseConfigText(ServiceYaml("{type: rolling, max_surge: 1}"), "gantry.yml", &config).ok());
  // A short start timeout so the never-healthy revision fails quickly.
  ControllerOptions o;
  o.store = w.store.get();
  o.target = w.fleet.get();
  o.router = w.router.get();
  o.project_dir = w.dir;
  o.start_timeout_ms = 1500;
  w.controller = std::make_unique<Controller>(o);
  w.controller->SetConfig(config);
  Load load(w.port());
  auto d = w.DeployAndSettle("v2-broken");
  load.Stop();
  EXPECT_EQ(d.state, DeploymentState::kRolledBack) << w.Dump(d);
  EXPECT_EQ(load.failed(), 0) << load.last_error();
  EXPECT_EQ(w.Running("v1"), 3);
  EXPECT_EQ(w.Running("v2-broken"), 0);
}

TEST(DeployRollout, ProductionWaitsForApproval) {
  World w(ServiceYaml("{type: rolling, max_surge: 3}", 1));
  auto d = w.DeployAndSettle("v1", "production");
  ASSERT_EQ(d.state, DeploymentState::kWaitingApproval);
  EXPECT_EQ(w.Running("v1"), 0);
  ASSERT_TRUE(w.controller->Approve("web", "production", "alice", true).ok());
  auto done = w.controller->RunUntilSettled(d.id);
  EXPECT_EQ(done->state, DeploymentState::kSucceeded) << w.Dump(*done);
  auto next = w.DeployAndSettle("v2", "production");
  ASSERT_TRUE(w.controller->Approve("web", "production", "bob", false).ok());
  EXPECT_EQ(w.controller->Get(next.id)->state, DeploymentState::kRejected);
}

// A deployment made by a run's job that was already approved for the environment (the
// server's job approvals) carries those approvals and does not wait again.
TEST(DeployRollout, ApprovalsGivenBeforeTheDeploymentAreKept) {
  World w(ServiceYaml("{type: rolling, max_surge: 3}", 1));
  DeployRequest r;
  r.service = "web";
  r.environment = "production";
  r.revision = "v1";
  r.approved_by = {"alice"};
  auto d = w.controller->Deploy(r);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->state, DeploymentState::kRunning);
  EXPECT_EQ(d->approvals, std::vector<std::string>{"alice"});
  auto done = w.controller->RunUntilSettled(d->id);
  EXPECT_EQ(done->state, DeploymentState::kSucceeded) << w.Dump(*done);
}

TEST(DeployRollout, KilledInstanceIsReplacedAndGetsNoTrafficWhileDown) {
  World w(ServiceYaml("{type: rolling, max_surge: 1}"));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  auto instances = w.fleet->List("web.");
  ASSERT_EQ(instances.size(), 3u);
  Load load(w.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto victim = instances[0];
  ASSERT_EQ(kill(victim.pid, SIGKILL), 0);
  auto begin = Clock::now();
  auto replaced = [&] {
    for (const auto& i : w.fleet->List("web."))
      if (i.id == victim.id) return i.restarts >= 1 && i.health == InstanceHealth::kHealthy && i.pid != victim.pid;
    return false;
  };
  for (int k = 0; k < 1000 && !replaced(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(replaced());
  printf("[ kill   ] replaced in %lld ms\n",
         (long long)std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  load.Stop();
  printf("[ load   ] %d requests, %d failed\n", load.sent(), load.failed());
  EXPECT_EQ(load.failed(), 0) << load.last_error();
}

TEST(DeployRollout, ManualRollbackToTheEarlierRevision) {
  World w(ServiceYaml("{type: rolling, max_surge: 3}", 2));
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  ASSERT_EQ(w.DeployAndSettle("v2").state, DeploymentState::kSucceeded);
  auto rb = w.controller->Rollback("web", "staging", "");
  ASSERT_TRUE(rb.ok()) << rb.error();
  EXPECT_TRUE(rb->is_rollback);
  auto done = w.controller->RunUntilSettled(rb->id);
  EXPECT_EQ(done->state, DeploymentState::kSucceeded);
  EXPECT_EQ(w.Running("v1"), 2);
  EXPECT_EQ(w.controller->GetStatus("web", "staging")->record.stable_revision, "v1");
  EXPECT_EQ(w.controller->History("web", "staging").size(), 3u);
}

}  // namespace
}  // namespace gantry::deploy

namespace gantry::deploy {
namespace {

TEST(DeployRollout, AppSpecHooksRunPerInstanceAndAFailingHookRollsBack) {
  std::string yaml = ServiceYaml("{type: rolling, max_surge: 1}", 2);
  yaml.replace(yaml.find("    deregistration_delay"), 0, "    hooks: appspec.yml\n");
  World w(yaml);
  ASSERT_TRUE(WriteFileAtomic(w.dir + "/appspec.yml",
                              "version: 0.0\nos: linux\nhooks:\n"
                              "  BeforeInstall: [{location: hook.sh, timeout: 10}]\n"
                              "  ValidateService: [{location: hook.sh, timeout: 10}]\n"
                              "  AfterAllowTraffic: [{location: hook.sh}]\n")
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(w.dir + "/hook.sh",
                      "echo \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME "
                      "$GANTRY_REVISION\" >> hooks.txt\n"
                      "case \"$GANTRY_REVISION:$LIFECYCLE_EVENT\" in *novalidate:ValidateService) exit 3;; esac\n")
          .ok());
  auto first = w.DeployAndSettle("v1");
  ASSERT_EQ(first.state, DeploymentState::kSucceeded) << w.Dump(first);
  const std::string log = *ReadFile(w.dir + "/hooks.txt");
  EXPECT_NE(log.find("BeforeInstall d-1 web staging v1\n"), std::string::npos) << log;
  size_t validations = 0;
  for (size_t p = 0; (p = log.find("ValidateService d-1", p)) != std::string::npos; ++p) ++validations;
  EXPECT_EQ(validations, 2u) << log;  // once per instance
  EXPECT_NE(log.find("AfterAllowTraffic d-1 web staging v1"), std::string::npos) << log;

  auto bad = w.DeployAndSettle("v2-novalidate");
  EXPECT_EQ(bad.state, DeploymentState::kRolledBack) << w.Dump(bad);
  EXPECT_NE(bad.reason.find("ValidateService hook hook.sh exited with 3"), std::string::npos) << bad.reason;
  EXPECT_EQ(w.Running("v1"), 2);
  EXPECT_EQ(w.Running("v2-novalidate"), 0);
}

}  // namespace
}  // namespace gantry::deploy

namespace gantry::deploy {
namespace {

// Alarm states set by the test (src/monitor will provide the real AlarmSource).
class SettableAlarms : public AlarmSource {
 public:
  AlarmState State(const std::string& alarm) override {
    return alarm == "web-5xx" && firing ? AlarmState::kAlarm : AlarmState::kOk;
  }
  std::atomic<bool> firing{false};
};

TEST(DeployRollout, AlarmDuringCanaryAnalysisRollsBack) {
  std::string yaml = ServiceYaml("{type: canary, steps: [{set_weight: 50}, {analysis: {}}]}", 2);
  yaml.replace(yaml.find("min_requests: 10}"), 17, "min_requests: 0, alarms: [web-5xx]}");
  World w(yaml);
  SettableAlarms alarms;
  ControllerOptions o;
  o.store = w.store.get();
  o.target = w.fleet.get();
  o.router = w.router.get();
  o.alarms = &alarms;
  o.project_dir = w.dir;
  ProjectConfig config;
  ASSERT_TRUE(ParseConfigText(yaml, "gantry.yml", &config).ok());
  w.controller = std::make_unique<Controller>(o);
  w.controller->SetConfig(config);
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  DeployRequest r;
  r.service = "web";
  r.environment = "staging";
  r.revision = "v2";
  auto d = w.controller->Deploy(r);
  ASSERT_TRUE(d.ok());
  // Let the canary reach its analysis, then fire the alarm.
  for (int i = 0; i < 2000; ++i) {
    w.controller->Tick();
    auto cur = w.controller->Get(d->id);
    if (cur->canary_weight == 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  alarms.firing = true;
  auto done = w.controller->RunUntilSettled(d->id);
  ASSERT_EQ(done->state, DeploymentState::kRolledBack) << w.Dump(*done);
  EXPECT_NE(done->reason.find("alarm web-5xx is in ALARM"), std::string::npos) << done->reason;
  EXPECT_EQ(w.Running("v2"), 0);
  EXPECT_EQ(w.Running("v1"), 2);
}

}  // namespace
}  // namespace gantry::deploy

namespace gantry::deploy {
namespace {

// Target tracking on requests per instance, all real: instances started and stopped by the
// fleet, registered with and deregistered from the load balancer, requests counted by it.
TEST(DeployRollout, AutoscalingFollowsRequestsPerInstanceOutAndBackIn) {
  std::string yaml = ServiceYaml("{type: rolling, max_surge: 1}", 1);
  yaml.replace(yaml.find("    deregistration_delay"), 0,
               "    autoscaling: {min: 1, max: 3, target_requests: 4, cooldown: 1s, interval: 1s}\n");
  World w(yaml);
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  ASSERT_EQ(w.Running("v1"), 1);
  SystemScalingMetrics metrics(w.router.get());
  // Drives the controller as the server's tick does, until `done` (or for `seconds`).
  int scalings = 0;
  auto drive = [&](const std::function<bool()>& done, int seconds = 60) {
    for (const auto begin = Clock::now(); Clock::now() - begin < std::chrono::seconds(seconds);) {
      w.controller->Tick();
      for (const auto& e : w.controller->Autoscale(&metrics)) printf("[ scale  ] %s\n", e.c_str()), ++scalings;
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  // `n` instances of `revision`, all of them healthy targets of the group, nothing active.
  auto settled = [&](const std::string& revision, int n) {
    return [&w, revision, n] {
      int healthy = 0;
      for (const auto& h : w.router->Health("web.staging.a")) healthy += h.healthy;
      auto st = w.controller->GetStatus("web", "staging");
      return st.ok() && st->record.active_deployment == 0 && w.Running(revision) == n &&
             static_cast<int>(w.fleet->List("web.").size()) == n && healthy == n;
    };
  };
  auto status = [&] {
    auto st = w.controller->GetStatus("web", "staging");
    return "desired " + std::to_string(st->autoscaling.desired) + ", " + st->autoscaling.measurement +
           "; last event: " + st->record.autoscaling.last_event;
  };

  // Up to 100 requests/s (a loaded machine manages ~25 with this sequential client) on one
  // instance, target 4: out to the maximum, 3, in one step.
  auto heavy = std::make_unique<Load>(w.port(), 100);
  ASSERT_TRUE(drive(settled("v1", 3))) << status();
  auto st = w.controller->GetStatus("web", "staging");
  EXPECT_EQ(st->autoscaling.desired, 3);
  EXPECT_EQ(st->record.autoscaling.last_event.substr(0, 17), "scale out 1 -> 3:") << status();
  EXPECT_NE(st->autoscaling.measurement.find("requests/s per instance (target 4)"), std::string::npos) << status();
  // A deployment after the scale runs the autoscaled count.
  auto v2 = w.DeployAndSettle("v2");
  ASSERT_EQ(v2.state, DeploymentState::kSucceeded) << w.Dump(v2);
  EXPECT_EQ(w.Running("v2"), 3);
  heavy->Stop();
  printf("[ load   ] %d requests, %d failed\n", heavy->sent(), heavy->failed());
  EXPECT_EQ(heavy->failed(), 0) << heavy->last_error();
  EXPECT_GT(heavy->Served("v2"), 0);

  // The load drops to 2 requests/s: back in, at most half the instances per step, each step
  // after the cooldown; instances leave the group before they stop, so no request fails.
  Load light(w.port(), 2);
  ASSERT_TRUE(drive(settled("v2", 1))) << status();
  const int before = scalings;
  drive([] { return false; }, 3);  // and it stays at one (below the target, at the minimum)
  EXPECT_EQ(scalings, before) << status();
  EXPECT_TRUE(settled("v2", 1)());
  light.Stop();
  printf("[ load   ] %d requests, %d failed\n", light.sent(), light.failed());
  EXPECT_EQ(light.failed(), 0) << light.last_error();
  st = w.controller->GetStatus("web", "staging");
  EXPECT_EQ(st->autoscaling.desired, 1);
  EXPECT_EQ(st->autoscaling.min, 1);
  EXPECT_EQ(st->autoscaling.max, 3);
  EXPECT_EQ(st->record.autoscaling.last_event.substr(0, 16), "scale in 2 -> 1:") << status();
  std::vector<std::string> scales;
  for (const auto& d : w.controller->History("web", "staging"))
    if (d.strategy == "scale") scales.push_back(std::to_string(d.scale_from) + "->" + std::to_string(d.scale_to));
  EXPECT_EQ(scales, (std::vector<std::string>{"1->3", "3->2", "2->1"}));
}

}  // namespace
}  // namespace gantry::deploy

namespace gantry::deploy {
namespace {

// Load as the test says (the decision's inputs), real instances and load balancer.
class FixedMetrics : public ScalingMetrics {
 public:
  ScalingSample Measure(const std::string&, const std::vector<Instance>&, int, long long) override {
    ScalingSample s;
    s.requests_per_second = requests_per_second;
    return s;
  }
  double requests_per_second = 0;
};

TEST(DeployRollout, ADeploymentSupersedesAScaleInProgressAndNothingScalesDuringIt) {
  std::string yaml = ServiceYaml("{type: rolling, max_surge: 1}", 1);
  yaml.replace(yaml.find("    deregistration_delay"), 0,
               "    autoscaling: {min: 1, max: 3, target_requests: 10, cooldown: 1s, scale_in_cooldown: 0s, "
               "interval: 100ms}\n");
  World w(yaml);
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  FixedMetrics metrics;
  metrics.requests_per_second = 50;
  auto events = w.controller->Autoscale(&metrics);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "web.staging: scale out 1 -> 3: 50 requests/s per instance (target 10) (deployment 2)");
  w.controller->Tick();  // the scale operation starts its instances
  EXPECT_EQ(w.Running("v1"), 3);
  // A deployment is not refused: it takes over, at the autoscaled count.
  DeployRequest r;
  r.service = "web";
  r.environment = "staging";
  r.revision = "v2";
  auto d = w.controller->Deploy(r);
  ASSERT_TRUE(d.ok()) << d.error();
  auto scale = w.controller->Get(2);
  EXPECT_EQ(scale->state, DeploymentState::kAborted);
  EXPECT_EQ(scale->reason, "superseded by deployment 3");
  // While it runs, no load scales the service.
  metrics.requests_per_second = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(w.controller->Autoscale(&metrics).empty());
  EXPECT_EQ(w.controller->GetAutoscaling("web", "staging").measurement, "a deployment is active");
  auto done = w.controller->RunUntilSettled(d->id);
  ASSERT_EQ(done->state, DeploymentState::kSucceeded) << w.Dump(*done);
  EXPECT_EQ(w.Running("v2"), 3);
  EXPECT_EQ(w.Running("v1"), 0);
  // Afterwards it does: 3 -> 2 (at most half), drained through the load balancer, stopped.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  events = w.controller->Autoscale(&metrics);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "web.staging: scale in 3 -> 2: 0 requests/s per instance (target 10) (deployment 4)");
  auto in = w.controller->RunUntilSettled(4);
  ASSERT_EQ(in->state, DeploymentState::kSucceeded) << w.Dump(*in);
  EXPECT_EQ(w.Running("v2"), 2);
  EXPECT_EQ(w.router->Health("web.staging.a").size(), 2u);
  EXPECT_EQ(w.controller->GetStatus("web", "staging")->record.autoscaling.desired, 2);
}

// A scale-out whose new instances fail (here: their ValidateService hook) goes back to the
// count before: the instance that served all along keeps serving.
TEST(DeployRollout, AFailedScaleOutGoesBackToTheCountBefore) {
  std::string yaml = ServiceYaml("{type: rolling, max_surge: 1}", 1);
  yaml.replace(yaml.find("    deregistration_delay"), 0,
               "    hooks: appspec.yml\n    autoscaling: {min: 1, max: 3, target_requests: 10, interval: 100ms}\n");
  World w(yaml);
  ASSERT_TRUE(WriteFileAtomic(w.dir + "/appspec.yml",
                              "version: 0.0\nos: linux\nhooks:\n  ValidateService: [{location: hook.sh}]\n")
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(w.dir + "/hook.sh", "if [ -f fail-validate ]; then exit 3; fi\n").ok());
  ASSERT_EQ(w.DeployAndSettle("v1").state, DeploymentState::kSucceeded);
  const auto serving = w.fleet->List("web.");
  ASSERT_EQ(serving.size(), 1u);
  ASSERT_TRUE(WriteFileAtomic(w.dir + "/fail-validate", "").ok());
  FixedMetrics metrics;
  metrics.requests_per_second = 50;
  ASSERT_EQ(w.controller->Autoscale(&metrics).size(), 1u);
  const long long id = w.controller->Services().at(0).active_deployment;
  auto done = w.controller->RunUntilSettled(id);
  ASSERT_EQ(done->state, DeploymentState::kRolledBack) << w.Dump(*done);
  EXPECT_NE(done->reason.find("ValidateService hook hook.sh exited with 3"), std::string::npos) << done->reason;
  const auto after = w.fleet->List("web.");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, serving[0].id);
  EXPECT_EQ(w.router->Health("web.staging.a").size(), 1u);
  auto st = w.controller->GetStatus("web", "staging");
  EXPECT_EQ(st->autoscaling.desired, 1);
  // The next try waits for the cooldown (60 s by default).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(w.controller->Autoscale(&metrics).empty());
  EXPECT_EQ(w.controller->GetAutoscaling("web", "staging").measurement.substr(0, 18), "scale-out cooldown");
}

}  // namespace
}  // namespace gantry::deploy
