// Rollout time of a 4-instance service vs the floor set by start-up and health thresholds.
// Real processes (the python test app), the real load balancer, 100 requests/s of load.
// Floor per batch = instance start-up until its first passing health check (measured)
//   + (healthy_threshold - 1) fleet intervals + healthy_threshold load balancer intervals.
// Usage: bench_deploy_rollout_bench [rounds]   (numbers go to bench/deploy/README.md)
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "deploy/controller.h"
#include "deploy/lb_router.h"
#include "deploy/local_fleet.h"
#include "deploy/test_app.h"
#include "lb/load_balancer.h"

using namespace gantry::deploy;
namespace http = gantry::http;
namespace lb = gantry::lb;
using gantry::MakeTempDir;
using gantry::RemoveAll;
using gantry::Status;
using gantry::WriteFileAtomic;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kInstances = 4;
constexpr long long kIntervalMs = 100;
constexpr int kThreshold = 2;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

std::string Yaml(const std::string& strategy) {
  return "services:\n  web:\n    command: [/usr/bin/python3, app.py]\n    instances: 4\n"
         "    health_check: {path: /health, interval: 100ms, timeout: 80ms, healthy_threshold: 2}\n"
         "    deregistration_delay: 100ms\n    strategy: " +
         strategy + "\n";
}

struct Outcome {
  double ms = 0;
  int sent = 0, failed = 0;
  std::string state;
};

Outcome Run(const std::string& strategy) {
  const std::string dir = *MakeTempDir("gantry-deploy-bench");
  (void)WriteFileAtomic(dir + "/app.py", testing::kTestAppPy);
  ProjectConfig config;
  Status st = ParseConfigText(Yaml(strategy), "bench.yml", &config);
  if (!st.ok()) {
    fprintf(stderr, "%s\n", st.message().c_str());
    exit(2);
  }
  lb::Config lbc;
  lbc.workers = 1;
  lbc.listeners.push_back({"127.0.0.1:0", {}});
  auto balancer = std::move(lb::LoadBalancer::Start(lbc)).value();
  LbRouter router(balancer.get());
  auto store = OpenSqliteStateStore(dir + "/deploy.db").value();
  auto fleet = LocalFleet::Open(dir).value();
  ControllerOptions o;
  o.store = store.get();
  o.target = fleet.get();
  o.router = &router;
  o.project_dir = dir;
  Controller controller(o);
  controller.SetConfig(config);
  auto deploy = [&](const std::string& rev) {
    DeployRequest r;
    r.service = "web";
    r.environment = "bench";
    r.revision = rev;
    return controller.RunUntilSettled(controller.Deploy(r)->id);
  };
  (void)deploy("v1");
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  const uint16_t port = balancer->BoundPort(0);
  std::thread load([&] {
    auto next = Clock::now();
    while (!stop) {
      auto res = http::Fetch(http::MakeRequest("GET", "http://127.0.0.1:" + std::to_string(port) + "/"), 4096);
      ++sent;
      if (!res.ok() || res->status != 200) ++failed;
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);
    }
  });
  const auto begin = Clock::now();
  auto d = deploy("v2");
  const auto end = Clock::now();
  stop = true;
  load.join();
  fleet->StopAll();
  balancer->Stop(0);
  (void)RemoveAll(dir);
  return {Ms(begin, end), sent, failed, DeploymentStateName(d->state)};
}

// Start-up of one instance until its first passing health check (the fleet checks at once).
double StartupMs() {
  const std::string dir = *MakeTempDir("gantry-deploy-bench");
  (void)WriteFileAtomic(dir + "/app.py", testing::kTestAppPy);
  auto fleet = LocalFleet::Open(dir).value();
  InstanceSpec spec;
  spec.group = "s.e.a";
  spec.revision = "v1";
  spec.command = {"/usr/bin/python3", "app.py"};
  spec.cwd = dir;
  spec.health.path = "/health";
  spec.health.interval_ms = 5;
  spec.health.timeout_ms = 4;
  spec.health.healthy_threshold = 1;
  const auto begin = Clock::now();
  auto inst = fleet->Start(spec);
  while (fleet->List("s.")[0].health != InstanceHealth::kHealthy)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double ms = Ms(begin, Clock::now());
  fleet->StopAll();
  (void)RemoveAll(dir);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const int rounds = argc > 1 ? atoi(argv[1]) : 3;
  double startup = 0;
  for (int i = 0; i < rounds; ++i) startup += StartupMs() / rounds;
  const double per_batch = startup + (kThreshold - 1) * kIntervalMs + kThreshold * kIntervalMs;
  printf("instance start-up to first healthy check: %.0f ms; floor per batch: %.0f ms\n", startup, per_batch);
  struct Case {
    const char* name;
    std::string strategy;
    int batches;
  } cases[] = {{"rolling OneAtATime", "{type: rolling, preset: OneAtATime}", kInstances},
               {"rolling HalfAtATime", "{type: rolling, preset: HalfAtATime}", 2},
               {"all-at-once", "all-at-once", 1},
               {"blue-green", "{type: blue-green, scale_down_delay: 0s}", 1}};
  printf("%-22s %10s %10s %7s %9s %s\n", "strategy", "median ms", "floor ms", "ratio", "requests", "failed");
  for (const auto& c : cases) {
    std::vector<Outcome> rs;
    for (int i = 0; i < rounds; ++i) rs.push_back(Run(c.strategy));
    std::sort(rs.begin(), rs.end(), [](const Outcome& a, const Outcome& b) { return a.ms < b.ms; });
    const Outcome& m = rs[rs.size() / 2];
    int sent = 0, failed = 0;
    for (const auto& r : rs) sent += r.sent, failed += r.failed;
    const double floor = c.batches * per_batch;
    printf("%-22s %10.0f %10.0f %6.2fx %9d %d (%s)\n", c.name, m.ms, floor, m.ms / floor, sent, failed,
           m.state.c_str());
  }
  return 0;
}
