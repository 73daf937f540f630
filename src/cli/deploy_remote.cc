#include "cli/deploy_remote.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace gantry::cli {
namespace {

using Json = nlohmann::json;

std::atomic<bool> interrupted{false};
void OnSigint(int) { interrupted = true; }

std::string S(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string When(long long ms) {
  if (ms == 0) return "-";
  time_t t = ms / 1000;
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", gmtime(&t));
  return buf;
}

int ExitFor(const std::string& state) {
  return state == "succeeded" || state == "paused" || state == "waiting_approval" ? kExitOk : kExitFailed;
}

// Polls the deployment until it is no longer running, printing new events.
int Wait(const RemoteFlags& f, const char* command, long long id) {
  const bool until_done = f.until_done;
  signal(SIGINT, OnSigint);
  size_t printed = 0;
  for (;;) {
    auto r = CallApi(f.client, command, "GET", "deployments/" + std::to_string(id));
    if (r.exit_code != kExitOk) return r.exit_code;
    const Json& d = r.body;
    if (d.contains("events") && d["events"].is_array())
      for (; printed < d["events"].size(); ++printed) printf("  %s\n", S(d["events"][printed], "message").c_str());
    fflush(stdout);
    const std::string state = S(d, "state");
    const bool waiting = state == "waiting_approval" || state == "paused";
    if (state != "running" && !(until_done && waiting)) {
      const std::string reason = S(d, "reason");
      printf("deployment %lld: %s%s\n", id, state.c_str(), reason.empty() ? "" : (" (" + reason + ")").c_str());
      return ExitFor(state);
    }
    if (interrupted) {
      printf("interrupted; the server keeps driving deployment %lld\n", id);
      return kExitInterrupted;
    }
    usleep(250'000);
  }
}

}  // namespace

void AddRemoteFlags(CLI::App& app, RemoteFlags* flags, bool with_project) {
  app.add_option("--server,--url", flags->client.url,
                 "talk to this Gantry server instead of the local data dir (default: $GANTRY_URL when neither "
                 "--data nor $GANTRY_DATA is given)");
  app.add_option("--token", flags->client.token, "API token for --server (default: $GANTRY_TOKEN)");
  if (with_project) {
    app.add_option("--project", flags->project, "server mode: the hosted project to deploy from");
    app.add_flag("--until-done", flags->until_done,
                 "server mode: keep waiting while the deployment waits for approval or promotion (gantry/deploy)");
  }
}

bool UseServer(const RemoteFlags& remote, const DeployFlags& local) {
  if (!remote.client.url.empty()) return true;
  const char* url = std::getenv("GANTRY_URL");
  const char* data = std::getenv("GANTRY_DATA");
  return url != nullptr && *url != '\0' && local.data_dir.empty() && (data == nullptr || *data == '\0');
}

int RemoteDeploy(const RemoteFlags& f, const std::string& service, const std::string& env, const std::string& revision,
                 const std::string& branch, const std::string& strategy, bool wait) {
  if (revision.empty()) {  // resume: the server drives it; wait for the active one
    auto st = CallApi(f.client, "deploy", "GET", "services/" + service + "/" + env);
    if (st.exit_code != kExitOk) return st.exit_code;
    auto hist = CallApi(f.client, "deploy", "GET", "deployments?service=" + service + "&environment=" + env);
    if (hist.exit_code != kExitOk) return hist.exit_code;
    const auto& list = hist.body["deployments"];
    if (!list.is_array() || list.empty() || S(st.body, "active").empty()) {
      fprintf(stderr, "gantry deploy: no active deployment of %s in %s (give --revision)\n", service.c_str(),
              env.c_str());
      return kExitFailed;
    }
    return Wait(f, "deploy", list.back().value("id", 0LL));
  }
  Json body{{"service", service}, {"environment", env}, {"ref", revision}};
  if (!branch.empty()) body["branch"] = branch;
  if (!strategy.empty()) body["strategy"] = strategy;
  if (!f.project.empty()) body["project"] = f.project;
  auto r = CallApi(f.client, "deploy", "POST", "deployments", &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  const long long id = r.body.value("id", 0LL);
  printf("deployment %lld: %s %s (%s) to %s\n", id, service.c_str(), S(r.body, "revision").c_str(), revision.c_str(),
         env.c_str());
  fflush(stdout);
  return wait ? Wait(f, "deploy", id) : kExitOk;
}

int RemoteAct(const RemoteFlags& f, const std::string& action, const std::string& service, const std::string& env,
              const Json& body, bool wait) {
  auto r = CallApi(f.client, action.c_str(), "POST", "services/" + service + "/" + env + "/" + action, &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  const long long id = r.body.value("id", 0LL);
  if (id == 0) return kExitOk;
  printf("deployment %lld: %s requested\n", id, action.c_str());
  fflush(stdout);
  return wait ? Wait(f, action.c_str(), id) : kExitOk;
}

int RemoteStatus(const RemoteFlags& f, const std::string& service, const std::string& env) {
  auto r = CallApi(f.client, "status", "GET", "services/" + service + "/" + env);
  if (r.exit_code != kExitOk) return r.exit_code;
  const Json& b = r.body;
  const std::string stable = S(b, "stable_revision");
  printf("%s in %s: stable %s\n", service.c_str(), env.c_str(), stable.empty() ? "(none)" : stable.c_str());
  if (b.contains("weights") && b["weights"].is_object())
    for (const auto& [group, w] : b["weights"].items()) printf("  weight %-24s %s\n", group.c_str(), w.dump().c_str());
  printf("  %-44s %-14s %-22s %-10s %s\n", "INSTANCE", "REVISION", "ADDRESS", "HEALTH", "RESTARTS");
  for (const auto& i : b.value("instances", Json::array()))
    printf("  %-44s %-14s %-22s %-10s %s\n", S(i, "id").c_str(), S(i, "revision").c_str(), S(i, "address").c_str(),
           S(i, "health").c_str(), S(i, "restarts").c_str());
  if (const auto a = b.value("autoscaling", Json()); a.is_object()) {
    std::string targets;
    if (a.value("target_cpu", 0)) targets += "CPU " + S(a, "target_cpu") + "%";
    if (a.value("target_requests", 0))
      targets += (targets.empty() ? "" : ", ") + S(a, "target_requests") + " requests/s";
    printf("autoscaling: %s instance(s) desired (min %s, max %s; target %s per instance)\n", S(a, "desired").c_str(),
           S(a, "min").c_str(), S(a, "max").c_str(), targets.c_str());
    if (!S(a, "measurement").empty()) printf("  measured: %s\n", S(a, "measurement").c_str());
    if (!S(a, "last_event").empty())
      printf("  last scaling: %s  %s\n", When(a.value("last_event_ms", 0LL)).c_str(), S(a, "last_event").c_str());
  }
  if (!S(b, "active").empty()) printf("active: %s\n", S(b, "active").c_str());
  return kExitOk;
}

int RemoteHistory(const RemoteFlags& f, const std::string& service, const std::string& env, bool events) {
  auto r = CallApi(f.client, "history", "GET", "deployments?service=" + service + "&environment=" + env);
  if (r.exit_code != kExitOk) return r.exit_code;
  printf("%-5s %-20s %-14s %-14s %-12s %-14s %s\n", "ID", "STARTED", "REVISION", "FROM", "STRATEGY", "STATE", "REASON");
  for (const auto& d : r.body.value("deployments", Json::array())) {
    const std::string from = S(d, "from_revision");
    std::string reason = S(d, "reason");
    if (reason.empty() && S(d, "strategy") == "scale" && !d.value("events", Json::array()).empty())
      reason = S(d["events"][0], "message");  // what the scale operation did
    printf("%-5s %-20s %-14s %-14s %-12s %-14s %s\n", S(d, "id").c_str(), When(d.value("created_ms", 0LL)).c_str(),
           S(d, "revision").c_str(), from.empty() ? "-" : from.c_str(), S(d, "strategy").c_str(), S(d, "state").c_str(),
           reason.c_str());
    if (events)
      for (const auto& e : d.value("events", Json::array()))
        printf("      %s  %s\n", When(e.value("at_ms", 0LL)).c_str(), S(e, "message").c_str());
  }
  return kExitOk;
}

}  // namespace gantry::cli
