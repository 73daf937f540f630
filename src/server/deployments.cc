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
#include "lb/control.h"
#include "monitor/metric_names.h"
#include "monitor/monitor.h"
#include "server/context.h"
#include "server/git_repo.h"
#include "server/lb_process.h"

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
  int alarm_subscription = -1;
  std::mutex prepare_mu;
  std::mutex config_mu;  // the project and revision whose config the controller holds
  std::string project, config_revision;
  std::map<std::string, std::string> project_revisions;  // every deployed project's revision
  std::thread ticker;
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;
  std::map<std::string, double> last_counts;  // metric feed: cumulative values seen
  std::set<std::string> watched;              // instances whose process feeds the monitor

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
    if (Status st = ApplyMonitoring(merged); !st.ok()) return st;
    std::lock_guard lock(config_mu);
    controller->SetConfig(std::move(merged));
    project = proj;
    config_revision = rev;
    project_revisions = revisions;
    return WriteFileAtomic(dir + "/current.json",
                           Json{{"project", proj}, {"revision", rev}, {"projects", project_revisions}}.dump());
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
    std::string proj = field("project");
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
    const std::string ref = req->revision;
    if (ref.empty() || ref[0] == '-' || ref.size() > 200) return Status::Error("bad revision '" + ref + "'");
    std::string sha;
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
      if (req->branch.empty()) {
        auto refs = ListRefs(repo);
        if (refs.count("refs/heads/" + ref)) req->branch = ref;
      }
    }
    req->revision = sha;
    return UseRevisionConfig(proj, sha);
  }

  void Notify(const deploy::Deployment& d, const std::string& what) {
    if (!monitor) return;
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
        auto r = controller->Rollback(s.service, s.environment, "");
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
      if (m.ok()) {
        for (const auto& g : m->groups) {
          const monitor::Labels labels = {{"target_group", g.name}};
          auto add = [&](const char* name, const char* help, const monitor::Labels& l, uint64_t value) {
            std::string key = std::string(name) + "|" + g.name;
            for (const auto& [k, v] : l) key += "|" + v;
            double& last = last_counts[key];
            const double delta = value >= last ? value - last : value;  // a restarted lb starts at 0
            last = static_cast<double>(value);
            reg.GetCounter(name, help, l)->Inc(delta);
          };
          add(monitor::names::kLbRequestsTotal, "Requests forwarded to a target group", labels, g.counters.requests);
          const std::pair<const char*, uint64_t> classes[] = {{"2xx", g.counters.status_2xx},
                                                              {"3xx", g.counters.status_3xx},
                                                              {"4xx", g.counters.status_4xx},
                                                              {"5xx", g.counters.status_5xx}};
          for (const auto& [cls, v] : classes) {
            monitor::Labels l = labels;
            l.emplace_back("code_class", cls);
            add(monitor::names::kLbResponsesTotal, "Responses of a target group by status class", l, v);
          }
          reg.GetGauge(monitor::names::kLbHealthyHosts, "Healthy targets of a target group", labels)
              ->Set(g.healthy_hosts);
          reg.GetGauge(monitor::names::kLbUnhealthyHosts, "Targets of a target group not healthy", labels)
              ->Set(g.unhealthy_hosts);
        }
      }
    }
    for (const auto& i : fleet->List("")) {
      const std::string key = i.id + "@" + std::to_string(i.pid);
      if (watched.count(key)) continue;
      watched.insert(key);
      (void)monitor::WatchProcess(&reg, {{"service", i.group}, {"instance", i.id}, {"pid", std::to_string(i.pid)}},
                                  i.pid);
    }
  }

  void Tick() {
    auto last_feed = std::chrono::steady_clock::now() - std::chrono::hours(1);
    std::unique_lock lock(tick_mu);
    while (!stopping) {
      lock.unlock();
      const bool busy = controller->Tick();
      if (std::chrono::steady_clock::now() - last_feed > std::chrono::seconds(5)) {
        FeedMetrics();
        last_feed = std::chrono::steady_clock::now();
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
}

}  // namespace gantry::server
