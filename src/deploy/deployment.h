// A deployment: one service in one environment moving from its stable revision to a new one.
// The whole record is persisted (as JSON in the StateStore) before every action the
// controller takes on it, so a restarted controller resumes where it stopped.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "deploy/router.h"

namespace gantry::deploy {

enum class DeploymentState {
  kWaitingApproval,
  kRunning,
  kPaused,  // waiting for `gantry promote` (manual step, inconclusive analysis)
  kSucceeded,
  kFailed,      // failed and could not roll back (first deployment)
  kRolledBack,  // failed (or alarm) and traffic is back on the previous revision
  kAborted,
  kRejected,
};
const char* DeploymentStateName(DeploymentState s);
bool IsTerminal(DeploymentState s);

struct DeploymentEvent {
  long long at_ms = 0;  // wall clock
  std::string message;
};

struct Deployment {
  long long id = 0;
  std::string service, environment, revision, from_revision, strategy, branch;
  DeploymentState state = DeploymentState::kRunning;
  std::string phase = "start";
  std::string reason;  // why it failed, rolled back or paused
  bool is_rollback = false;
  std::string from_slot, to_slot;  // "a" / "b"
  int step = 0;
  int canary_weight = 0;
  int canary_instances = 0;          // 0: follow the weight
  int scale_from = 0, scale_to = 0;  // a scale deployment (strategy "scale"): the counts
  bool promote_requested = false, full_promote = false, abort_requested = false;
  // Set when a rollback (an alarm's action, `gantry rollback`) ends this active deployment:
  // it then ends rolled_back with this reason instead of aborted.
  std::string rollback_reason;
  long long phase_started_ms = 0;
  // analysis of the current step
  int analysis_runs = 0, analysis_failures = 0, analysis_inconclusive = 0;
  long long analysis_next_ms = 0;
  TrafficStats analysis_baseline;
  std::vector<std::string> registered;                      // addresses in the rolling group
  std::vector<std::pair<std::string, long long>> retiring;  // instance id, stop time
  std::vector<std::string> hooks_done;                      // "instance:event"
  std::vector<std::string> approvals;
  std::vector<DeploymentEvent> events;
  long long created_ms = 0, finished_ms = 0;
};

// Autoscaling (target tracking) of a service in an environment: the count the autoscaler
// chose, when it last scaled, and why.
struct ScalingState {
  int desired = 0;  // 0: none chosen yet (the declared count within [min, max] runs)
  long long last_scale_out_ms = 0, last_scale_in_ms = 0;
  std::string last_event;  // "scale out 1 -> 3: 41.0 requests/s per instance (target 5)"
  long long last_event_ms = 0;
};

// Per service and environment: what runs and how traffic is routed (the router state is
// re-applied from this record when the controller starts, e.g. after a server restart).
struct ServiceRecord {
  std::string service, environment;
  std::string stable_revision, stable_slot = "a";
  std::vector<std::string> history;  // earlier stable revisions, newest last
  long long active_deployment = 0;
  std::map<std::string, int> weights;                       // group -> weight
  std::map<std::string, std::vector<std::string>> targets;  // group -> addresses
  ScalingState autoscaling;
};

std::string ToJson(const Deployment& d);
Result<Deployment> DeploymentFromJson(const std::string& json);
std::string ToJson(const ServiceRecord& s);
Result<ServiceRecord> ServiceRecordFromJson(const std::string& json);

}  // namespace gantry::deploy
