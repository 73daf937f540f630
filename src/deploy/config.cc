#include "deploy/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::deploy {
namespace {

// Collects every error of one file instead of stopping at the first, as compilers do.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void Error(const YAML::Node& node, const std::string& what) {
    const YAML::Mark m = node.Mark();
    Error(m.line, m.column, what);
  }
  void Error(int line, int col, const std::string& what) {
    if (errors_.size() >= 50) return;
    errors_.push_back(file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1) + ": " + what);
  }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::string& file() const { return file_; }

  // Reports keys of a mapping not in `known`; false when `node` is not a mapping.
  bool Keys(const YAML::Node& node, const std::string& what, std::initializer_list<const char*> known) {
    if (!node.IsMap()) {
      Error(node, what + " must be a mapping");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        Error(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
      }
    }
    return true;
  }

  bool Str(const YAML::Node& node, std::string* out, const std::string& what) {
    if (!node.IsScalar()) {
      Error(node, what + " must be a string");
      return false;
    }
    *out = node.Scalar();
    return true;
  }
  bool Int(const YAML::Node& node, int* out, const std::string& what, long long lo, long long hi) {
    long long v = 0;
    if (!node.IsScalar() || !ParseInt(node.Scalar(), &v)) {
      Error(node, what + " must be an integer");
      return false;
    }
    if (v < lo || v > hi) {
      Error(node, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return false;
    }
    *out = static_cast<int>(v);
    return true;
  }
  bool Bool(const YAML::Node& node, bool* out, const std::string& what) {
    const std::string s = node.IsScalar() ? node.Scalar() : "";
    if (s == "true" || s == "yes" || s == "on")
      *out = true;
    else if (s == "false" || s == "no" || s == "off")
      *out = false;
    else {
      Error(node, what + " must be true or false");
      return false;
    }
    return true;
  }
  // "5s", "250ms", "2m" or a bare number of seconds.
  bool Duration(const YAML::Node& node, long long* out, const std::string& what) {
    if (node.IsScalar()) {
      long long secs = 0;
      if (ParseInt(node.Scalar(), &secs) && secs >= 0 && secs < 86'400 * 30) {
        *out = secs * 1000;
        return true;
      }
      const long long ms = ParseDurationMs(node.Scalar());
      if (ms >= 0 && ms < 86'400'000LL * 30) {
        *out = ms;
        return true;
      }
    }
    Error(node, what + " must be a duration like 500ms, 5s or 2m");
    return false;
  }
  bool Double(const YAML::Node& node, double* out, const std::string& what, double lo, double hi) {
    try {
      if (node.IsScalar()) {
        size_t used = 0;
        const double v = std::stod(node.Scalar(), &used);
        if (used == node.Scalar().size() && v >= lo && v <= hi) {
          *out = v;
          return true;
        }
      }
    } catch (const std::exception&) {
    }
    Error(node, what + " must be a number between " + std::to_string(lo) + " and " + std::to_string(hi));
    return false;
  }
  // "200" or "200-299".
  bool Matcher(const YAML::Node& node, int* lo, int* hi, const std::string& what) {
    const std::string s = node.IsScalar() ? node.Scalar() : "";
    const auto dash = s.find('-');
    long long a = 0, b = 0;
    const bool ok = dash == std::string::npos ? ParseInt(s, &a) && (b = a, true)
                                              : ParseInt(s.substr(0, dash), &a) && ParseInt(s.substr(dash + 1), &b);
    if (!ok || a < 100 || b > 599 || a > b) {
      Error(node, what + " must be a status code or a range like 200-299");
      return false;
    }
    *lo = static_cast<int>(a);
    *hi = static_cast<int>(b);
    return true;
  }
  bool StrList(const YAML::Node& node, std::vector<std::string>* out, const std::string& what) {
    if (node.IsScalar()) {
      out->push_back(node.Scalar());
      return true;
    }
    if (!node.IsSequence()) {
      Error(node, what + " must be a list of strings");
      return false;
    }
    for (const auto& item : node) {
      std::string s;
      if (Str(item, &s, what + " item")) out->push_back(std::move(s));
    }
    return true;
  }

  static bool ParseInt(const std::string& s, long long* out) {
    if (s.empty() || s.size() > 12) return false;
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == s.size()) return false;
    long long v = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return true;
  }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return s[0] >= 'a' && s[0] <= 'z';
}

void ReadHealth(Reader& r, const YAML::Node& n, HealthCheckSpec* h) {
  if (!r.Keys(n, "health_check",
              {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"}))
    return;
  if (n["path"] && r.Str(n["path"], &h->path, "health_check.path") && !StartsWith(h->path, "/"))
    r.Error(n["path"], "health_check.path must start with '/'");
  if (n["interval"]) r.Duration(n["interval"], &h->interval_ms, "health_check.interval");
  if (n["timeout"]) r.Duration(n["timeout"], &h->timeout_ms, "health_check.timeout");
  if (n["healthy_threshold"])
    r.Int(n["healthy_threshold"], &h->healthy_threshold, "health_check.healthy_threshold", 1, 10);
  if (n["unhealthy_threshold"])
    r.Int(n["unhealthy_threshold"], &h->unhealthy_threshold, "health_check.unhealthy_threshold", 1, 10);
  if (n["matcher"]) r.Matcher(n["matcher"], &h->matcher_low, &h->matcher_high, "health_check.matcher");
  if (n["timeout"] && n["interval"] && h->timeout_ms >= h->interval_ms)
    r.Error(n["timeout"], "health_check.timeout must be shorter than its interval");
}

void ReadStrategy(Reader& r, const YAML::Node& n, StrategySpec* s) {
  if (n.IsScalar()) {
    s->type = n.Scalar();
  } else if (r.Keys(n, "strategy",
                    {"type", "preset", "max_surge", "max_unavailable", "minimum_healthy_percent", "auto_promote",
                     "preview", "scale_down_delay", "steps"})) {
    if (n["type"]) r.Str(n["type"], &s->type, "strategy.type");
    if (n["max_surge"]) r.Int(n["max_surge"], &s->max_surge, "strategy.max_surge", 0, kMaxInstances);
    if (n["max_unavailable"])
      r.Int(n["max_unavailable"], &s->max_unavailable, "strategy.max_unavailable", 0, kMaxInstances);
    if (n["minimum_healthy_percent"])
      r.Int(n["minimum_healthy_percent"], &s->minimum_healthy_percent, "strategy.minimum_healthy_percent", 0, 100);
    if (n["preset"]) {
      // CodeDeploy's deployment configurations as presets of the rolling strategy.
      std::string p;
      r.Str(n["preset"], &p, "strategy.preset");
      if (p == "OneAtATime")
        s->max_surge = 1, s->max_unavailable = 0;
      else if (p == "HalfAtATime")
        s->max_surge = 0, s->max_unavailable = -50;  // negative: percent
      else if (p == "AllAtOnce")
        s->type = "all-at-once";
      else
        r.Error(n["preset"], "strategy.preset must be OneAtATime, HalfAtATime or AllAtOnce");
    }
    if (n["auto_promote"]) r.Bool(n["auto_promote"], &s->auto_promote, "strategy.auto_promote");
    if (n["preview"]) r.Bool(n["preview"], &s->preview, "strategy.preview");
    if (n["scale_down_delay"]) r.Duration(n["scale_down_delay"], &s->scale_down_delay_ms, "strategy.scale_down_delay");
    if (n["steps"]) {
      if (!n["steps"].IsSequence())
        r.Error(n["steps"], "strategy.steps must be a list");
      else
        for (const auto& st : n["steps"]) {
          if (!r.Keys(st, "canary step", {"set_weight", "pause", "analysis", "set_instances"})) continue;
          if (st.size() != 1) {
            r.Error(st, "a canary step has exactly one of set_weight, pause, analysis, set_instances");
            continue;
          }
          CanaryStep step;
          if (st["set_weight"]) {
            step.kind = StepKind::kSetWeight;
            r.Int(st["set_weight"], &step.value, "set_weight", 0, 100);
          } else if (st["set_instances"]) {
            step.kind = StepKind::kSetInstances;
            r.Int(st["set_instances"], &step.value, "set_instances", 1, kMaxInstances);
          } else if (st["analysis"]) {
            step.kind = StepKind::kAnalysis;
          } else if (st["pause"]) {
            step.kind = StepKind::kPause;
            const auto& p = st["pause"];
            if (p.IsMap() && p.size() == 0)
              step.pause_ms = -1;
            else if (p.IsScalar() && p.Scalar() == "until_promoted")
              step.pause_ms = -1;
            else
              r.Duration(p, &step.pause_ms, "pause");
          }
          s->steps.push_back(step);
        }
    }
  }
  static const std::set<std::string> kKnown = {"all-at-once", "rolling", "blue-green", "canary"};
  if (!kKnown.count(s->type))
    r.Error(n, "unknown strategy '" + s->type + "' (all-at-once, rolling, blue-green, canary)");
  if (s->type == "rolling" && s->max_surge == 0 && s->max_unavailable == 0)
    r.Error(n, "rolling needs max_surge or max_unavailable above 0");
  if (s->type == "canary" && s->steps.empty()) r.Error(n, "canary needs steps");
}

void ReadAnalysis(Reader& r, const YAML::Node& n, AnalysisSpec* a) {
  if (!r.Keys(n, "analysis",
              {"interval", "count", "failure_limit", "inconclusive_limit", "success_rate", "p99_latency",
               "min_requests", "http_checks", "alarms"}))
    return;
  if (n["interval"]) r.Duration(n["interval"], &a->interval_ms, "analysis.interval");
  if (n["count"]) r.Int(n["count"], &a->count, "analysis.count", 1, 1000);
  if (n["failure_limit"]) r.Int(n["failure_limit"], &a->failure_limit, "analysis.failure_limit", 0, 1000);
  if (n["inconclusive_limit"])
    r.Int(n["inconclusive_limit"], &a->inconclusive_limit, "analysis.inconclusive_limit", 0, 1000);
  if (n["success_rate"]) r.Double(n["success_rate"], &a->min_success_rate, "analysis.success_rate", 0, 1);
  if (n["p99_latency"]) r.Duration(n["p99_latency"], &a->max_p99_ms, "analysis.p99_latency");
  if (n["min_requests"]) r.Int(n["min_requests"], &a->min_requests, "analysis.min_requests", 0, 1'000'000);
  if (n["alarms"]) r.StrList(n["alarms"], &a->alarms, "analysis.alarms");
  if (const auto& hc = n["http_checks"]) {
    if (!hc.IsSequence())
      r.Error(hc, "analysis.http_checks must be a list");
    else
      for (const auto& c : hc) {
        HttpCheckSpec spec;
        if (!r.Keys(c, "http check", {"path", "expect"})) continue;
        if (c["path"]) r.Str(c["path"], &spec.path, "http check path");
        if (c["expect"]) r.Matcher(c["expect"], &spec.expect_low, &spec.expect_high, "http check expect");
        a->http_checks.push_back(spec);
      }
  }
}

void ReadService(Reader& r, const std::string& name, const YAML::Node& n, ServiceSpec* s) {
  s->name = name;
  s->file = r.file();
  s->line = n.Mark().line + 1;
  if (!r.Keys(n, "service '" + name + "'",
              {"image", "bundle", "command", "port", "instances", "env", "secrets", "health_check", "listener",
               "strategy", "analysis", "hooks", "deregistration_delay", "hook_timeout", "sandbox", "memory_limit",
               "cpu_limit", "autoscaling"}))
    return;
  if (n["image"]) r.Str(n["image"], &s->image, "image");
  if (n["bundle"]) r.Str(n["bundle"], &s->bundle, "bundle");
  if (!s->image.empty() && !s->bundle.empty()) r.Error(n["bundle"], "a service has either image or bundle, not both");
  if (n["command"]) {
    if (n["command"].IsScalar())
      s->command = {"/bin/sh", "-c", n["command"].Scalar()};
    else
      r.StrList(n["command"], &s->command, "command");
  }
  if (s->command.empty() && s->image.empty()) r.Error(n, "service '" + name + "' needs a command (or an image)");
  if (n["port"]) r.Int(n["port"], &s->port, "port", 1, 65535);
  if (n["instances"]) r.Int(n["instances"], &s->instances, "instances", 0, kMaxInstances);
  if (const auto& e = n["env"]) {
    if (!e.IsMap())
      r.Error(e, "env must be a mapping of NAME: value");
    else
      for (const auto& kv : e) {
        std::string v;
        if (r.Str(kv.second, &v, "env value")) s->env[kv.first.Scalar()] = v;
      }
  }
  if (n["secrets"]) r.StrList(n["secrets"], &s->secrets, "secrets");
  if (n["health_check"]) ReadHealth(r, n["health_check"], &s->health_check);
  if (const auto& l = n["listener"]; l && r.Keys(l, "listener", {"host", "path"})) {
    if (l["host"]) r.Str(l["host"], &s->listener.host, "listener.host");
    if (l["path"] && r.Str(l["path"], &s->listener.path, "listener.path") && !StartsWith(s->listener.path, "/"))
      r.Error(l["path"], "listener.path must start with '/'");
  }
  if (n["strategy"]) ReadStrategy(r, n["strategy"], &s->strategy);
  if (n["analysis"]) ReadAnalysis(r, n["analysis"], &s->analysis);
  if (n["hooks"]) r.Str(n["hooks"], &s->hooks, "hooks");
  if (n["deregistration_delay"])
    r.Duration(n["deregistration_delay"], &s->deregistration_delay_ms, "deregistration_delay");
  if (n["hook_timeout"]) r.Duration(n["hook_timeout"], &s->hook_timeout_ms, "hook_timeout");
  if (n["sandbox"]) r.Bool(n["sandbox"], &s->sandbox, "sandbox");
  if (n["memory_limit"]) {
    int mb = 0;
    if (r.Int(n["memory_limit"], &mb, "memory_limit (MiB)", 1, 1 << 20)) s->memory_limit_bytes = (long long)mb << 20;
  }
  if (n["cpu_limit"]) r.Int(n["cpu_limit"], &s->cpu_percent_limit, "cpu_limit (percent of one core)", 1, 6400);
  if (const auto& a = n["autoscaling"];
      a && r.Keys(a, "autoscaling",
                  {"min", "max", "target_cpu", "target_requests", "cooldown", "scale_in_cooldown", "interval"})) {
    auto& as = s->autoscaling;
    as.enabled = true;
    if (a["min"]) r.Int(a["min"], &as.min, "autoscaling.min", 0, kMaxInstances);
    if (a["max"]) r.Int(a["max"], &as.max, "autoscaling.max", 1, kMaxInstances);
    if (a["target_cpu"]) r.Int(a["target_cpu"], &as.target_cpu_percent, "autoscaling.target_cpu", 1, 100);
    if (a["target_requests"])
      r.Int(a["target_requests"], &as.target_requests_per_instance, "autoscaling.target_requests", 1, 1'000'000);
    if (a["cooldown"]) r.Duration(a["cooldown"], &as.cooldown_ms, "autoscaling.cooldown");
    if (a["scale_in_cooldown"])
      r.Duration(a["scale_in_cooldown"], &as.scale_in_cooldown_ms, "autoscaling.scale_in_cooldown");
    if (a["interval"] && r.Duration(a["interval"], &as.interval_ms, "autoscaling.interval") && as.interval_ms < 100)
      r.Error(a["interval"], "autoscaling.interval must be at least 100ms");
    if (as.min > as.max) r.Error(a, "autoscaling.min is above autoscaling.max");
    if (as.target_cpu_percent == 0 && as.target_requests_per_instance == 0)
      r.Error(a, "autoscaling needs target_cpu or target_requests (what to track)");
  }
}

void ReadEnvironment(Reader& r, const std::string& name, const YAML::Node& n, EnvironmentSpec* e) {
  e->name = name;
  if (n.IsNull()) return;
  if (!r.Keys(n, "environment '" + name + "'", {"required_approvals", "allowed_branches", "instances"})) return;
  if (n["required_approvals"]) r.Int(n["required_approvals"], &e->required_approvals, "required_approvals", 0, 10);
  if (n["allowed_branches"]) r.StrList(n["allowed_branches"], &e->allowed_branches, "allowed_branches");
  if (const auto& i = n["instances"]) {
    if (!i.IsMap())
      r.Error(i, "instances must map service names to counts");
    else
      for (const auto& kv : i) {
        int c = 0;
        if (r.Int(kv.second, &c, "instances", 0, kMaxInstances)) e->instances[kv.first.Scalar()] = c;
      }
  }
}

// yaml-cpp recurses per nesting level; refuse deep flow nesting before parsing.
bool TooDeep(const std::string& text) {
  int depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

const EnvironmentSpec* ProjectConfig::FindEnvironment(const std::string& name) const {
  auto it = environments.find(name);
  return it == environments.end() ? nullptr : &it->second;
}

namespace {

bool OneOf(const std::string& v, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(), [&](const char* w) { return v == w; });
}

void ReadAlarm(Reader& r, const std::string& name, const YAML::Node& n, AlarmSpec* a) {
  a->name = name;
  if (!r.Keys(n, "alarm",
              {"metric", "dimensions", "statistic", "period", "evaluation_periods", "datapoints_to_alarm", "threshold",
               "comparison", "missing_data", "on_alarm", "on_ok"}))
    return;
  if (!n["metric"])
    r.Error(n, "alarm " + name + " needs a metric");
  else
    r.Str(n["metric"], &a->metric, "metric");
  if (const auto& d = n["dimensions"]) {
    if (!d.IsMap() || d.size() > 16)
      r.Error(d, "dimensions must map up to 16 label names to values");
    else
      for (const auto& kv : d) r.Str(kv.second, &a->dimensions[kv.first.Scalar()], "dimension");
  }
  if (n["statistic"] && r.Str(n["statistic"], &a->statistic, "statistic") &&
      !OneOf(a->statistic, {"avg", "average", "sum", "min", "minimum", "max", "maximum", "count", "p50", "p90", "p99"}))
    r.Error(n["statistic"], "statistic must be avg, sum, min, max, count, p50, p90 or p99");
  if (n["period"]) r.Duration(n["period"], &a->period_ms, "period");
  if (a->period_ms < 1000) r.Error(n, "period must be at least 1s");
  if (n["evaluation_periods"]) r.Int(n["evaluation_periods"], &a->evaluation_periods, "evaluation_periods", 1, 100);
  if (n["datapoints_to_alarm"])
    r.Int(n["datapoints_to_alarm"], &a->datapoints_to_alarm, "datapoints_to_alarm", 1, a->evaluation_periods);
  if (n["threshold"]) r.Double(n["threshold"], &a->threshold, "threshold", -1e15, 1e15);
  if (n["comparison"] && r.Str(n["comparison"], &a->comparison, "comparison") &&
      !OneOf(a->comparison, {">", ">=", "<", "<="}))
    r.Error(n["comparison"], "comparison must be >, >=, < or <=");
  if (n["missing_data"] && r.Str(n["missing_data"], &a->missing_data, "missing_data") &&
      !OneOf(a->missing_data, {"missing", "ignore", "breaching", "notBreaching"}))
    r.Error(n["missing_data"], "missing_data must be missing, ignore, breaching or notBreaching");
  if (n["on_alarm"]) r.StrList(n["on_alarm"], &a->on_alarm, "on_alarm");
  if (n["on_ok"]) r.StrList(n["on_ok"], &a->on_ok, "on_ok");
}

void ReadAlarmsAndTopics(Reader& r, const YAML::Node& root, ProjectConfig* config) {
  if (const auto& alarms = root["alarms"]) {
    if (!alarms.IsMap() || alarms.size() > 256)
      r.Error(alarms, "alarms must map up to 256 names to alarms");
    else
      for (const auto& kv : alarms) {
        const std::string name = kv.first.Scalar();
        if (!ValidName(name))
          r.Error(kv.first, "alarm name '" + name + "' must match [a-z][a-z0-9_-]{0,62}");
        else if (config->alarms.count(name))
          r.Error(kv.first, "alarm '" + name + "' is already declared");
        else
          ReadAlarm(r, name, kv.second, &config->alarms[name]);
      }
  }
  if (const auto& topics = root["topics"]) {
    if (!topics.IsMap() || topics.size() > 64) {
      r.Error(topics, "topics must map up to 64 names to lists of subscriptions");
      return;
    }
    for (const auto& kv : topics) {
      const std::string name = kv.first.Scalar();
      if (!ValidName(name) || config->topics.count(name)) {
        r.Error(kv.first, "topic name '" + name + "' must match [a-z][a-z0-9_-]{0,62} and be declared once");
        continue;
      }
      auto& subs = config->topics[name];
      if (!kv.second.IsSequence() || kv.second.size() > 32) {
        r.Error(kv.second, "a topic is a list of up to 32 subscriptions {protocol, endpoint, secret}");
        continue;
      }
      for (const auto& sn : kv.second) {
        SubscriptionSpec sub;
        if (!r.Keys(sn, "subscription", {"protocol", "endpoint", "secret"})) continue;
        if (sn["protocol"] && r.Str(sn["protocol"], &sub.protocol, "protocol") &&
            !OneOf(sub.protocol, {"webhook", "slack", "email"}))
          r.Error(sn["protocol"], "protocol must be webhook, slack or email");
        if (!sn["endpoint"])
          r.Error(sn, "a subscription needs an endpoint");
        else
          r.Str(sn["endpoint"], &sub.endpoint, "endpoint");
        if (sn["secret"]) r.Str(sn["secret"], &sub.secret, "secret");
        subs.push_back(std::move(sub));
      }
    }
  }
}

}  // namespace

Status ParseConfigText(const std::string& text, const std::string& file, ProjectConfig* config) {
  if (text.size() > kMaxConfigFileBytes)
    return Status::Error(file + ":1:1: file is larger than " + std::to_string(kMaxConfigFileBytes) + " bytes");
  if (TooDeep(text))
    return Status::Error(file + ":1:1: nesting deeper than " + std::to_string(kMaxNesting) + " levels");
  Reader r(file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.Error(e.mark.line, e.mark.column, e.msg);
    return Status::Error(r.errors().front());
  }
  if (root.IsNull()) return Status::Ok();
  try {
    if (r.Keys(root, "the file", {"services", "environments", "alarms", "topics"})) {
      ReadAlarmsAndTopics(r, root, config);
      if (const auto& s = root["services"]) {
        if (!s.IsMap())
          r.Error(s, "services must map names to services");
        else
          for (const auto& kv : s) {
            const std::string name = kv.first.Scalar();
            if (!ValidName(name))
              r.Error(kv.first, "service name '" + name + "' must match [a-z][a-z0-9_-]{0,62}");
            else if (config->services.count(name))
              r.Error(kv.first, "service '" + name + "' is already declared in " + config->services[name].file);
            else if (config->services.size() >= kMaxServices)
              r.Error(kv.first, "too many services");
            else
              ReadService(r, name, kv.second, &config->services[name]);
          }
      }
      if (const auto& e = root["environments"]) {
        if (!e.IsMap())
          r.Error(e, "environments must map names to environments");
        else
          for (const auto& kv : e) {
            const std::string name = kv.first.Scalar();
            if (!ValidName(name))
              r.Error(kv.first, "environment name '" + name + "' must match [a-z][a-z0-9_-]{0,62}");
            else if (config->environments.count(name))
              r.Error(kv.first, "environment '" + name + "' is already declared");
            else
              ReadEnvironment(r, name, kv.second, &config->environments[name]);
          }
      }
    }
  } catch (const YAML::Exception& e) {
    r.Error(e.mark.line, e.mark.column, e.msg);
  }
  if (r.errors().empty()) return Status::Ok();
  return Status::Error(Join(r.errors(), "\n"));
}

Result<ProjectConfig> ReadConfigDir(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string p = entry.path().string();
    if (entry.is_regular_file() && (EndsWith(p, ".yml") || EndsWith(p, ".yaml")) && !EndsWith(p, "appspec.yml"))
      files.push_back(p);
  }
  if (ec) return Result<ProjectConfig>::Error(dir + ": " + ec.message());
  if (files.size() > static_cast<size_t>(kMaxConfigFiles))
    return Result<ProjectConfig>::Error(dir + ": more than " + std::to_string(kMaxConfigFiles) + " files");
  std::sort(files.begin(), files.end());
  ProjectConfig config;
  std::vector<std::string> errors;
  for (const auto& f : files) {
    auto text = ReadFile(f, kMaxConfigFileBytes + 1);
    if (!text.ok()) {
      errors.push_back(text.error());
      continue;
    }
    Status st = ParseConfigText(*text, f, &config);
    if (!st.ok()) errors.push_back(st.message());
  }
  for (const auto& [name, env] : config.environments)
    for (const auto& [svc, count] : env.instances)
      if (!config.services.count(svc))
        errors.push_back(dir + ":1:1: environment '" + name + "' names unknown service '" + svc + "'");
  if (!errors.empty()) return Result<ProjectConfig>::Error(Join(errors, "\n"));
  return config;
}

bool BranchAllowed(const EnvironmentSpec& env, const std::string& branch) {
  if (env.allowed_branches.empty()) return true;
  for (const auto& pattern : env.allowed_branches) {
    if (pattern == branch) return true;
    if (EndsWith(pattern, "*") && StartsWith(branch, pattern.substr(0, pattern.size() - 1))) return true;
  }
  return false;
}

}  // namespace gantry::deploy
