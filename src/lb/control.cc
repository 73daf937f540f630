#include "lb/control.h"

#include <mutex>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/sha256.h"

namespace gantry::lb {
namespace {

using Json = nlohmann::json;

std::string Ms(long long ms) { return std::to_string(ms) + "ms"; }

Json CountersJson(const Counters& c) {
  Json buckets = Json::array();
  for (auto b : c.latency_buckets) buckets.push_back(b);
  return Json{{"requests", c.requests},
              {"status_2xx", c.status_2xx},
              {"status_3xx", c.status_3xx},
              {"status_4xx", c.status_4xx},
              {"status_5xx", c.status_5xx},
              {"latency_buckets", buckets},
              {"latency_sum_ms", c.latency_sum_ms}};
}

// A counter: absent is 0, anything but a non-negative integer is an error.
uint64_t U(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (!it->is_number_unsigned()) throw std::runtime_error(std::string(key) + " must be a non-negative integer");
  return it->get<uint64_t>();
}

Counters CountersFrom(const Json& j) {
  Counters c;
  c.requests = U(j, "requests");
  c.status_2xx = U(j, "status_2xx");
  c.status_3xx = U(j, "status_3xx");
  c.status_4xx = U(j, "status_4xx");
  c.status_5xx = U(j, "status_5xx");
  c.latency_sum_ms = j.value("latency_sum_ms", 0.0);
  if (auto it = j.find("latency_buckets"); it != j.end() && it->is_array())
    for (size_t i = 0; i < it->size() && i < static_cast<size_t>(kLatencyBuckets); ++i)
      c.latency_buckets[i] = (*it)[i].is_number_unsigned() ? (*it)[i].get<uint64_t>() : 0;
  return c;
}

bool BearerMatches(const http::Request& req, const std::string& token) {
  std::string_view h = req.Header("Authorization");
  if (h.substr(0, 7) != "Bearer ") return false;
  return ConstantTimeEquals(h.substr(7), token);
}

}  // namespace

std::string FormatConfig(const Config& c) {
  Json groups = Json::object();
  for (const auto& g : c.target_groups) {
    const auto& h = g.health_check;
    groups[g.name] =
        Json{{"targets", g.targets},
             {"algorithm", g.algorithm == Algorithm::kRoundRobin ? "round_robin" : "least_outstanding_requests"},
             {"health_check",
              {{"enabled", h.enabled ? "true" : "false"},
               {"path", h.path},
               {"interval", Ms(h.interval_ms)},
               {"timeout", Ms(h.timeout_ms)},
               {"healthy_threshold", h.healthy_threshold},
               {"unhealthy_threshold", h.unhealthy_threshold},
               {"matcher", std::to_string(h.matcher_low) + "-" + std::to_string(h.matcher_high)}}},
             {"deregistration_delay", Ms(g.deregistration_delay_ms)},
             {"slow_start", Ms(g.slow_start_ms)},
             {"stickiness",
              {{"enabled", g.stickiness.enabled ? "true" : "false"},
               {"cookie", g.stickiness.cookie},
               {"duration", Ms(g.stickiness.duration_ms)}}},
             {"outlier_detection",
              {{"consecutive_errors", g.outlier.consecutive_errors}, {"ejection", Ms(g.outlier.ejection_ms)}}}};
  }
  Json listeners = Json::array();
  for (const auto& l : c.listeners) {
    Json rules = Json::array();
    for (const auto& r : l.rules) {
      Json rule{{"path", r.path_prefix}};
      if (!r.host.empty()) rule["host"] = r.host;
      if (!r.headers.empty()) {
        Json hs = Json::object();
        for (const auto& h : r.headers) hs[h.name] = h.value;
        rule["headers"] = hs;
      }
      Json fwd = Json::array();
      for (const auto& w : r.forward) fwd.push_back({{"target_group", w.target_group}, {"weight", w.weight}});
      rule["forward"] = fwd;
      rules.push_back(rule);
    }
    listeners.push_back({{"listen", l.listen}, {"rules", rules}});
  }
  Json root{{"timeouts",
             {{"connect", Ms(c.timeouts.connect_ms)},
              {"header", Ms(c.timeouts.header_ms)},
              {"idle", Ms(c.timeouts.idle_ms)},
              {"request", Ms(c.timeouts.request_ms)}}},
            {"limits",
             {{"max_header_bytes", c.limits.max_header_bytes},
              {"max_body_bytes", c.limits.max_body_bytes},
              {"max_connections", c.limits.max_connections},
              {"upstream_keepalive", c.limits.upstream_keepalive}}},
            {"listeners", listeners},
            {"target_groups", groups}};
  if (c.workers > 0) root["workers"] = c.workers;
  if (!c.access_log.empty()) root["access_log"] = c.access_log;
  return root.dump(2) + "\n";
}

std::string MetricsToJson(const Metrics& m) {
  Json listeners = Json::array();
  for (const auto& l : m.listeners)
    listeners.push_back({{"listen", l.listen},
                         {"bound", l.bound},
                         {"counters", CountersJson(l.counters)},
                         {"active_connections", l.active_connections},
                         {"total_connections", l.total_connections}});
  Json groups = Json::array();
  for (const auto& g : m.groups) {
    Json targets = Json::array();
    for (const auto& t : g.targets)
      targets.push_back({{"address", t.address},
                         {"state", TargetStateName(t.state)},
                         {"state_code", static_cast<int>(t.state)},
                         {"counters", CountersJson(t.counters)},
                         {"outstanding", t.outstanding},
                         {"connect_errors", t.connect_errors}});
    groups.push_back({{"name", g.name},
                      {"counters", CountersJson(g.counters)},
                      {"healthy_hosts", g.healthy_hosts},
                      {"unhealthy_hosts", g.unhealthy_hosts},
                      {"targets", targets}});
  }
  return Json{{"listeners", listeners}, {"groups", groups}}.dump();
}

Result<Metrics> MetricsFromJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Result<Metrics>::Error("lb metrics: not a JSON object");
  Metrics m;
  try {
    for (const auto& l : j.value("listeners", Json::array())) {
      ListenerMetrics lm;
      lm.listen = l.value("listen", "");
      lm.bound = l.value("bound", "");
      lm.counters = CountersFrom(l.value("counters", Json::object()));
      lm.active_connections = l.value("active_connections", 0ull);
      lm.total_connections = l.value("total_connections", 0ull);
      m.listeners.push_back(std::move(lm));
    }
    for (const auto& g : j.value("groups", Json::array())) {
      GroupMetrics gm;
      gm.name = g.value("name", "");
      gm.counters = CountersFrom(g.value("counters", Json::object()));
      gm.healthy_hosts = g.value("healthy_hosts", 0);
      gm.unhealthy_hosts = g.value("unhealthy_hosts", 0);
      for (const auto& t : g.value("targets", Json::array())) {
        TargetMetrics tm;
        tm.address = t.value("address", "");
        const int code = t.value("state_code", 0);
        if (code >= 0 && code <= static_cast<int>(TargetState::kUnused)) tm.state = static_cast<TargetState>(code);
        tm.counters = CountersFrom(t.value("counters", Json::object()));
        tm.outstanding = t.value("outstanding", 0ull);
        tm.connect_errors = t.value("connect_errors", 0ull);
        gm.targets.push_back(std::move(tm));
      }
      m.groups.push_back(std::move(gm));
    }
  } catch (const std::exception& e) {  // nlohmann's type errors and U()'s
    return Result<Metrics>::Error(std::string("lb metrics: ") + e.what());
  }
  return m;
}

http::Handler AdminHandler(LoadBalancer* lb, std::string config_file, std::string token) {
  return [lb, config_file, token](http::Request& req, http::Response& res) {
    if (token.empty() || !BearerMatches(req, token)) {
      res.Send(401, "application/json", R"({"error":"a valid admin token is required"})");
      return;
    }
    if (req.method == "GET" && req.path == "/lb/metrics") {
      res.Send(200, "application/json", MetricsToJson(lb->GetMetrics()));
    } else if (req.method == "POST" && req.path == "/lb/reload") {
      auto next = ReadConfigFile(config_file);
      Status st = next.ok() ? lb->Apply(std::move(*next)) : next.status();
      if (st.ok())
        res.Send(200, "application/json", R"({"ok":true})");
      else
        res.Send(400, "application/json", Json{{"error", st.message()}}.dump());
    } else {
      res.Send(404, "application/json", R"({"error":"not found"})");
    }
  };
}

struct RemoteControl::State {
  std::mutex mu;
  std::string file, token;
  std::function<std::string()> admin_url;
  Config desired;
};

Result<std::unique_ptr<RemoteControl>> RemoteControl::Open(std::string config_file,
                                                           std::function<std::string()> admin_url, std::string token) {
  auto config = ReadConfigFile(config_file);
  if (!config.ok()) return config.status();
  std::unique_ptr<RemoteControl> rc(new RemoteControl());
  rc->state_ = std::make_shared<State>();
  rc->state_->file = std::move(config_file);
  rc->state_->token = std::move(token);
  rc->state_->admin_url = std::move(admin_url);
  rc->state_->desired = std::move(*config);
  return rc;
}

Config RemoteControl::config() {
  std::lock_guard lock(state_->mu);
  return state_->desired;
}

Status RemoteControl::Reload() {
  const std::string base = state_->admin_url();
  if (base.empty()) return Status::Error("load balancer process is not running");
  auto req = http::MakeRequest("POST", base + "/lb/reload", "", {{"Authorization", "Bearer " + state_->token}});
  req.timeout_ms = 5000;
  auto res = http::Fetch(req, 1 << 20);
  if (!res.ok()) return Status::Error("load balancer admin: " + res.error());
  if (res->status != 200) return Status::Error("load balancer reload: " + res->body);
  return Status::Ok();
}

Status RemoteControl::Apply(Config config) {
  {
    std::lock_guard lock(state_->mu);
    if (Status st = Validate(config); !st.ok()) return st;
    if (Status st = WriteFileAtomic(state_->file, FormatConfig(config)); !st.ok()) return st;
    state_->desired = std::move(config);
  }
  Status st = Reload();
  if (!st.ok() && st.message().find("reload:") != std::string::npos) return st;  // refused: a real error
  return Status::Ok();  // unreachable: the restarted process reads the file
}

Status RemoteControl::SetWeights(const std::map<std::string, int>& weights) {
  Config c = config();
  for (const auto& [name, w] : weights) {
    if (!c.FindGroup(name)) return Status::Error("unknown target group '" + name + "'");
    if (w < 0 || w > 999) return Status::Error("weight of " + name + " must be 0..999");
  }
  for (auto& l : c.listeners)
    for (auto& r : l.rules)
      for (auto& wg : r.forward)
        if (auto it = weights.find(wg.target_group); it != weights.end()) wg.weight = it->second;
  return Apply(std::move(c));
}

Status RemoteControl::SetTargets(const std::string& group, std::vector<std::string> targets) {
  Config c = config();
  for (auto& g : c.target_groups)
    if (g.name == group) {
      g.targets = std::move(targets);
      return Apply(std::move(c));
    }
  return Status::Error("unknown target group '" + group + "'");
}

Result<Metrics> RemoteControl::GetMetrics() {
  const std::string base = state_->admin_url();
  if (base.empty()) return Result<Metrics>::Error("load balancer process is not running");
  auto req = http::MakeRequest("GET", base + "/lb/metrics", "", {{"Authorization", "Bearer " + state_->token}});
  req.timeout_ms = 2000;
  auto res = http::Fetch(req, 16 << 20);
  if (!res.ok()) return Result<Metrics>::Error("load balancer admin: " + res.error());
  if (res->status != 200) return Result<Metrics>::Error("load balancer admin: HTTP " + std::to_string(res->status));
  return MetricsFromJson(res->body);
}

}  // namespace gantry::lb
