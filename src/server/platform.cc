#include "server/platform.h"

#include <unistd.h>

#include <map>
#include <mutex>

#include "base/fs.h"
#include "base/http_auth.h"
#include "base/http_server.h"
#include "blob/blob_store.h"
#include "monitor/metric_names.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "server/artifacts_host.h"  // MountArtifacts
#include "server/context.h"
#include "server/deployments.h"
#include "server/executor.h"
#include "server/monitor_api.h"
#include "server/run_token.h"

namespace gantry::server {

Platform::~Platform() {
  deployments.reset();  // stops its ticks before the monitor it reports to
  if (monitor) monitor->Stop();
}

namespace {

// Registry credentials are the API tokens: `docker login -u anything -p TOKEN`, or a bearer token.
registry::AuthResult RegistryAuth(Context& ctx, const http::Request& req, registry::Access access) {
  std::string token = http::PresentedToken(req.Header("Authorization"));
  if (token.empty()) return registry::AuthResult::kUnauthenticated;
  // A step's run token (GANTRY_TOKEN) pushes and pulls, as an operator, while its run runs:
  // CI pushes the images it builds without a stored long-lived credential.
  if (auto run = RunOfToken(ctx.options.data_dir, token)) {
    auto r = ctx.store->GetRun(*run);
    if (!r.ok() || !r->has_value() || (*r)->status != "running") return registry::AuthResult::kUnauthenticated;
    return access == registry::Access::kDelete ? registry::AuthResult::kDenied : registry::AuthResult::kAllowed;
  }
  auto info = ctx.store->FindToken(token);
  if (!info.ok() || !info->has_value()) return registry::AuthResult::kUnauthenticated;
  store::Role need = access == registry::Access::kPull   ? store::Role::kViewer
                     : access == registry::Access::kPush ? store::Role::kOperator
                                                         : store::Role::kAdmin;
  return static_cast<int>((*info)->role) >= static_cast<int>(need) ? registry::AuthResult::kAllowed
                                                                   : registry::AuthResult::kDenied;
}

// Runs into the monitor: gantry_runs_total / run duration / queue time / jobs running by
// project and workflow, and run.started / run.succeeded / run.failed on the topic "runs".
RunObserverFn RunMetrics(Context& ctx, monitor::Monitor* mon) {
  struct Started {
    std::mutex mu;
    std::map<int64_t, int64_t> at;  // run id -> start ms
  };
  auto started = std::make_shared<Started>();
  return [&ctx, mon, started](const store::Run& run, const std::string& phase, const std::string& conclusion,
                              int64_t now) {
    static const std::vector<double> kRunBuckets = {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};
    auto& reg = mon->registry();
    const std::string workflow = run.workflow_name.empty() ? run.workflow : run.workflow_name;
    const monitor::Labels labels = {{"project", run.project}, {"workflow", workflow}};
    monitor::Gauge* running = reg.GetGauge(monitor::names::kRunsRunning, "Runs executing now", labels);
    monitor::Event e;
    e.fields = {{"project", run.project}, {"workflow", workflow},         {"run", std::to_string(run.id)},
                {"ref", run.ref},         {"sha", run.sha.substr(0, 12)}, {"event", run.event}};
    e.url = ctx.base_url + "/#/runs/" + std::to_string(run.id);
    const std::string what = run.project + ": " + workflow + " #" + std::to_string(run.number);
    if (phase == "started") {
      {
        std::lock_guard lock(started->mu);
        started->at[run.id] = now;
      }
      running->Add(1);
      if (run.created_ms > 0 && now >= run.created_ms)
        reg.GetHistogram(monitor::names::kRunQueueSeconds, "Time runs waited in the queue", labels, kRunBuckets)
            ->Observe((now - run.created_ms) / 1000.0);
      e.type = monitor::EventType::kRunStarted;
      e.subject = what + " started";
    } else {
      int64_t began = 0;
      {
        std::lock_guard lock(started->mu);
        if (auto it = started->at.find(run.id); it != started->at.end()) {
          began = it->second;
          started->at.erase(it);
        }
      }
      if (began > 0) running->Add(-1);
      monitor::Labels with_result = labels;
      with_result.emplace_back("result", conclusion);
      reg.GetCounter(monitor::names::kRunsTotal, "Runs that ended, by result", with_result)->Inc();
      if (began > 0)
        reg.GetHistogram(monitor::names::kRunDurationSeconds, "Run durations", with_result, kRunBuckets)
            ->Observe((now - began) / 1000.0);
      e.type = conclusion == "success" ? monitor::EventType::kRunSucceeded : monitor::EventType::kRunFailed;
      e.subject = what + (conclusion == "success" ? " succeeded" : " " + conclusion);
      e.message = run.title;
      e.fields["conclusion"] = conclusion;
    }
    e.t_ms = now;
    (void)mon->notifier().Publish("runs", e);  // an error only says nobody subscribed
  };
}

}  // namespace

Result<std::unique_ptr<Platform>> OpenPlatform(Context& ctx, http::Router& router) {
  using R = Result<std::unique_ptr<Platform>>;
  auto p = std::make_unique<Platform>();
  const std::string& data = ctx.options.data_dir;

  auto blobs = blob::OpenFsBlobStore(data + "/blobs");
  if (!blobs.ok()) return R::Error(blobs.error());
  p->blobs = std::move(*blobs);
  registry::RegistryOptions ro;
  ro.data_dir = data + "/registry";
  ro.max_blob_bytes = 2ull << 30;  // the server's request body limit (server.cc)
  ro.auth = [&ctx](const http::Request& req, std::string_view, registry::Access access) {
    return RegistryAuth(ctx, req, access);
  };
  p->registry = std::make_unique<registry::Registry>(*p->blobs, ro);
  router.Mount("", "/v2", p->registry->Handler());
  if (auto st = MountArtifacts(ctx, router, *p); !st.ok()) return R::Error(st.message());

  monitor::MonitorOptions mo;
  mo.data_dir = data + "/monitor";
  if (auto st = MakeDirs(mo.data_dir); !st.ok()) return R::Error(st.message());
  auto mon = monitor::Monitor::Open(mo);
  if (!mon.ok()) return R::Error(mon.error());
  p->monitor = std::move(*mon);
  // The monitor mounts on a router of its own; its API answers only to a valid token
  // (viewer to read, operator to push). /metrics stays open for Prometheus.
  auto inner = std::make_shared<http::Router>();
  p->monitor->Mount(*inner);
  auto guarded = [&ctx, inner](http::Request& req, http::Response& res) {
    store::Role need = req.method == "GET" ? store::Role::kViewer : store::Role::kOperator;
    if (!Authorize(ctx, req, res, need)) return;
    inner->Handle(req, res);
  };
  // Alarms and topics defined through the API (and their listing) come first: they shadow
  // the monitor's read-only GET /api/v1/alarms.
  if (auto st = MountMonitorApi(ctx, p->monitor.get(), router); !st.ok()) return R::Error(st.message());
  for (const char* prefix : {"/api/v1/metrics", "/api/v1/logs"}) router.Mount("", prefix, guarded);
  router.Mount("GET", "/metrics", [inner](http::Request& req, http::Response& res) { inner->Handle(req, res); });
  // The server's own memory, CPU and descriptors, from /proc at scrape time.
  if (auto st = monitor::WatchProcess(&p->monitor->registry(), {{"process", "gantry-server"}}, ::getpid()); !st.ok()) {
    return R::Error(st.message());
  }
  if (ctx.queue) ctx.queue->set_run_observer(RunMetrics(ctx, p->monitor.get()));
  p->monitor->Start();
  // Jobs waiting for a protected environment are announced where deployments are.
  monitor::Monitor* mon_ptr = p->monitor.get();
  if (ctx.queue != nullptr)
    ctx.queue->set_approval_notifier([&ctx, mon_ptr](const store::Run& run, const PendingGate& gate) {
      monitor::Event e;
      e.type = monitor::EventType::kApprovalRequested;
      e.subject = run.project + " run " + std::to_string(run.number) + ": job " + gate.job + " waits for approval (" +
                  std::to_string(gate.required) + " required) to deploy to " + gate.environment;
      e.message = run.workflow_name + " on " + run.ref + " at " + run.sha.substr(0, 12);
      e.fields = {{"project", run.project},
                  {"run", std::to_string(run.id)},
                  {"job", gate.job},
                  {"environment", gate.environment},
                  {"required", std::to_string(gate.required)},
                  {"state", "approval_requested"}};
      e.url = ctx.base_url + "/api/v1/runs/" + std::to_string(run.id) + "/approvals";
      (void)mon_ptr->notifier().Publish("deployments", e);
    });
  auto deployments = Deployments::Open(ctx, p->monitor.get());
  if (!deployments.ok()) return R::Error(deployments.error());
  p->deployments = std::move(*deployments);
  p->deployments->Mount(router);
  return p;
}

}  // namespace gantry::server
