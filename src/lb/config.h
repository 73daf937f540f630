// The load balancer's configuration: listeners with routing rules that forward to weighted
// target groups, and the target groups themselves. A Config is a plain value; the running
// LoadBalancer turns each one it is given into an immutable snapshot for its workers.
// The YAML format is documented in docs/lb.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gantry::lb {

enum class Algorithm { kRoundRobin, kLeastOutstandingRequests };

struct HealthCheck {
  bool enabled = true;
  std::string path = "/";
  long long interval_ms = 30'000;
  long long timeout_ms = 5'000;
  int healthy_threshold = 5;
  int unhealthy_threshold = 2;
  int matcher_low = 200;  // inclusive range of healthy status codes
  int matcher_high = 399;
};

struct Stickiness {
  bool enabled = false;
  std::string cookie = "GANTRY_LB";
  long long duration_ms = 86'400'000;
};

struct OutlierDetection {
  int consecutive_errors = 5;  // 0 disables passive ejection
  long long ejection_ms = 30'000;
};

struct TargetGroup {
  std::string name;
  std::vector<std::string> targets;  // "host:port" (IPv4 literal or localhost)
  Algorithm algorithm = Algorithm::kRoundRobin;
  HealthCheck health_check;
  long long deregistration_delay_ms = 300'000;
  long long slow_start_ms = 0;
  Stickiness stickiness;
  OutlierDetection outlier;
};

struct WeightedGroup {
  std::string target_group;
  int weight = 1;  // 0..999
};

struct HeaderMatch {
  std::string name;
  std::string value;  // exact, case-sensitive; "*" matches any present value
};

struct Rule {
  std::string host;  // empty: any; "*.example.com" matches subdomains; case-insensitive
  std::string path_prefix = "/";
  std::vector<HeaderMatch> headers;
  std::vector<WeightedGroup> forward;
};

struct Listener {
  std::string listen;       // "127.0.0.1:8000"
  std::vector<Rule> rules;  // first match wins; no match answers 404
};

struct Timeouts {
  long long connect_ms = 5'000;
  long long header_ms = 60'000;    // to receive a complete request head
  long long idle_ms = 60'000;      // idle client keep-alive, and upstream silence mid-response
  long long request_ms = 300'000;  // whole request/response exchange
};

struct Limits {
  uint64_t max_header_bytes = 32 * 1024;
  uint64_t max_body_bytes = 0;  // 0: unlimited (bodies are streamed)
  int max_connections = 10'000;
  int upstream_keepalive = 64;  // idle pooled connections per target per worker
};

struct Config {
  int workers = 0;         // 0: one per CPU
  std::string access_log;  // empty: off
  Timeouts timeouts;
  Limits limits;
  std::vector<Listener> listeners;
  std::vector<TargetGroup> target_groups;

  const TargetGroup* FindGroup(const std::string& name) const;
};

// Parses a configuration; `file` is used in error messages ("file:line:col: what").
Result<Config> ParseConfig(const std::string& yaml, const std::string& file = "<config>");
Result<Config> ReadConfigFile(const std::string& path);
// Cross-field checks (every forward names a known group, weights in range, ...).
Status Validate(const Config& config);

}  // namespace gantry::lb
