// Where instances run: the Target interface the deployment controller drives, so the local
// fleet, Kubernetes or SSH hosts are interchangeable. An instance belongs to a group
// ("service.environment.slot") and runs one revision; it is health-checked with ALB semantics.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "deploy/config.h"

namespace gantry::deploy {

struct InstanceSpec {
  std::string group;  // "web.production.a": which target group it serves
  std::string service, environment, revision;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;  // PORT is added by the target
  std::string cwd;                         // bundle directory; empty: the data dir
  HealthCheckSpec health;
  bool sandbox = false;
  // An image revision: this directory becomes `/` of a bubblewrap sandbox (read-only, private
  // /tmp), the process starts in `workdir` inside it with only `env` (plus PORT etc.) set.
  std::string rootfs, workdir;
  long long memory_limit_bytes = 0;
  int cpu_percent_limit = 0;
};

enum class InstanceHealth { kStarting, kHealthy, kUnhealthy };
const char* InstanceHealthName(InstanceHealth h);

struct Instance {
  std::string id;
  std::string group, revision;
  std::string address;  // "127.0.0.1:PORT"
  int pid = 0;
  InstanceHealth health = InstanceHealth::kStarting;
  int restarts = 0;
  int consecutive_crashes = 0;  // since it was last healthy
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  virtual Result<Instance> Start(const InstanceSpec& spec) = 0;
  // Stops the instance (SIGTERM to its process group, SIGKILL after a grace period).
  virtual Status Stop(const std::string& id) = 0;
  // Instances whose group starts with `group_prefix` ("" for all), by id.
  virtual std::vector<Instance> List(const std::string& group_prefix) = 0;
};

}  // namespace gantry::deploy
