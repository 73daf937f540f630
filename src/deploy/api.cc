#include "deploy/api.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace gantry::deploy {
namespace {

using Json = nlohmann::json;

void Reply(http::Response& res, int status, const Json& body) { res.Send(status, "application/json", body.dump()); }
void Error(http::Response& res, int status, const std::string& message) {
  Reply(res, status, Json{{"error", message}});
}

Json DeploymentJson(const Deployment& d) { return Json::parse(ToJson(d)); }

// null when the service is not autoscaled.
Json AutoscalingJson(const AutoscalingStatus& a, const ScalingState& s) {
  if (!a.enabled) return nullptr;
  return Json{{"desired", a.desired},
              {"min", a.min},
              {"max", a.max},
              {"target_cpu", a.target_cpu_percent},
              {"target_requests", a.target_requests_per_instance},
              {"measurement", a.measurement},
              {"last_event", s.last_event},
              {"last_event_ms", s.last_event_ms},
              {"last_scale_out_ms", s.last_scale_out_ms},
              {"last_scale_in_ms", s.last_scale_in_ms}};
}

// The body as a JSON object; replies 400 and returns false when it is not one.
bool ReadJson(http::Request& req, http::Response& res, Json* out) {
  auto body = req.ReadAll(kMaxApiBodyBytes);
  if (!body.ok()) {
    Error(res, 400, "request body: " + body.error());
    return false;
  }
  if (body->empty()) {
    *out = Json::object();
    return true;
  }
  try {
    *out = Json::parse(*body);
  } catch (const Json::exception& e) {  // parse errors and out-of-range numbers
    Error(res, 400, std::string("request body: ") + e.what());
    return false;
  }
  if (!out->is_object()) {
    Error(res, 400, "request body: expected a JSON object");
    return false;
  }
  return true;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int StatusFor(const std::string& message) {
  if (message.find("not found") != std::string::npos || message.find("not declared") != std::string::npos ||
      message.find("never been deployed") != std::string::npos || message.find("no active") != std::string::npos)
    return 404;
  return 409;
}

void Deployments(Controller* c, const DeployApiOptions& opt, http::Request& req, http::Response& res,
                 const std::string& rest) {
  if (rest.empty() && req.method == "GET") {
    const std::string service = req.QueryParam("service").value_or("");
    if (service.empty()) return Error(res, 400, "query parameter 'service' is required");
    Json list = Json::array();
    for (const auto& d : c->History(service, req.QueryParam("environment").value_or("")))
      list.push_back(DeploymentJson(d));
    return Reply(res, 200, Json{{"deployments", list}});
  }
  if (rest.empty() && req.method == "POST") {
    Json body;
    if (!ReadJson(req, res, &body)) return;
    DeployRequest r;
    r.service = Str(body, "service");
    r.environment = Str(body, "environment");
    r.revision = Str(body, "revision");
    r.branch = Str(body, "branch");
    r.strategy = Str(body, "strategy");
    if (r.revision.empty()) r.revision = Str(body, "ref");
    if (r.service.empty() || r.environment.empty() || r.revision.empty())
      return Error(res, 400, "service, environment and revision (or ref) are required");
    if (opt.prepare) {
      std::map<std::string, std::string> fields;
      for (const auto& [k, v] : body.items())
        if (v.is_string()) fields[k] = v.get<std::string>();
      if (Status st = opt.prepare(fields, &r); !st.ok()) return Error(res, StatusFor(st.message()), st.message());
    }
    auto d = c->Deploy(r);
    if (!d.ok()) return Error(res, StatusFor(d.error()), d.error());
    return Reply(res, 201, DeploymentJson(*d));
  }
  if (req.method == "GET") {
    long long id = 0;
    for (char ch : rest) {
      if (ch < '0' || ch > '9' || id > 1'000'000'000'000LL) return Error(res, 404, "no such deployment");
      id = id * 10 + (ch - '0');
    }
    auto d = c->Get(id);
    if (!d.ok()) return Error(res, 404, d.error());
    return Reply(res, 200, DeploymentJson(*d));
  }
  Error(res, 405, "method not allowed");
}

void Services(Controller* c, const DeployApiOptions& opt, http::Request& req, http::Response& res,
              const std::string& rest) {
  const auto parts = Split(rest, '/');
  if (parts.size() < 2 || parts.size() > 3) return Error(res, 404, "expected /api/v1/services/SERVICE/ENVIRONMENT");
  const std::string& service = parts[0];
  const std::string& env = parts[1];
  if (parts.size() == 2) {
    if (req.method != "GET") return Error(res, 405, "method not allowed");
    auto st = c->GetStatus(service, env);
    if (!st.ok()) return Error(res, 404, st.error());
    Json instances = Json::array();
    for (const auto& i : st->instances)
      instances.push_back({{"id", i.id},
                           {"group", i.group},
                           {"revision", i.revision},
                           {"address", i.address},
                           {"health", InstanceHealthName(i.health)},
                           {"restarts", i.restarts}});
    return Reply(res, 200,
                 Json{{"service", service},
                      {"environment", env},
                      {"stable_revision", st->record.stable_revision},
                      {"weights", st->record.weights},
                      {"instances", instances},
                      {"desired_instances", st->autoscaling.desired},
                      {"autoscaling", AutoscalingJson(st->autoscaling, st->record.autoscaling)},
                      {"active", st->active_summary}});
  }
  if (req.method != "POST") return Error(res, 405, "method not allowed");
  Json body;
  if (!ReadJson(req, res, &body)) return;
  const std::string& action = parts[2];
  Status st;
  if (action == "promote") {
    st = c->Promote(service, env, body.value("full", false));
  } else if (action == "abort") {
    st = c->Abort(service, env);
  } else if (action == "approve") {
    const std::string user = opt.user.empty() ? Str(body, "user") : opt.user;
    if (user.empty()) return Error(res, 400, "user is required");
    st = c->Approve(service, env, user, body.value("approve", true));
  } else if (action == "rollback") {
    auto d = c->Rollback(service, env, Str(body, "to"));
    if (!d.ok()) return Error(res, StatusFor(d.error()), d.error());
    return Reply(res, 201, DeploymentJson(*d));
  } else {
    return Error(res, 404, "unknown action '" + action + "'");
  }
  if (!st.ok()) return Error(res, StatusFor(st.message()), st.message());
  auto d = c->Active(service, env);
  Reply(res, 200, d.ok() ? DeploymentJson(*d) : Json{{"ok", true}});
}

}  // namespace

http::Handler MakeDeployApi(Controller* controller, DeployApiOptions options) {
  return [controller, options](http::Request& req, http::Response& res) {
    try {
      const std::string& p = req.path;
      if (StartsWith(p, "/api/v1/deployments")) {
        std::string rest = p.substr(std::string("/api/v1/deployments").size());
        if (!rest.empty() && rest[0] != '/') return Error(res, 404, "not found");
        if (!rest.empty()) rest.erase(0, 1);
        return Deployments(controller, options, req, res, rest);
      }
      if ((p == "/api/v1/services" || p == "/api/v1/services/") && req.method == "GET") {
        Json list = Json::array();
        for (const auto& s : controller->Services()) {
          const AutoscalingStatus a = controller->GetAutoscaling(s.service, s.environment);
          list.push_back({{"service", s.service},
                          {"environment", s.environment},
                          {"stable_revision", s.stable_revision},
                          {"active_deployment", s.active_deployment},
                          {"weights", s.weights},
                          {"desired_instances", a.desired},
                          {"autoscaling", AutoscalingJson(a, s.autoscaling)}});
        }
        return Reply(res, 200, Json{{"services", list}});
      }
      if (StartsWith(p, "/api/v1/services/")) return Services(controller, options, req, res, p.substr(17));
      Error(res, 404, "not found");
    } catch (const Json::exception& e) {
      Error(res, 400, std::string("request body: ") + e.what());
    }
  };
}

}  // namespace gantry::deploy
