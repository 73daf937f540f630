// The names and labels of the metrics Gantry's own parts report, in one place so that the
// load balancer, the deployment controller, the runner, the dashboard and the alarms in the
// docs agree. The monitor only stores them; the parts named here feed them.
#pragma once

namespace gantry::monitor::names {

// Load balancer (src/lb). Labels: target_group, target ("host:port"), and for responses
// code_class ("2xx", "3xx", "4xx", "5xx").
inline constexpr const char* kLbRequestsTotal = "gantry_lb_requests_total";
inline constexpr const char* kLbResponsesTotal = "gantry_lb_responses_total";
inline constexpr const char* kLbTargetResponseSeconds = "gantry_lb_target_response_seconds";  // histogram
inline constexpr const char* kLbHealthyHosts = "gantry_lb_healthy_hosts";                     // gauge
inline constexpr const char* kLbUnhealthyHosts = "gantry_lb_unhealthy_hosts";                 // gauge
inline constexpr const char* kLbActiveConnections = "gantry_lb_active_connections";           // gauge

// Pipeline (src/engine, src/runner). Labels: project, workflow, and result
// ("success", "failure", "cancelled") where it applies.
inline constexpr const char* kRunsTotal = "gantry_runs_total";
inline constexpr const char* kRunDurationSeconds = "gantry_run_duration_seconds";  // histogram
inline constexpr const char* kRunQueueSeconds = "gantry_run_queue_seconds";        // histogram
inline constexpr const char* kJobsRunning = "gantry_jobs_running";                 // gauge
inline constexpr const char* kRunsRunning = "gantry_runs_running";                 // gauge

// Deployments (src/deploy). Labels: service, environment, strategy, result
// ("succeeded", "rolled_back", "failed").
inline constexpr const char* kDeploymentsTotal = "gantry_deployments_total";
inline constexpr const char* kDeploymentDurationSeconds = "gantry_deployment_duration_seconds";  // histogram

// Instances of the local fleet. Labels: service, instance. See WatchProcess() in monitor.h.
inline constexpr const char* kInstanceRestartsTotal = "gantry_instance_restarts_total";
inline constexpr const char* kProcessResidentMemoryBytes = "gantry_process_resident_memory_bytes";
inline constexpr const char* kProcessCpuSeconds = "gantry_process_cpu_seconds";

}  // namespace gantry::monitor::names
