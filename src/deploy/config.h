// The declared side of deployments: services and environments read from `.gantry/*.yml`.
// A ProjectConfig is a plain value; `gantry plan` compares it with what runs and
// `gantry apply` converges. Every error a reader reports is "file:line:col: what is wrong".
// The format is documented in docs/deploy.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::deploy {

// Limits on outside input (a `.gantry` directory is repository content, so untrusted).
inline constexpr size_t kMaxConfigFileBytes = 256 * 1024;
inline constexpr int kMaxConfigFiles = 64;
inline constexpr int kMaxServices = 256;
inline constexpr int kMaxInstances = 64;
inline constexpr int kMaxNesting = 32;

// ALB semantics: a target becomes healthy after `healthy_threshold` consecutive passes,
// unhealthy after `unhealthy_threshold` consecutive failures; a pass is a status in
// [matcher_low, matcher_high] within `timeout_ms`.
struct HealthCheckSpec {
  std::string path = "/";
  long long interval_ms = 5000;
  long long timeout_ms = 2000;
  int healthy_threshold = 2;
  int unhealthy_threshold = 2;
  int matcher_low = 200;
  int matcher_high = 399;
};

struct ListenerSpec {
  std::string host;        // empty: any host
  std::string path = "/";  // path prefix on the load balancer
};

enum class StepKind { kSetWeight, kPause, kAnalysis, kSetInstances };
struct CanaryStep {
  StepKind kind = StepKind::kPause;
  int value = 0;            // weight (0-100) or instance count
  long long pause_ms = -1;  // -1: until promoted
};

struct StrategySpec {
  std::string type = "rolling";  // a registered strategy name
  // rolling
  int max_surge = 1;
  int max_unavailable = 0;
  int minimum_healthy_percent = 0;  // 0: derived from max_unavailable
  // blue-green
  bool auto_promote = true;
  bool preview = false;
  long long scale_down_delay_ms = 30'000;
  // canary
  std::vector<CanaryStep> steps;
};

struct HttpCheckSpec {
  std::string path = "/";
  int expect_low = 200, expect_high = 299;
};

struct AnalysisSpec {
  long long interval_ms = 10'000;
  int count = 3;          // measurements per analysis step
  int failure_limit = 0;  // failed measurements tolerated
  int inconclusive_limit = 1;
  double min_success_rate = 0.99;
  long long max_p99_ms = 0;  // 0: not checked
  int min_requests = 10;     // fewer requests in an interval: inconclusive
  std::vector<HttpCheckSpec> http_checks;
  std::vector<std::string> alarms;  // any in ALARM fails the measurement
};

// Target tracking (docs/deploy.md, "Autoscaling"): the count follows the load per instance.
struct AutoscalingSpec {
  bool enabled = false;
  int min = 1, max = 1;
  int target_cpu_percent = 0;            // average CPU per instance, percent of one core
  int target_requests_per_instance = 0;  // requests per second per instance
  long long cooldown_ms = 60'000;        // after a scale-out before the next one
  long long scale_in_cooldown_ms = -1;   // after any scaling before a scale-in; -1: cooldown
  long long interval_ms = 15'000;        // how often the load is measured (the window)
};

struct ServiceSpec {
  std::string name;
  std::string file;  // where it was declared, for messages
  int line = 0;
  // revision source: exactly one of image / bundle
  std::string image;   // reference in the built-in registry
  std::string bundle;  // directory (relative to the project root)
  std::vector<std::string> command;
  int port = 0;  // the port the app listens on inside a sandbox; the fleet sets PORT
  int instances = 1;
  std::map<std::string, std::string> env;
  std::vector<std::string> secrets;
  HealthCheckSpec health_check;
  ListenerSpec listener;
  StrategySpec strategy;
  AnalysisSpec analysis;
  std::string hooks;  // appspec.yml path within the bundle; empty: none
  long long deregistration_delay_ms = 5000;
  long long hook_timeout_ms = 60'000;
  bool sandbox = false;  // run instances under bubblewrap when available
  long long memory_limit_bytes = 0;
  int cpu_percent_limit = 0;
  AutoscalingSpec autoscaling;
};

struct EnvironmentSpec {
  std::string name;
  int required_approvals = 0;
  std::vector<std::string> allowed_branches;  // empty: any; "*" suffix globs
  std::map<std::string, int> instances;       // per-service instance count overrides
};

// A CloudWatch-style alarm declared beside the services; the server puts it into its
// monitor (docs/deploy.md, "Alarms and topics"). Words are checked here, meanings there.
struct AlarmSpec {
  std::string name, metric;
  std::map<std::string, std::string> dimensions;
  std::string statistic = "avg";  // avg|sum|min|max|count|p50|p90|p99
  long long period_ms = 60'000;
  int evaluation_periods = 1, datapoints_to_alarm = 0;  // 0: all of them
  double threshold = 0;
  std::string comparison = ">";              // > >= < <=
  std::string missing_data = "missing";      // missing|ignore|breaching|notBreaching
  std::vector<std::string> on_alarm, on_ok;  // actions: topic:NAME, deploy:rollback:SERVICE[:ENV]
};

// A subscription of a notification topic.
struct SubscriptionSpec {
  std::string protocol = "webhook";  // webhook|slack|email
  std::string endpoint;              // URL or email address
  std::string secret;                // webhook HMAC key
};

struct ProjectConfig {
  std::map<std::string, ServiceSpec> services;
  std::map<std::string, EnvironmentSpec> environments;
  std::map<std::string, AlarmSpec> alarms;
  std::map<std::string, std::vector<SubscriptionSpec>> topics;
  const EnvironmentSpec* FindEnvironment(const std::string& name) const;
};

// Parses one file's text into `config` (services/environments are merged; a name declared
// twice is an error). `file` is used in messages.
Status ParseConfigText(const std::string& text, const std::string& file, ProjectConfig* config);
// Reads every *.yml / *.yaml in `dir` (sorted). All errors are reported, one per line.
Result<ProjectConfig> ReadConfigDir(const std::string& dir);

bool BranchAllowed(const EnvironmentSpec& env, const std::string& branch);

}  // namespace gantry::deploy
