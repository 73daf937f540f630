#include "server/monitor_api.h"

#include <mutex>
#include <set>

#include "base/fs.h"
#include "base/http_server.h"
#include "base/strings.h"
#include "monitor/monitor.h"
#include "server/context.h"
#include "server/json_body.h"

namespace gantry::server {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxAlarms = 1000, kMaxTopics = 200, kMaxSubscriptions = 32, kMaxActions = 16, kMaxDimensions = 16;

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 63 || s[0] < 'a' || s[0] > 'z') return false;
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

Status Unknown(const Json& j, const std::set<std::string>& known, const char* what) {
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      return Status::Error(std::string(what) + ": unknown field '" + k.substr(0, 60) + "' (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> Str(const Json& j, const char* key, const std::string& fallback, size_t max = 256) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return Result<std::string>::Error(std::string(key) + ": expected a string");
  std::string s = it->get<std::string>();
  if (s.size() > max) return Result<std::string>::Error(std::string(key) + ": longer than " + std::to_string(max));
  return s;
}

Result<long long> Int(const Json& j, const char* key, long long fallback, long long lo, long long hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<long long>() < lo || it->get<long long>() > hi)
    return Result<long long>::Error(std::string(key) + ": expected a whole number from " + std::to_string(lo) + " to " +
                                    std::to_string(hi));
  return it->get<long long>();
}

// A period as "1m" / "30s" or a number of seconds (CloudWatch's unit).
Result<long long> Period(const Json& j) {
  auto it = j.find("period");
  if (it == j.end() || it->is_null()) return 60'000LL;
  long long ms = -1;
  if (it->is_number_integer() && it->get<long long>() > 0 && it->get<long long>() <= 86'400)
    ms = it->get<long long>() * 1000;
  if (it->is_string()) ms = ParseDurationMs(it->get<std::string>());
  // The monitor samples every 10 s: shorter periods, or ones that split a sample, mislead.
  if (ms < 10'000 || ms > 86'400'000LL || ms % 10'000 != 0)
    return Result<long long>::Error("period: expected a multiple of 10s up to 1d (\"1m\", or seconds)");
  return ms;
}

Result<std::vector<std::string>> Actions(const Json& j, const char* key) {
  using R = Result<std::vector<std::string>>;
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > kMaxActions)
    return R::Error(std::string(key) + ": expected a list of up to " + std::to_string(kMaxActions) + " actions");
  for (const auto& a : *it) {
    if (!a.is_string()) return R::Error(std::string(key) + ": actions are strings");
    std::string s = a.get<std::string>();
    bool ok =
        s.size() <= 200 && (StartsWith(s, "topic:") || StartsWith(s, "deploy:rollback:") || StartsWith(s, "scale:"));
    if (!ok)
      return R::Error(std::string(key) + ": '" + s.substr(0, 60) +
                      "' is not an action (topic:NAME, deploy:rollback:SERVICE[:ENV], scale:SERVICE:+N)");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Status PutAlarmJson(monitor::Monitor* m, const std::string& name, const std::string& body, std::string* normalized) {
  if (!ValidName(name))
    return Status::Error("alarm name '" + name.substr(0, 80) + "' must match [a-z][a-z0-9_-]{0,62}");
  auto parsed = ParseJsonBody(body);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  if (!j.is_object()) return Status::Error("body: expected a JSON object");
  monitor::AlarmActions actions;
  for (auto [key, dst] : {std::pair{"on_alarm", &actions.on_alarm}, std::pair{"on_ok", &actions.on_ok},
                          std::pair{"on_insufficient_data", &actions.on_insufficient_data}}) {
    auto a = Actions(j, key);
    if (!a.ok()) return a.status();
    *dst = std::move(*a);
  }
  auto description = Str(j, "description", "", 1024);
  if (!description.ok()) return description.status();
  Json out = {{"on_alarm", actions.on_alarm},
              {"on_ok", actions.on_ok},
              {"on_insufficient_data", actions.on_insufficient_data},
              {"description", *description}};
  if (j.contains("rule")) {
    if (Status st = Unknown(j, {"rule", "description", "on_alarm", "on_ok", "on_insufficient_data"}, "composite alarm");
        !st.ok())
      return st;
    auto rule = Str(j, "rule", "", 4096);
    if (!rule.ok()) return rule.status();
    auto check = monitor::AlarmRule::Parse(*rule, "rule");
    if (!check.ok()) return check.status();
    out["rule"] = *rule;
    *normalized = out.dump();
    if (m == nullptr) return Status::Ok();
    monitor::CompositeAlarm c;
    c.name = name;
    c.description = *description;
    c.rule = *rule;
    c.actions = std::move(actions);
    return m->alarms().Put(std::move(c));
  }
  if (Status st = Unknown(
          j,
          {"metric", "dimensions", "statistic", "period", "evaluation_periods", "datapoints_to_alarm", "threshold",
           "comparison", "missing_data", "description", "on_alarm", "on_ok", "on_insufficient_data"},
          "alarm");
      !st.ok())
    return st;
  monitor::MetricAlarm a;
  a.name = name;
  a.description = *description;
  a.actions = std::move(actions);
  auto metric = Str(j, "metric", "", 200);
  if (!metric.ok()) return metric.status();
  if (metric->empty()) return Status::Error("metric: required (or `rule` for a composite alarm)");
  a.metric = *metric;
  Json dims = Json::object();
  if (auto it = j.find("dimensions"); it != j.end() && !it->is_null()) {
    if (!it->is_object() || it->size() > kMaxDimensions)
      return Status::Error("dimensions: expected an object of up to 16 name: value strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string() || k.size() > 100 || v.get<std::string>().size() > 200)
        return Status::Error("dimensions: '" + k.substr(0, 60) + "' must be a string (names <= 100, values <= 200)");
      a.dimensions.emplace_back(k, v.get<std::string>());
      dims[k] = v;
    }
  }
  auto stat = Str(j, "statistic", "avg", 16);
  if (!stat.ok()) return stat.status();
  auto parsed_stat = monitor::ParseStatistic(*stat);
  if (!parsed_stat.ok()) return Status::Error("statistic: " + parsed_stat.error());
  a.stat = *parsed_stat;
  auto period = Period(j);
  if (!period.ok()) return period.status();
  a.period_ms = *period;
  auto n = Int(j, "evaluation_periods", 1, 1, 100);
  if (!n.ok()) return n.status();
  a.evaluation_periods = static_cast<int>(*n);
  auto dta = Int(j, "datapoints_to_alarm", *n, 1, *n);
  if (!dta.ok()) return dta.status();
  a.datapoints_to_alarm = static_cast<int>(*dta);
  auto threshold = j.find("threshold");
  if (threshold == j.end() || !threshold->is_number()) return Status::Error("threshold: required, a number");
  a.threshold = threshold->get<double>();
  auto cmp = Str(j, "comparison", ">", 40);
  if (!cmp.ok()) return cmp.status();
  auto parsed_cmp = monitor::ParseComparison(*cmp);
  if (!parsed_cmp.ok()) return Status::Error("comparison: " + parsed_cmp.error());
  a.comparison = *parsed_cmp;
  auto missing = Str(j, "missing_data", "missing", 20);
  if (!missing.ok()) return missing.status();
  auto parsed_missing = monitor::ParseMissingData(*missing);
  if (!parsed_missing.ok()) return Status::Error("missing_data: " + parsed_missing.error());
  a.missing_data = *parsed_missing;
  out.update({{"metric", a.metric},
              {"dimensions", dims},
              {"statistic", monitor::StatisticName(a.stat)},
              {"period", std::to_string(a.period_ms / 1000) + "s"},
              {"evaluation_periods", a.evaluation_periods},
              {"datapoints_to_alarm", a.datapoints_to_alarm},
              {"threshold", a.threshold},
              {"comparison", monitor::ComparisonSymbol(a.comparison)},
              {"missing_data", *missing}});
  *normalized = out.dump();
  if (m == nullptr) return Status::Ok();
  return m->alarms().Put(std::move(a));
}

Status PutTopicJson(monitor::Monitor* m, const std::string& name, const std::string& body, std::string* normalized) {
  if (!ValidName(name))
    return Status::Error("topic name '" + name.substr(0, 80) + "' must match [a-z][a-z0-9_-]{0,62}");
  auto parsed = ParseJsonBody(body);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  if (!j.is_object()) return Status::Error("body: expected a JSON object");
  if (Status st = Unknown(j, {"subscriptions"}, "topic"); !st.ok()) return st;
  auto subs = j.find("subscriptions");
  if (subs == j.end() || !subs->is_array() || subs->size() > kMaxSubscriptions)
    return Status::Error("subscriptions: expected a list of up to 32 {protocol, endpoint, secret, events}");
  std::vector<monitor::Subscription> list;
  Json out = Json::array();
  for (size_t i = 0; i < subs->size(); ++i) {
    const Json& s = (*subs)[i];
    const std::string where = "subscriptions[" + std::to_string(i) + "]";
    if (!s.is_object()) return Status::Error(where + ": expected an object");
    if (Status st = Unknown(s, {"protocol", "endpoint", "secret", "events"}, where.c_str()); !st.ok()) return st;
    monitor::Subscription sub;
    auto protocol = Str(s, "protocol", "webhook", 20);
    if (!protocol.ok()) return Status::Error(where + "." + protocol.error());
    auto p = monitor::ParseProtocol(*protocol);
    if (!p.ok()) return Status::Error(where + ".protocol: " + p.error());
    sub.protocol = *p;
    auto endpoint = Str(s, "endpoint", "", 2048);
    if (!endpoint.ok()) return Status::Error(where + "." + endpoint.error());
    if (endpoint->empty()) return Status::Error(where + ".endpoint: required");
    sub.endpoint = *endpoint;
    auto secret = Str(s, "secret", "", 256);
    if (!secret.ok()) return Status::Error(where + "." + secret.error());
    sub.secret = *secret;
    Json events = Json::array();
    if (auto e = s.find("events"); e != s.end() && !e->is_null()) {
      if (!e->is_array() || e->size() > 16) return Status::Error(where + ".events: expected a list of event names");
      for (const auto& name_j : *e) {
        auto t = monitor::ParseEventType(name_j.is_string() ? name_j.get<std::string>() : "");
        if (!t.ok()) return Status::Error(where + ".events: " + t.error());
        sub.only.push_back(*t);
        events.push_back(monitor::EventTypeName(*t));
      }
    }
    out.push_back({{"protocol", *protocol}, {"endpoint", sub.endpoint}, {"secret", sub.secret}, {"events", events}});
    list.push_back(std::move(sub));
  }
  // Check every subscription before the topic changes: a refused one leaves the old topic.
  for (const auto& sub : list) {
    if (Status st = monitor::Notifier::ValidateSubscription(name, sub); !st.ok()) return st;
  }
  *normalized = Json{{"subscriptions", out}}.dump();
  if (m == nullptr) return Status::Ok();
  m->notifier().RemoveTopic(name);
  for (auto& sub : list) {
    if (Status st = m->notifier().AddSubscription(name, std::move(sub)); !st.ok()) return st;
  }
  return Status::Ok();
}

namespace {

struct MonitorApi {
  Context* ctx = nullptr;
  monitor::Monitor* m = nullptr;
  std::string path;  // definitions.json
  std::mutex mu;
  Json defs = {{"alarms", Json::object()}, {"topics", Json::object()}};

  Status Save() { return WriteFileAtomic(path, defs.dump(1)); }

  Status Load() {
    auto text = ReadFile(path, 16u << 20);
    if (!text.ok()) return Status::Ok();  // nothing defined through the API yet
    auto j = Json::parse(*text, nullptr, false);
    if (!j.is_object()) return Status::Error(path + ": not a JSON object (fix or delete it)");
    for (const char* kind : {"alarms", "topics"}) {
      if (!j.contains(kind) || !j[kind].is_object()) continue;
      // Composite alarms may name alarms defined after them: put metric alarms first.
      std::vector<std::pair<std::string, Json>> items;
      for (const auto& [k, v] : j[kind].items()) items.emplace_back(k, v);
      std::stable_partition(items.begin(), items.end(), [](const auto& kv) { return !kv.second.contains("rule"); });
      for (const auto& [name, def] : items) {
        std::string normalized;
        Status st = std::string(kind) == "alarms" ? PutAlarmJson(m, name, def.dump(), &normalized)
                                                  : PutTopicJson(m, name, def.dump(), &normalized);
        if (!st.ok()) return Status::Error(path + ": " + kind + "." + name + ": " + st.message());
        defs[kind][name] = Json::parse(normalized);
      }
    }
    return Status::Ok();
  }

  Json AlarmJson(const monitor::AlarmStatus& a) {
    Json o = {{"name", a.name},
              {"composite", a.composite},
              {"state", monitor::AlarmStateName(a.state)},
              {"reason", a.reason},
              {"since_ms", a.since_ms},
              {"source", defs["alarms"].contains(a.name) ? "api" : "config"}};
    if (defs["alarms"].contains(a.name)) o["definition"] = defs["alarms"][a.name];
    return o;
  }

  Json TopicJson(const std::string& name) {
    Json subs = Json::array();
    for (const auto& s : m->notifier().Subscriptions(name)) {
      Json events = Json::array();
      for (auto t : s.only) events.push_back(monitor::EventTypeName(t));
      subs.push_back({{"protocol", monitor::ProtocolName(s.protocol)},
                      {"endpoint", s.endpoint},
                      {"signed", !s.secret.empty()},
                      {"events", events}});
    }
    return {{"name", name}, {"source", defs["topics"].contains(name) ? "api" : "config"}, {"subscriptions", subs}};
  }

  // One handler for /api/v1/alarms[/NAME] and /api/v1/topics[/NAME].
  void Handle(bool alarms, http::Request& req, http::Response& res) {
    const bool read = req.method == "GET" || req.method == "HEAD";
    auto who = Authorize(*ctx, req, res, read ? store::Role::kViewer : store::Role::kOperator);
    if (!who) return;
    const std::string prefix = alarms ? "/api/v1/alarms" : "/api/v1/topics";
    std::string name = req.path.size() > prefix.size() ? req.path.substr(prefix.size() + 1) : "";
    const char* kind = alarms ? "alarms" : "topics";
    std::lock_guard lock(mu);
    if (read) {
      if (alarms) {
        Json list = Json::array();
        for (const auto& a : m->alarms().List()) {
          if (name.empty()) list.push_back(AlarmJson(a));
          if (a.name == name) return SendJson(res, 200, AlarmJson(a).dump());
        }
        if (!name.empty()) return SendError(res, 404, "no alarm named '" + name.substr(0, 80) + "'");
        return SendJson(res, 200, Json{{"alarms", list}}.dump());
      }
      auto topics = m->notifier().Topics();
      if (!name.empty()) {
        if (std::find(topics.begin(), topics.end(), name) == topics.end())
          return SendError(res, 404, "no topic named '" + name.substr(0, 80) + "'");
        return SendJson(res, 200, TopicJson(name).dump());
      }
      Json list = Json::array();
      for (const auto& t : topics) list.push_back(TopicJson(t));
      return SendJson(res, 200, Json{{"topics", list}}.dump());
    }
    if (name.empty() || name.find('/') != std::string::npos)
      return SendError(res, 400, std::string("expected /api/v1/") + kind + "/NAME");
    if (req.method == "PUT") {
      auto body = req.ReadAll(kMaxJsonBody);
      if (!body.ok()) return SendError(res, 413, body.error());
      const size_t limit = alarms ? kMaxAlarms : kMaxTopics;
      if (!defs[kind].contains(name) && defs[kind].size() >= limit)
        return SendError(res, 409, std::string("at most ") + std::to_string(limit) + " " + kind + " through the API");
      std::string normalized;
      Status st = alarms ? PutAlarmJson(m, name, *body, &normalized) : PutTopicJson(m, name, *body, &normalized);
      if (!st.ok()) return SendError(res, 400, st.message());
      const bool existed = defs[kind].contains(name);
      defs[kind][name] = Json::parse(normalized);
      if (Status saved = Save(); !saved.ok()) return SendError(res, 500, saved.message());
      (void)ctx->store->Audit(who->name, std::string(alarms ? "alarm" : "topic") + ".put", name,
                              existed ? "replaced" : "created", req.remote_addr);
      Json answer = Json::parse(normalized);
      if (answer.contains("subscriptions"))  // secrets stay on the server
        for (auto& s : answer["subscriptions"]) s.erase("secret");
      answer["name"] = name;
      return SendJson(res, existed ? 200 : 201, answer.dump());
    }
    if (req.method == "DELETE") {
      if (!defs[kind].contains(name)) {
        bool known = false;
        if (alarms) {
          known = m->alarms().State(name).has_value();
        } else {
          for (const auto& t : m->notifier().Topics()) known |= t == name;
        }
        return SendError(
            res, known ? 409 : 404,
            known ? name.substr(0, 80) + " is declared in a .gantry file: remove it there"
                  : std::string("no ") + (alarms ? "alarm" : "topic") + " named '" + name.substr(0, 80) + "'");
      }
      if (alarms) {
        m->alarms().Remove(name);
      } else {
        m->notifier().RemoveTopic(name);
      }
      defs[kind].erase(name);
      if (Status saved = Save(); !saved.ok()) return SendError(res, 500, saved.message());
      (void)ctx->store->Audit(who->name, std::string(alarms ? "alarm" : "topic") + ".delete", name, "",
                              req.remote_addr);
      return SendJson(res, 200, Json{{"deleted", name}}.dump());
    }
    res.Send(405, "application/json", R"({"error":"use GET, PUT or DELETE"})", {{"Allow", "GET, PUT, DELETE"}});
  }
};

}  // namespace

Status MountMonitorApi(Context& ctx, monitor::Monitor* monitor, http::Router& router) {
  auto api = std::make_shared<MonitorApi>();
  api->ctx = &ctx;
  api->m = monitor;
  api->path = ctx.options.data_dir + "/monitor/definitions.json";
  if (Status st = api->Load(); !st.ok()) return st;
  router.Mount("", "/api/v1/alarms", [api](http::Request& req, http::Response& res) { api->Handle(true, req, res); });
  router.Mount("", "/api/v1/topics", [api](http::Request& req, http::Response& res) { api->Handle(false, req, res); });
  return Status::Ok();
}

}  // namespace gantry::server
