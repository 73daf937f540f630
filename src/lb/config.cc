// YAML reader for the load balancer configuration. Strict: unknown keys are errors, so a
// typo never silently changes routing.
#include "lb/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::lb {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxListeners = 64;
constexpr size_t kMaxRules = 256;
constexpr size_t kMaxGroups = 256;
constexpr size_t kMaxTargets = 1000;
constexpr size_t kMaxDepth = 32;

// Thrown only inside this file and caught in ParseConfig: the reader is not on the data path
// and unwinding keeps every field check to one line.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& what) const {
    YAML::Mark m = node.Mark();
    if (m.is_null()) throw ConfigError{file_ + ": " + what};
    throw ConfigError{file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + what};
  }

  void Keys(const YAML::Node& map, std::initializer_list<const char*> allowed, const char* where) const {
    if (!map.IsMap()) Fail(map, std::string(where) + " must be a mapping");
    for (const auto& kv : map) {
      std::string key = kv.first.Scalar();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        Fail(kv.first, "unknown key '" + key + "' in " + where + " (expected one of: " + list + ")");
      }
    }
  }

  std::string Str(const YAML::Node& n, const char* what) const {
    if (!n.IsScalar()) Fail(n, std::string(what) + " must be a string");
    return n.Scalar();
  }

  long long Int(const YAML::Node& n, const char* what, long long lo, long long hi) const {
    std::string s = Str(n, what);
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
      Fail(n, std::string(what) + " must be an integer, got '" + s + "'");
    if (v < lo || v > hi)
      Fail(n, std::string(what) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }

  long long Duration(const YAML::Node& n, const char* what, long long max_ms = 7LL * 86'400'000) const {
    std::string s = Str(n, what);
    long long ms = ParseDurationMs(s);
    if (ms < 0) Fail(n, std::string(what) + " must be a duration like 250ms, 5s, 2m, got '" + s + "'");
    if (ms > max_ms) Fail(n, std::string(what) + " is too long");
    return ms;
  }

  uint64_t Size(const YAML::Node& n, const char* what) const {
    std::string s = Str(n, what);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    std::string_view unit(p, s.data() + s.size() - p);
    uint64_t mult = 0;
    if (unit.empty() || unit == "B")
      mult = 1;
    else if (unit == "KiB" || unit == "K" || unit == "KB")
      mult = 1024;
    else if (unit == "MiB" || unit == "M" || unit == "MB")
      mult = 1024 * 1024;
    else if (unit == "GiB" || unit == "G" || unit == "GB")
      mult = 1024ull * 1024 * 1024;
    if (ec != std::errc() || p == s.data() || mult == 0 || v > (1ull << 40) / mult)
      Fail(n, std::string(what) + " must be a size like 16KiB or 10MiB, got '" + s + "'");
    return v * mult;
  }

  bool Bool(const YAML::Node& n, const char* what) const {
    std::string s = Str(n, what);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    Fail(n, std::string(what) + " must be true or false");
  }

  std::string Address(const YAML::Node& n, const char* what) const {
    std::string s = Str(n, what);
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) Fail(n, std::string(what) + " must be host:port, got '" + s + "'");
    std::string_view host(s.data(), colon);
    if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']'))
      Fail(n, std::string(what) + " has an IPv6 address without brackets in '" + s + "' (write [addr]:port)");
    long long port = -1;
    std::string_view ps(s.data() + colon + 1, s.size() - colon - 1);
    auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
    if (ec != std::errc() || p != ps.data() + ps.size() || port < 0 || port > 65535)
      Fail(n, std::string(what) + " has a bad port in '" + s + "'");
    return s;
  }

  void ReadHealthCheck(const YAML::Node& n, HealthCheck& hc) const {
    Keys(n, {"enabled", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"},
         "health_check");
    if (n["enabled"]) hc.enabled = Bool(n["enabled"], "health_check.enabled");
    if (n["path"]) {
      hc.path = Str(n["path"], "health_check.path");
      if (hc.path.empty() || hc.path[0] != '/' || hc.path.find_first_of(" \r\n\t") != std::string::npos)
        Fail(n["path"], "health_check.path must start with '/' and contain no spaces");
    }
    if (n["interval"]) hc.interval_ms = Duration(n["interval"], "health_check.interval");
    if (n["timeout"]) hc.timeout_ms = Duration(n["timeout"], "health_check.timeout");
    if (hc.interval_ms < 10 || hc.timeout_ms < 1) Fail(n, "health_check interval must be >= 10ms and timeout >= 1ms");
    if (n["healthy_threshold"]) hc.healthy_threshold = Int(n["healthy_threshold"], "healthy_threshold", 1, 10);
    if (n["unhealthy_threshold"]) hc.unhealthy_threshold = Int(n["unhealthy_threshold"], "unhealthy_threshold", 1, 10);
    if (n["matcher"]) {
      std::string m = Str(n["matcher"], "health_check.matcher");
      size_t dash = m.find('-');
      std::string lo = m.substr(0, dash), hi = dash == std::string::npos ? lo : m.substr(dash + 1);
      int a = 0, b = 0;
      auto r1 = std::from_chars(lo.data(), lo.data() + lo.size(), a);
      auto r2 = std::from_chars(hi.data(), hi.data() + hi.size(), b);
      if (r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != lo.data() + lo.size() ||
          r2.ptr != hi.data() + hi.size() || a < 100 || b > 599 || a > b)
        Fail(n["matcher"], "health_check.matcher must be a status code or range like \"200-299\"");
      hc.matcher_low = a;
      hc.matcher_high = b;
    }
  }

  TargetGroup ReadGroup(const std::string& name, const YAML::Node& n) const {
    Keys(n,
         {"targets", "algorithm", "health_check", "deregistration_delay", "slow_start", "stickiness",
          "outlier_detection"},
         "target group");
    TargetGroup g;
    g.name = name;
    if (const YAML::Node& t = n["targets"]) {
      if (!t.IsSequence()) Fail(t, "targets must be a list of host:port");
      if (t.size() > kMaxTargets) Fail(t, "too many targets (limit 1000)");
      std::set<std::string> seen;
      for (const auto& item : t) {
        std::string addr = item.IsMap() ? (Keys(item, {"address"}, "target"), Address(item["address"], "target"))
                                        : Address(item, "target");
        if (!seen.insert(addr).second) Fail(item, "duplicate target " + addr);
        g.targets.push_back(addr);
      }
    }
    if (n["algorithm"]) {
      std::string a = Str(n["algorithm"], "algorithm");
      if (a == "round_robin")
        g.algorithm = Algorithm::kRoundRobin;
      else if (a == "least_outstanding_requests")
        g.algorithm = Algorithm::kLeastOutstandingRequests;
      else
        Fail(n["algorithm"], "algorithm must be round_robin or least_outstanding_requests");
    }
    if (n["health_check"]) ReadHealthCheck(n["health_check"], g.health_check);
    if (n["deregistration_delay"])
      g.deregistration_delay_ms = Duration(n["deregistration_delay"], "deregistration_delay", 3'600'000);
    if (n["slow_start"]) g.slow_start_ms = Duration(n["slow_start"], "slow_start", 900'000);
    if (const YAML::Node& s = n["stickiness"]) {
      Keys(s, {"enabled", "cookie", "duration"}, "stickiness");
      g.stickiness.enabled = s["enabled"] ? Bool(s["enabled"], "stickiness.enabled") : true;
      if (s["cookie"]) g.stickiness.cookie = Str(s["cookie"], "stickiness.cookie");
      if (s["duration"]) g.stickiness.duration_ms = Duration(s["duration"], "stickiness.duration");
      for (char c : g.stickiness.cookie)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
          Fail(s, "stickiness.cookie must be a token");
    }
    if (const YAML::Node& o = n["outlier_detection"]) {
      Keys(o, {"consecutive_errors", "ejection"}, "outlier_detection");
      if (o["consecutive_errors"])
        g.outlier.consecutive_errors = Int(o["consecutive_errors"], "consecutive_errors", 0, 1000);
      if (o["ejection"]) g.outlier.ejection_ms = Duration(o["ejection"], "outlier_detection.ejection");
    }
    return g;
  }

  Rule ReadRule(const YAML::Node& n) const {
    Keys(n, {"host", "path", "headers", "forward"}, "rule");
    Rule r;
    if (n["host"]) r.host = ToLower(Str(n["host"], "host"));
    if (n["path"]) {
      r.path_prefix = Str(n["path"], "path");
      if (r.path_prefix.empty() || r.path_prefix[0] != '/') Fail(n["path"], "path must start with '/'");
    }
    if (const YAML::Node& h = n["headers"]) {
      if (!h.IsMap()) Fail(h, "headers must map a header name to a value");
      for (const auto& kv : h) r.headers.push_back({Str(kv.first, "header name"), Str(kv.second, "header value")});
    }
    const YAML::Node& f = n["forward"];
    if (!f) Fail(n, "rule needs 'forward' (a list of {target_group, weight})");
    if (!f.IsSequence() || f.size() == 0 || f.size() > 16) Fail(f, "forward must be a list of 1 to 16 target groups");
    for (const auto& w : f) {
      Keys(w, {"target_group", "weight"}, "forward entry");
      if (!w["target_group"]) Fail(w, "forward entry needs target_group");
      WeightedGroup wg;
      wg.target_group = Str(w["target_group"], "target_group");
      wg.weight = w["weight"] ? static_cast<int>(Int(w["weight"], "weight", 0, 999)) : 1;
      r.forward.push_back(wg);
    }
    return r;
  }

  Config Read(const YAML::Node& root) const {
    Config c;
    if (!root.IsMap()) Fail(root, "the configuration must be a mapping with listeners and target_groups");
    Keys(root, {"workers", "access_log", "timeouts", "limits", "listeners", "target_groups"}, "configuration");
    if (root["workers"]) {
      std::string w = Str(root["workers"], "workers");
      c.workers = w == "auto" ? 0 : static_cast<int>(Int(root["workers"], "workers", 1, 256));
    }
    if (root["access_log"]) c.access_log = Str(root["access_log"], "access_log");
    if (const YAML::Node& t = root["timeouts"]) {
      Keys(t, {"connect", "header", "idle", "request"}, "timeouts");
      if (t["connect"]) c.timeouts.connect_ms = Duration(t["connect"], "timeouts.connect");
      if (t["header"]) c.timeouts.header_ms = Duration(t["header"], "timeouts.header");
      if (t["idle"]) c.timeouts.idle_ms = Duration(t["idle"], "timeouts.idle");
      if (t["request"]) c.timeouts.request_ms = Duration(t["request"], "timeouts.request");
    }
    if (const YAML::Node& l = root["limits"]) {
      Keys(l, {"max_header_bytes", "max_body_bytes", "max_connections", "upstream_keepalive"}, "limits");
      if (l["max_header_bytes"]) {
        c.limits.max_header_bytes = Size(l["max_header_bytes"], "max_header_bytes");
        if (c.limits.max_header_bytes < 1024 || c.limits.max_header_bytes > (1 << 20))
          Fail(l["max_header_bytes"], "max_header_bytes must be between 1KiB and 1MiB");
      }
      if (l["max_body_bytes"]) c.limits.max_body_bytes = Size(l["max_body_bytes"], "max_body_bytes");
      if (l["max_connections"]) c.limits.max_connections = Int(l["max_connections"], "max_connections", 1, 1'000'000);
      if (l["upstream_keepalive"])
        c.limits.upstream_keepalive = Int(l["upstream_keepalive"], "upstream_keepalive", 0, 10'000);
    }
    if (const YAML::Node& g = root["target_groups"]) {
      if (!g.IsMap()) Fail(g, "target_groups must map a name to a target group");
      if (g.size() > kMaxGroups) Fail(g, "too many target groups (limit 256)");
      for (const auto& kv : g) {
        std::string name = Str(kv.first, "target group name");
        if (name.empty()) Fail(kv.first, "target group name is empty");
        for (const auto& existing : c.target_groups)
          if (existing.name == name) Fail(kv.first, "duplicate target group '" + name + "'");
        c.target_groups.push_back(ReadGroup(name, kv.second));
      }
    }
    const YAML::Node& ls = root["listeners"];
    if (!ls || !ls.IsSequence() || ls.size() == 0) Fail(ls ? ls : root, "listeners must be a non-empty list");
    if (ls.size() > kMaxListeners) Fail(ls, "too many listeners (limit 64)");
    for (const auto& ln : ls) {
      Keys(ln, {"listen", "rules"}, "listener");
      Listener l;
      if (!ln["listen"]) Fail(ln, "listener needs 'listen: host:port'");
      l.listen = Address(ln["listen"], "listen");
      const YAML::Node& rs = ln["rules"];
      if (!rs || !rs.IsSequence()) Fail(rs ? rs : ln, "listener needs 'rules' (a list)");
      if (rs.size() > kMaxRules) Fail(rs, "too many rules (limit 256)");
      for (const auto& rn : rs) {
        Rule r = ReadRule(rn);
        for (const auto& wg : r.forward)
          if (!c.FindGroup(wg.target_group)) Fail(rn["forward"], "unknown target group '" + wg.target_group + "'");
        l.rules.push_back(std::move(r));
      }
      c.listeners.push_back(std::move(l));
    }
    return c;
  }

 private:
  std::string file_;
};

// yaml-cpp recurses once per nesting level; refuse deep documents before it sees them.
bool TooDeep(const std::string& yaml) {
  size_t depth = 0, max_depth = 0;
  for (char ch : yaml) {
    if (ch == '[' || ch == '{')
      max_depth = std::max(max_depth, ++depth);
    else if ((ch == ']' || ch == '}') && depth > 0)
      --depth;
  }
  size_t dashes = 0;
  for (size_t i = 0; i + 1 < yaml.size(); ++i) {
    if (yaml[i] == '\n')
      dashes = 0;
    else if (yaml[i] == '-' && yaml[i + 1] == ' ')
      max_depth = std::max(max_depth, ++dashes);
  }
  return max_depth > kMaxDepth;
}

}  // namespace

const TargetGroup* Config::FindGroup(const std::string& name) const {
  for (const auto& g : target_groups)
    if (g.name == name) return &g;
  return nullptr;
}

Status Validate(const Config& config) {
  if (config.listeners.empty()) return Status::Error("no listeners");
  std::set<std::string> names;
  for (const auto& g : config.target_groups) {
    if (g.name.empty() || !names.insert(g.name).second)
      return Status::Error("bad or duplicate target group name '" + g.name + "'");
    if (g.targets.size() > kMaxTargets) return Status::Error("too many targets in " + g.name);
  }
  std::set<std::string> listens;
  for (const auto& l : config.listeners) {
    if (!listens.insert(l.listen).second) return Status::Error("duplicate listener " + l.listen);
    for (const auto& r : l.rules) {
      if (r.forward.empty()) return Status::Error("a rule of " + l.listen + " forwards nowhere");
      for (const auto& wg : r.forward) {
        if (!names.count(wg.target_group)) return Status::Error("unknown target group '" + wg.target_group + "'");
        if (wg.weight < 0 || wg.weight > 999) return Status::Error("weight of " + wg.target_group + " must be 0..999");
      }
    }
  }
  return Status::Ok();
}

Result<Config> ParseConfig(const std::string& yaml, const std::string& file) {
  if (yaml.size() > kMaxConfigBytes) return Result<Config>::Error(file + ": configuration larger than 1 MiB");
  if (TooDeep(yaml)) return Result<Config>::Error(file + ": configuration nested too deeply");
  try {
    YAML::Node root = YAML::Load(yaml);
    Config c = Reader(file).Read(root);
    if (Status s = Validate(c); !s.ok()) return Result<Config>::Error(file + ": " + s.message());
    return c;
  } catch (const ConfigError& e) {
    return Result<Config>::Error(e.message);
  } catch (const YAML::Exception& e) {
    return Result<Config>::Error(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<Config> ReadConfigFile(const std::string& path) {
  auto data = ReadFile(path, kMaxConfigBytes);
  if (!data.ok()) return data.status();
  return ParseConfig(*data, path);
}

}  // namespace gantry::lb
