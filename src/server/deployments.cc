#include "server/deployments.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/http_server.h"
#include "base/strings.h"
#include "blob/blob_store.h"
#include "deploy/api.h"
#include "deploy/controller.h"
#include "deploy/image_rootfs.h"
#include "deploy/lb_router.h"
#include "deploy/local_fleet.h"
#include "deploy/plan.h"
#include "lb/control.h"
#include "monitor/metric_names.h"
#include "monitor/monitor.h"
#include "server/context.h"
#include "server/git_repo.h"
#include "server/instance_logs.h"
#include "server/json_body.h"
#include "server/lb_process.h"
#include "server/metrics_feed.h"

namespace gantry::server {
namespace {

using Json = nlohmann::json;

// The load balancer process is started on first use (a server that never deploys runs
// none); until then routes have no health and no statistics.
class LazyRouter : public deploy::TrafficRouter {
 public:
  explicit LazyRouter(std::function<deploy::TrafficRouter*(bool start)> get) : get_(std::move(get)) {}
  Status EnsureRoute(const deploy::RouteSpec& route) override { return Need()->EnsureRoute(route); }
  Status SetTargets(const std::string& group, const std::vector<std::string>& addresses) override {
    return Need()->SetTargets(group, addresses);
  }
  Status SetWeights(const std::map<std::string, int>& weights) override { return Need()->SetWeights(weights); }
  Status SetPreview(const deploy::ListenerSpec& listener, const std::string& group) override {
    return Need()->SetPreview(listener, group);
  }
  std::vector<deploy::TargetHealth> Health(const std::string& group) override {
    auto* r = get_(false);
    return r ? r->Health(group) : std::vector<deploy::TargetHealth>{};
  }
  deploy::TrafficStats Stats(const std::string& group) override {
    auto* r = get_(false);
    return r ? r->Stats(group) : deploy::TrafficStats{};
  }

 private:
  struct Unavailable : deploy::TrafficRouter {
    Status EnsureRoute(const deploy::RouteSpec&) override { return Err(); }
    Status SetTargets(const std::string&, const std::vector<std::string>&) override { return Err(); }
    Status SetWeights(const std::map<std::string, int>&) override { return Err(); }
    Status SetPreview(const deploy::ListenerSpec&, const std::string&) override { return Err(); }
    std::vector<deploy::TargetHealth> Health(const std::string&) override { return {}; }
    deploy::TrafficStats Stats(const std::string&) override { return {}; }
    static Status Err() {
      return Status::Error("the load balancer process could not be started (see deploy/lb/lb.log)");
    }
  };
  deploy::TrafficRouter* Need() {
    auto* r = get_(true);
    return r ? r : &unavailable_;
  }
  std::function<deploy::TrafficRouter*(bool)> get_;
  Unavailable unavailable_;
};

class MonitorAlarms : public deploy::AlarmSource {
 public:
  explicit MonitorAlarms(monitor::Monitor* m) : m_(m) {}
  deploy::AlarmState State(const std::string& alarm) override {
    auto s = m_ ? m_->alarms().State(alarm) : std::nullopt;
    if (!s) return deploy::AlarmState::kInsufficientData;
    switch (*s) {
      case monitor::AlarmState::kOk:
        return deploy::AlarmState::kOk;
      case monitor::AlarmState::kAlarm:
        return deploy::AlarmState::kAlarm;
      default:
        return deploy::AlarmState::kInsufficientData;
    }
  }

 private:
  monitor::Monitor* m_;
};

}  // namespace

struct Deployments::Impl {
  Context* ctx = nullptr;
  monitor::Monitor* monitor = nullptr;
  std::string dir;
  std::unique_ptr<deploy::StateStore> store;
  std::unique_ptr<deploy::LocalFleet> fleet;
  // Image revisions: the registry's blobs (the same directory the platform serves) and the
  // unpacked root filesystems under <data>/deploy/images.
  std::unique_ptr<blob::BlobStore> image_blobs;
  std::unique_ptr<deploy::ImageUnpacker> images;
  std::mutex lb_mu;
  std::unique_ptr<LbProcess> lb;
  std::unique_ptr<deploy::LbRouter> lb_router;
  bool lb_failed = false;
  std::unique_ptr<LazyRouter> router;
  std::unique_ptr<MonitorAlarms> alarms;
  std::unique_ptr<deploy::Controller> controller;
  std::unique_ptr<deploy::SystemScalingMetrics> scaling_metrics;  // autoscaling: /proc and the lb
  int alarm_subscription = -1;
  std::mutex prepare_mu;
  std::mutex config_mu;  // the project and revision whose config the controller holds
  std::string project, config_revision;
  std::map<std::string, std::string> project_revisions;  // every deployed project's revision
  std::thread ticker;
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;
  std::unique_ptr<MetricsFeed> metrics_feed;        // lb counters and instance restarts -> monitor
  std::set<std::string> watched;                    // instances whose process feeds the monitor
  std::unique_ptr<InstanceLogShipper> log_shipper;  // instance stdout/stderr -> monitor logs

  std::string RevisionDir(const std::string& rev) const { return dir + "/revisions/" + rev; }

  deploy::TrafficRouter* Router(bool start) {
    std::lock_guard lock(lb_mu);
    if (!lb && start && !lb_failed) {
      LbProcessOptions o;
      o.dir = dir + "/lb";
      o.listen = ctx->options.lb_listen;
      auto p = LbProcess::Start(o);
      if (!p.ok()) {
        fprintf(stderr, "gantry server: load balancer: %s\n", p.error().c_str());
        lb_failed = true;  // not retried on every tick; a server restart tries again
        return nullptr;
      }
      lb = std::move(*p);
      lb_router = std::make_unique<deploy::LbRouter>(lb->control());
      fprintf(stderr, "gantry server: deployed services on %s (load balancer pid %d%s)\n",
              lb->ListenerAddress().c_str(), lb->pid(), lb->adopted() ? ", re-adopted" : "");
    }
    return lb_router.get();
  }

  // Declared alarms and topics go into the monitor (replacing what the last config declared).
  Status ApplyMonitoring(const deploy::ProjectConfig& config) {
    if (!monitor) return Status::Ok();
    for (const auto& [name, a] : config.alarms) {
      monitor::MetricAlarm m;
      m.name = name;
      m.metric = a.metric;
      for (const auto& [k, v] : a.dimensions) m.dimensions.emplace_back(k, v);
      auto stat = monitor::ParseStatistic(a.statistic);
      auto cmp = monitor::ParseComparison(a.comparison);
      auto missing = monitor::ParseMissingData(a.missing_data);
      if (!stat.ok() || !cmp.ok() || !missing.ok())
        return Status::Error("alarm " + name + ": bad statistic/comparison");
      m.stat = *stat;
      m.comparison = *cmp;
      m.missing_data = *missing;
      m.period_ms = a.period_ms;
      m.evaluation_periods = a.evaluation_periods;
      m.datapoints_to_alarm = a.datapoints_to_alarm;
      m.threshold = a.threshold;
      m.actions.on_alarm = a.on_alarm;
      m.actions.on_ok = a.on_ok;
      if (Status st = monitor->alarms().Put(std::move(m)); !st.ok())
        return Status::Error("alarm " + name + ": " + st.message());
    }
    for (const auto& [topic, subs] : config.topics) {
      monitor->notifier().RemoveTopic(topic);
      for (const auto& sub : subs) {
        monitor::Subscription m;
        auto protocol = monitor::ParseProtocol(sub.protocol);
        if (!protocol.ok()) return protocol.status();
        m.protocol = *protocol;
        m.endpoint = sub.endpoint;
        m.secret = sub.secret;
        if (Status st = monitor->notifier().AddSubscription(topic, m); !st.ok()) return st;
      }
    }
    return Status::Ok();
  }

  // Loads the config of `rev` (checked out earlier) into the controller.
  // The controller holds the merged config of every project's last deployed revision:
  // service (and alarm, topic) names are one namespace per server, so a name two projects
  // declare is refused; an environment two projects declare must agree on its protection.
  Status UseRevisionConfig(const std::string& proj, const std::string& rev) {
    std::map<std::string, std::string> revisions;
    auto merged = MergedConfig(proj, rev, &revisions);
    if (!merged.ok()) return merged.status();
    if (Status st = ApplyMonitoring(*merged); !st.ok()) return st;
    std::lock_guard lock(config_mu);
    controller->SetConfig(std::move(*merged));
    project = proj;
    config_revision = rev;
    project_revisions = revisions;
    return WriteFileAtomic(dir + "/current.json",
                           Json{{"project", proj}, {"revision", rev}, {"projects", project_revisions}}.dump());
  }

  // The config every project's deployed revision declares, with `proj` at `rev` instead.
  Result<deploy::ProjectConfig> MergedConfig(const std::string& proj, const std::string& rev,
                                             std::map<std::string, std::string>* revisions_out) {
    std::map<std::string, std::string>& revisions = *revisions_out;
    {
      std::lock_guard lock(config_mu);
      revisions = project_revisions;
    }
    revisions[proj] = rev;
    deploy::ProjectConfig merged;
    std::map<std::string, std::string> owner;  // "service web" -> project
    for (const auto& entry : revisions) {
      const std::string& p = entry.first;  // not a structured binding: clang 14 cannot capture those
      auto config = deploy::ReadConfigDir(RevisionDir(entry.second) + "/.gantry");
      if (!config.ok()) return Status::Error(p == proj ? config.error() : "project " + p + ": " + config.error());
      auto claim = [&](const std::string& what) -> Status {
        auto [it, fresh] = owner.emplace(what, p);
        if (fresh) return Status::Ok();
        return Status::Error(what + " of project " + p + " is also declared by project " + it->second +
                             " (names are one namespace per server; rename one)");
      };
      for (auto& [name, spec] : config->services) {
        if (Status st = claim("service '" + name + "'"); !st.ok()) return st;
        merged.services[name] = std::move(spec);
      }
      for (auto& [name, a] : config->alarms) {
        if (Status st = claim("alarm '" + name + "'"); !st.ok()) return st;
        merged.alarms[name] = std::move(a);
      }
      for (auto& [name, t] : config->topics) {
        if (Status st = claim("topic '" + name + "'"); !st.ok()) return st;
        merged.topics[name] = std::move(t);
      }
      for (auto& [name, env] : config->environments) {
        auto it = merged.environments.find(name);
        if (it == merged.environments.end()) {
          merged.environments[name] = std::move(env);
          owner["environment '" + name + "'"] = p;
          continue;
        }
        if (it->second.required_approvals != env.required_approvals ||
            it->second.allowed_branches != env.allowed_branches)
          return Status::Error("environment '" + name + "' of project " + p +
                               " has other protection rules than in project " + owner["environment '" + name + "'"] +
                               " (environments are shared per server)");
        for (const auto& [svc, n] : env.instances) it->second.instances[svc] = n;
      }
    }
    return merged;
  }

  // Who approved `environment` for run `run_id` (its current attempt); none after a rejection.
  std::vector<std::string> RunApprovers(int64_t run_id, const std::string& environment) {
    auto run = ctx->store->GetRun(run_id);
    auto decisions = ctx->store->ListApprovals(run_id);
    if (!run.ok() || !run->has_value() || !decisions.ok()) return {};
    std::set<std::string> approvers;
    if (!Rejection(*decisions, (*run)->attempt, environment, &approvers).empty()) return {};
    return {approvers.begin(), approvers.end()};
  }

  // POST /api/v1/deployments: the revision is a ref or commit of a hosted project.
  Status Prepare(const std::map<std::string, std::string>& body, deploy::DeployRequest* req) {
    std::lock_guard serialize(prepare_mu);  // one checkout of a revision at a time
    auto field = [&](const char* k) {
      auto it = body.find(k);
      return it == body.end() ? std::string() : it->second;
    };
    std::string proj = field("project"), sha;
    if (Status st = CheckoutRevision(&proj, req->revision, &sha, &req->branch); !st.ok()) return st;
    req->revision = sha;
    return UseRevisionConfig(proj, sha);
  }

  // Resolves `*proj` (given, the last deployed, or the only one) and `ref` to a 12-digit
  // revision checked out under DATA/deploy/revisions; `branch` is set when ref is a branch.
  // Callers hold prepare_mu.
  Status CheckoutRevision(std::string* proj_io, const std::string& ref, std::string* sha_out, std::string* branch) {
    std::string& proj = *proj_io;
    std::string& sha = *sha_out;
    if (proj.empty()) {
      std::lock_guard lock(config_mu);
      proj = project;
    }
    if (proj.empty()) {
      auto all = ctx->store->ListProjects();
      if (all.ok() && all->size() == 1) proj = (*all)[0].name;
    }
    if (proj.empty()) return Status::Error("project is required (the server hosts several, or none was deployed yet)");
    if (!ValidProjectName(proj)) return Status::Error("project '" + proj + "' not found");
    const std::string repo = ctx->options.data_dir + "/git/" + proj + ".git";
    if (!std::filesystem::exists(repo)) return Status::Error("project '" + proj + "' not found");
    if (ref.empty() || ref[0] == '-' || ref.size() > 200) return Status::Error("bad revision '" + ref + "'");
    const bool short_sha = ref.size() == 12 && ref.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (short_sha && std::filesystem::exists(RevisionDir(ref))) {
      sha = ref;  // a revision deployed before (rollback --to, a redeploy)
    } else {
      auto resolved = Git({"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, repo);
      if (!resolved.ok() || Trim(*resolved).size() < 12)
        return Status::Error("revision '" + ref + "' not found in project " + proj);
      sha = std::string(Trim(*resolved)).substr(0, 12);
      if (!std::filesystem::exists(RevisionDir(sha))) {
        static std::atomic<int> counter{0};
        const std::string tmp = RevisionDir(sha) + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        (void)RemoveAll(tmp);
        if (Status st = MakeDirs(dir + "/revisions"); !st.ok()) return st;
        if (Status st = Checkout(repo, std::string(Trim(*resolved)), tmp); !st.ok()) {
          (void)RemoveAll(tmp);
          return Status::Error("checking out " + ref + ": " + st.message());
        }
        std::error_code ec;
        std::filesystem::rename(tmp, RevisionDir(sha), ec);
        if (ec) return Status::Error("revisions: " + ec.message());
      }
      if (branch->empty()) {
        auto refs = ListRefs(repo);
        if (refs.count("refs/heads/" + ref)) *branch = ref;
      }
    }
    return Status::Ok();
  }

  // POST /api/v1/plan and /api/v1/apply {environment, project?, ref? (default HEAD)}.
  Result<Json> PlanOrApply(const Json& body, bool apply) {
    using R = Result<Json>;
    if (!body.is_object()) return R::Error("body: expected a JSON object");
    auto str = [&](const char* k, const std::string& fallback) {
      auto it = body.find(k);
      return it != body.end() && it->is_string() ? it->get<std::string>() : fallback;
    };
    const std::string env = str("environment", ""), ref = str("ref", "HEAD");
    std::string proj = str("project", ""), sha, branch;
    if (env.empty() || env.size() > 63) return R::Error("environment is required");
    std::lock_guard serialize(prepare_mu);
    if (Status st = CheckoutRevision(&proj, ref, &sha, &branch); !st.ok()) return st;
    std::map<std::string, std::string> revisions;
    auto merged = MergedConfig(proj, sha, &revisions);
    if (!merged.ok()) return merged.status();
    if (!merged->environments.empty() && !merged->FindEnvironment(env))
      return R::Error("environment '" + env + "' is not declared in " + proj + " at " + ref);
    Json out = {{"project", proj}, {"revision", sha}, {"environment", env}, {"changes", Json::array()}};
    for (const auto& c : deploy::PlanEnvironment(*controller, *fleet, *merged, env))
      out["changes"].push_back({{"mark", std::string(1, c.mark)}, {"service", c.service}, {"text", c.text}});
    if (!apply) return out;
    if (Status st = UseRevisionConfig(proj, sha); !st.ok()) return st;
    auto done = controller->Converge(env);
    if (!done.ok()) return done.status();
    out["applied"] = *done;
    return out;
  }

  // Scale operations of the autoscaler: one service.scaled event when one starts (and one
  // when it fails); they are not deployments for the deployment events and counters.
  void NotifyScaling(const deploy::Deployment& d, const std::string& what) {
    if (what == "succeeded") return;
    monitor::Event e;
    e.type = monitor::EventType::kServiceScaled;
    const std::string counts = std::to_string(d.scale_from) + " -> " + std::to_string(d.scale_to);
    const std::string direction = d.scale_to > d.scale_from ? "scale out " : "scale in ";
    e.subject = d.service + " (" + d.environment + "): " + direction + counts + (what == "scaling" ? "" : " " + what);
    e.message = what == "scaling" && !d.events.empty() ? d.events.front().message : d.reason;
    e.fields = {{"service", d.service},
                {"environment", d.environment},
                {"revision", d.revision},
                {"deployment", std::to_string(d.id)},
                {"from", std::to_string(d.scale_from)},
                {"to", std::to_string(d.scale_to)},
                {"state", what}};
    e.url = ctx->base_url + "/api/v1/deployments/" + std::to_string(d.id);
    (void)monitor->notifier().Publish("deployments", e);
  }

  void Notify(const deploy::Deployment& d, const std::string& what) {
    if (!monitor) return;
    if (d.strategy == "scale") return NotifyScaling(d, what);
    monitor::Event e;
    e.type = what == "started"              ? monitor::EventType::kDeploymentStarted
             : what == "succeeded"          ? monitor::EventType::kDeploymentSucceeded
             : what == "approval_requested" ? monitor::EventType::kApprovalRequested
                                            : monitor::EventType::kDeploymentRolledBack;
    if (what == "rejected" || what == "aborted" || what == "failed") e.type = monitor::EventType::kDeploymentRolledBack;
    e.subject = d.service + " (" + d.environment + "): deployment " + std::to_string(d.id) + " of " + d.revision + " " +
                (what == "approval_requested" ? "waits for approval" : what);
    e.message = d.reason;
    e.fields = {{"service", d.service},   {"environment", d.environment},
                {"revision", d.revision}, {"deployment", std::to_string(d.id)},
                {"state", what},          {"strategy", d.strategy}};
    e.url = ctx->base_url + "/api/v1/deployments/" + std::to_string(d.id);
    (void)monitor->notifier().Publish("deployments", e);
    if (what != "started" && what != "approval_requested") {
      const std::string result = what == "rolled_back" || what == "rolled back" ? "rolled_back" : what;
      monitor->registry()
          .GetCounter(
              monitor::names::kDeploymentsTotal, "Deployments that ended, by result",
              {{"service", d.service}, {"environment", d.environment}, {"strategy", d.strategy}, {"result", result}})
          ->Inc();
      static const std::vector<double> kBuckets = {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
      if (d.finished_ms > d.created_ms)
        monitor->registry()
            .GetHistogram(monitor::names::kDeploymentDurationSeconds, "How long deployments took, by result",
                          {{"service", d.service}, {"environment", d.environment}, {"result", result}}, kBuckets)
            ->Observe((d.finished_ms - d.created_ms) / 1000.0);
    }
  }

  // Alarm actions "deploy:rollback:SERVICE" (every environment) or "deploy:rollback:SERVICE:ENV".
  void OnAlarm(const monitor::AlarmTransition& t) {
    for (const auto& a : t.actions) {
      if (!StartsWith(a, "deploy:rollback:")) continue;
      auto parts = Split(a.substr(16), ':');
      for (const auto& s : controller->Services()) {
        if (s.service != parts[0] || (parts.size() > 1 && s.environment != parts[1])) continue;
        if (s.active_deployment == 0) continue;
        auto active = controller->Active(s.service, s.environment);
        if (active.ok() && active->strategy == "scale") continue;  // scaling is no deployment to roll back
        auto r = controller->Rollback(s.service, s.environment, "", "alarm " + t.alarm + " in ALARM: " + t.reason);
        fprintf(stderr, "gantry server: alarm %s: rollback of %s in %s: %s\n", t.alarm.c_str(), s.service.c_str(),
                s.environment.c_str(), r.ok() ? "started" : r.error().c_str());
      }
    }
  }

  // Load balancer counters per target group and instance processes into the monitor.
  void FeedMetrics() {
    if (!monitor) return;
    auto& reg = monitor->registry();
    deploy::TrafficRouter* r = Router(false);
    if (r != nullptr) {
      std::lock_guard lock(lb_mu);
      auto m = lb->control()->GetMetrics();
      if (m.ok()) metrics_feed->FeedLb(*m);
    }
    auto instances = fleet->List("");
    metrics_feed->FeedInstances(instances);
    for (const auto& i : instances) {
      const std::string key = i.id + "@" + std::to_string(i.pid);
      if (watched.count(key)) continue;
      watched.insert(key);
      (void)monitor::WatchProcess(
          &reg, {{"service", Split(i.group, '.')[0]}, {"instance", i.id}, {"pid", std::to_string(i.pid)}}, i.pid);
    }
  }

  void Tick() {
    auto last_feed = std::chrono::steady_clock::now() - std::chrono::hours(1);
    auto last_ship = last_feed, last_prune = std::chrono::steady_clock::now();
    std::unique_lock lock(tick_mu);
    while (!stopping) {
      lock.unlock();
      const bool busy = controller->Tick();
      controller->Autoscale(scaling_metrics.get());  // measures each service every autoscaling.interval
      if (std::chrono::steady_clock::now() - last_feed > std::chrono::seconds(1)) {
        FeedMetrics();
        last_feed = std::chrono::steady_clock::now();
      }
      if (images && std::chrono::steady_clock::now() - last_prune > std::chrono::minutes(10)) {
        // Unpacked images nobody ran for a day, and leftovers of interrupted unpacks.
        auto pruned = images->Prune(fleet->RootfsInUse());
        if (!pruned.ok()) fprintf(stderr, "gantry server: unpacked images: %s\n", pruned.error().c_str());
        last_prune = std::chrono::steady_clock::now();
      }
      if (log_shipper && std::chrono::steady_clock::now() - last_ship > std::chrono::milliseconds(500)) {
        auto shipped = log_shipper->Ship(monitor::SystemClock::Get().NowMs());
        if (!shipped.ok()) fprintf(stderr, "gantry server: instance logs: %s\n", shipped.error().c_str());
        last_ship = std::chrono::steady_clock::now();
      }
      lock.lock();
      tick_cv.wait_for(lock, std::chrono::milliseconds(busy ? 50 : 200), [&] { return stopping; });
    }
  }
};

Deployments::Deployments(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Deployments::~Deployments() {
  {
    std::lock_guard lock(impl_->tick_mu);
    impl_->stopping = true;
  }
  impl_->tick_cv.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
  if (impl_->monitor && impl_->alarm_subscription >= 0) impl_->monitor->alarms().Unsubscribe(impl_->alarm_subscription);
}

Result<std::unique_ptr<Deployments>> Deployments::Open(Context& ctx, monitor::Monitor* monitor) {
  using R = Result<std::unique_ptr<Deployments>>;
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.ctx = &ctx;
  m.monitor = monitor;
  m.dir = ctx.options.data_dir + "/deploy";
  if (Status st = MakeDirs(m.dir + "/revisions"); !st.ok()) return R::Error(st.message());
  auto store = deploy::OpenSqliteStateStore(m.dir + "/deploy.db");
  if (!store.ok()) return R::Error(store.error());
  m.store = std::move(*store);
  auto fleet = deploy::LocalFleet::Open(m.dir);  // re-adopts the instances
  if (!fleet.ok()) return R::Error(fleet.error());
  m.fleet = std::move(*fleet);
  if (monitor) {
    m.log_shipper = std::make_unique<InstanceLogShipper>(m.fleet->dir(), &monitor->logs());
    m.metrics_feed = std::make_unique<MetricsFeed>(&monitor->registry());
  }
  Impl* raw = impl.get();
  m.router = std::make_unique<LazyRouter>([raw](bool start) { return raw->Router(start); });
  m.alarms = std::make_unique<MonitorAlarms>(monitor);
  deploy::ControllerOptions o;
  o.store = m.store.get();
  o.target = m.fleet.get();
  o.router = m.router.get();
  o.alarms = m.alarms.get();
  o.revision_dir = [raw](const std::string& rev) { return raw->RevisionDir(rev); };
  if (auto blobs = blob::OpenFsBlobStore(ctx.options.data_dir + "/blobs"); blobs.ok()) {
    m.image_blobs = std::move(*blobs);
    m.images =
        std::make_unique<deploy::ImageUnpacker>(*m.image_blobs, ctx.options.data_dir + "/registry", m.dir + "/images");
    o.resolve_image = [raw](const std::string& image) { return raw->images->Unpack(image); };
  }
  // Every environment gets a host of its own on the one listener (docs/deploy.md).
  o.route_listener = [](const deploy::ServiceSpec& spec, const std::string& env) {
    deploy::ListenerSpec l = spec.listener;
    if (l.host.empty())
      l.host = spec.name + "." + env + ".localhost";
    else if (env != "production")
      l.host = env + "." + l.host;
    return l;
  };
  o.notify = [raw](const deploy::Deployment& d, const std::string& what) { raw->Notify(d, what); };
  m.controller = std::make_unique<deploy::Controller>(o);
  m.scaling_metrics = std::make_unique<deploy::SystemScalingMetrics>(m.router.get());
  // The config of the last deployed revision, then routes, targets and weights as stored.
  if (auto cur = ReadFile(m.dir + "/current.json", 1 << 20); cur.ok()) {
    auto j = Json::parse(*cur, nullptr, false);
    if (j.is_object()) {
      if (j.contains("projects") && j["projects"].is_object())
        for (const auto& [p, r] : j["projects"].items())
          if (r.is_string()) m.project_revisions[p] = r.get<std::string>();
      Status st = m.UseRevisionConfig(j.value("project", ""), j.value("revision", ""));
      if (!st.ok()) fprintf(stderr, "gantry server: deployments: %s\n", st.message().c_str());
    }
  }
  if (!m.controller->Services().empty()) {
    if (Status st = m.controller->Restore(); !st.ok()) return R::Error("deployments: " + st.message());
  }
  if (monitor)
    m.alarm_subscription = monitor->alarms().Subscribe([raw](const monitor::AlarmTransition& t) { raw->OnAlarm(t); });
  m.ticker = std::thread([raw] { raw->Tick(); });
  return std::unique_ptr<Deployments>(new Deployments(std::move(impl)));
}

void Deployments::Mount(http::Router& router) {
  Impl* m = impl_.get();
  auto handler = [m](http::Request& req, http::Response& res) {
    store::Role need = req.method == "GET" ? store::Role::kViewer : store::Role::kOperator;
    auto who = Authorize(*m->ctx, req, res, need);
    if (!who) return;
    deploy::DeployApiOptions o;
    o.user = who->name;
    // A step of a run whose job was approved for this environment (the job's `environment:`,
    // docs/server.md) deploys with those approvals: nobody approves the same release twice.
    const int64_t run_id = who->id == 0 && who->name.rfind("run ", 0) == 0 ? std::atoll(who->name.c_str() + 4) : 0;
    o.prepare = [m, run_id](const std::map<std::string, std::string>& body, deploy::DeployRequest* r) {
      Status st = m->Prepare(body, r);
      if (st.ok() && run_id > 0) r->approved_by = m->RunApprovers(run_id, r->environment);
      return st;
    };
    deploy::MakeDeployApi(m->controller.get(), o)(req, res);
  };
  router.Mount("", "/api/v1/deployments", handler);
  router.Mount("", "/api/v1/services", handler);
  for (const bool apply : {false, true}) {
    router.Mount("POST", apply ? "/api/v1/apply" : "/api/v1/plan", [m, apply](http::Request& req, http::Response& res) {
      auto who = Authorize(*m->ctx, req, res, apply ? store::Role::kOperator : store::Role::kViewer);
      if (!who) return;
      auto text = req.ReadAll(kMaxJsonBody);
      if (!text.ok()) return SendError(res, 413, text.error());
      auto body = ParseJsonBody(*text);
      if (!body.ok()) return SendError(res, 400, body.error());
      auto out = m->PlanOrApply(*body, apply);
      if (!out.ok()) return SendError(res, out.error().find("not found") != std::string::npos ? 404 : 400, out.error());
      if (apply)
        (void)m->ctx->store->Audit(
            who->name, "deploy.apply", (*out)["project"].get<std::string>(),
            (*out)["environment"].get<std::string>() + " at " + (*out)["revision"].get<std::string>(), req.remote_addr);
      SendJson(res, 200, out->dump());
    });
  }
}

}  // namespace gantry::server
