#include "deploy/deployment.h"

#include <nlohmann/json.hpp>

namespace gantry::deploy {

using Json = nlohmann::json;

const char* DeploymentStateName(DeploymentState s) {
  switch (s) {
    case DeploymentState::kWaitingApproval:
      return "waiting_approval";
    case DeploymentState::kRunning:
      return "running";
    case DeploymentState::kPaused:
      return "paused";
    case DeploymentState::kSucceeded:
      return "succeeded";
    case DeploymentState::kFailed:
      return "failed";
    case DeploymentState::kRolledBack:
      return "rolled_back";
    case DeploymentState::kAborted:
      return "aborted";
    case DeploymentState::kRejected:
      return "rejected";
  }
  return "?";
}

bool IsTerminal(DeploymentState s) {
  return s == DeploymentState::kSucceeded || s == DeploymentState::kFailed || s == DeploymentState::kRolledBack ||
         s == DeploymentState::kAborted || s == DeploymentState::kRejected;
}

namespace {
DeploymentState StateFromName(const std::string& n) {
  for (int i = 0; i <= static_cast<int>(DeploymentState::kRejected); ++i)
    if (n == DeploymentStateName(static_cast<DeploymentState>(i))) return static_cast<DeploymentState>(i);
  return DeploymentState::kFailed;
}
}  // namespace

std::string ToJson(const Deployment& d) {
  Json events = Json::array();
  for (const auto& e : d.events) events.push_back({{"at_ms", e.at_ms}, {"message", e.message}});
  Json j = {{"id", d.id},
            {"service", d.service},
            {"environment", d.environment},
            {"revision", d.revision},
            {"from_revision", d.from_revision},
            {"strategy", d.strategy},
            {"branch", d.branch},
            {"state", DeploymentStateName(d.state)},
            {"phase", d.phase},
            {"reason", d.reason},
            {"is_rollback", d.is_rollback},
            {"from_slot", d.from_slot},
            {"to_slot", d.to_slot},
            {"step", d.step},
            {"canary_weight", d.canary_weight},
            {"canary_instances", d.canary_instances},
            {"scale_from", d.scale_from},
            {"scale_to", d.scale_to},
            {"promote_requested", d.promote_requested},
            {"full_promote", d.full_promote},
            {"abort_requested", d.abort_requested},
            {"rollback_reason", d.rollback_reason},
            {"phase_started_ms", d.phase_started_ms},
            {"analysis_runs", d.analysis_runs},
            {"analysis_failures", d.analysis_failures},
            {"analysis_inconclusive", d.analysis_inconclusive},
            {"analysis_next_ms", d.analysis_next_ms},
            {"baseline",
             {{"requests", d.analysis_baseline.requests},
              {"errors_5xx", d.analysis_baseline.errors_5xx},
              {"bounds", d.analysis_baseline.bucket_upper_ms},
              {"buckets", d.analysis_baseline.buckets}}},
            {"registered", d.registered},
            {"retiring", d.retiring},
            {"hooks_done", d.hooks_done},
            {"approvals", d.approvals},
            {"events", events},
            {"created_ms", d.created_ms},
            {"finished_ms", d.finished_ms}};
  return j.dump();
}

Result<Deployment> DeploymentFromJson(const std::string& json) {
  try {
    const Json j = Json::parse(json);
    Deployment d;
    d.id = j.at("id");
    d.service = j.at("service");
    d.environment = j.at("environment");
    d.revision = j.at("revision");
    d.from_revision = j.at("from_revision");
    d.strategy = j.at("strategy");
    d.branch = j.at("branch");
    d.state = StateFromName(j.at("state"));
    d.phase = j.at("phase");
    d.reason = j.at("reason");
    d.is_rollback = j.at("is_rollback");
    d.from_slot = j.at("from_slot");
    d.to_slot = j.at("to_slot");
    d.step = j.at("step");
    d.canary_weight = j.at("canary_weight");
    d.canary_instances = j.at("canary_instances");
    d.scale_from = j.value("scale_from", 0);  // absent in records written before autoscaling
    d.scale_to = j.value("scale_to", 0);
    d.promote_requested = j.at("promote_requested");
    d.full_promote = j.at("full_promote");
    d.abort_requested = j.at("abort_requested");
    d.rollback_reason = j.value("rollback_reason", "");
    d.phase_started_ms = j.at("phase_started_ms");
    d.analysis_runs = j.at("analysis_runs");
    d.analysis_failures = j.at("analysis_failures");
    d.analysis_inconclusive = j.at("analysis_inconclusive");
    d.analysis_next_ms = j.at("analysis_next_ms");
    const auto& b = j.at("baseline");
    d.analysis_baseline.requests = b.at("requests");
    d.analysis_baseline.errors_5xx = b.at("errors_5xx");
    d.analysis_baseline.bucket_upper_ms = b.at("bounds").get<std::vector<double>>();
    d.analysis_baseline.buckets = b.at("buckets").get<std::vector<uint64_t>>();
    d.registered = j.at("registered").get<std::vector<std::string>>();
    d.retiring = j.at("retiring").get<std::vector<std::pair<std::string, long long>>>();
    d.hooks_done = j.at("hooks_done").get<std::vector<std::string>>();
    d.approvals = j.at("approvals").get<std::vector<std::string>>();
    for (const auto& e : j.at("events")) d.events.push_back({e.at("at_ms"), e.at("message")});
    d.created_ms = j.at("created_ms");
    d.finished_ms = j.at("finished_ms");
    return d;
  } catch (const std::exception& e) {
    return Result<Deployment>::Error(std::string("deployment record: ") + e.what());
  }
}

std::string ToJson(const ServiceRecord& s) {
  const ScalingState& a = s.autoscaling;
  return Json{{"service", s.service},
              {"environment", s.environment},
              {"stable_revision", s.stable_revision},
              {"stable_slot", s.stable_slot},
              {"history", s.history},
              {"active_deployment", s.active_deployment},
              {"weights", s.weights},
              {"targets", s.targets},
              {"autoscaling",
               {{"desired", a.desired},
                {"last_scale_out_ms", a.last_scale_out_ms},
                {"last_scale_in_ms", a.last_scale_in_ms},
                {"last_event", a.last_event},
                {"last_event_ms", a.last_event_ms}}}}
      .dump();
}

Result<ServiceRecord> ServiceRecordFromJson(const std::string& json) {
  try {
    const Json j = Json::parse(json);
    ServiceRecord s;
    s.service = j.at("service");
    s.environment = j.at("environment");
    s.stable_revision = j.at("stable_revision");
    s.stable_slot = j.at("stable_slot");
    s.history = j.at("history").get<std::vector<std::string>>();
    s.active_deployment = j.at("active_deployment");
    s.weights = j.at("weights").get<std::map<std::string, int>>();
    s.targets = j.at("targets").get<std::map<std::string, std::vector<std::string>>>();
    if (auto a = j.find("autoscaling"); a != j.end()) {  // absent in records written before autoscaling
      s.autoscaling.desired = a->at("desired");
      s.autoscaling.last_scale_out_ms = a->at("last_scale_out_ms");
      s.autoscaling.last_scale_in_ms = a->at("last_scale_in_ms");
      s.autoscaling.last_event = a->at("last_event");
      s.autoscaling.last_event_ms = a->at("last_event_ms");
    }
    return s;
  } catch (const std::exception& e) {
    return Result<ServiceRecord>::Error(std::string("service record: ") + e.what());
  }
}

TrafficStats TrafficStats::Minus(const TrafficStats& earlier) const {
  TrafficStats d = *this;
  d.requests = requests >= earlier.requests ? requests - earlier.requests : requests;
  d.errors_5xx = errors_5xx >= earlier.errors_5xx ? errors_5xx - earlier.errors_5xx : errors_5xx;
  if (earlier.buckets.size() == buckets.size())
    for (size_t i = 0; i < buckets.size(); ++i)
      d.buckets[i] = buckets[i] >= earlier.buckets[i] ? buckets[i] - earlier.buckets[i] : 0;
  return d;
}

double TrafficStats::P99Ms() const {
  uint64_t total = 0;
  for (auto b : buckets) total += b;
  if (total == 0) return 0;
  const uint64_t rank = (total * 99 + 99) / 100;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) return i < bucket_upper_ms.size() ? bucket_upper_ms[i] : 1e9;
  }
  return 1e9;
}

}  // namespace gantry::deploy
