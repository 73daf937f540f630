// gantry approve --run RUN: approve or reject the jobs of a server run that wait for a
// protected environment (docs/server.md, "Environments and approvals"); --pending lists them.
#include <cstdio>

#include "cli/deploy_remote.h"

namespace gantry::cli {

int RemoteRunApproval(const ClientFlags& client, long long run, const std::string& env, bool reject,
                      const std::string& comment, bool list) {
  const std::string path = "runs/" + std::to_string(run) + "/approvals";
  if (list) {
    auto r = CallApi(client, "approve", "GET", path);
    if (r.exit_code != kExitOk) return r.exit_code;
    if (r.body["pending"].empty()) std::printf("run %lld: no job waits for approval\n", run);
    for (const auto& g : r.body["pending"]) {
      std::printf("waiting  %-24s %-12s %d/%d approvals\n", g.value("job", "").c_str(),
                  g.value("environment", "").c_str(), g.value("approved", 0), g.value("required", 0));
    }
    for (const auto& d : r.body["approvals"]) {
      std::string comment_text = d.value("comment", "");
      std::printf("%-8s %-24s %-12s %s%s\n", d.value("decision", "").c_str(), d.value("user", "").c_str(),
                  d.value("environment", "").c_str(), comment_text.empty() ? "" : "— ", comment_text.c_str());
    }
    return kExitOk;
  }
  nlohmann::json body{{"approve", !reject}, {"comment", comment}};
  if (!env.empty()) body["environment"] = env;
  auto r = CallApi(client, "approve", "POST", path, &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  std::printf("run %lld: %s %s by %s", run, r.body.value("environment", "").c_str(),
              r.body.value("decision", "").c_str(), r.body.value("user", "").c_str());
  if (!reject) std::printf(" (%d/%d approvals)", r.body.value("approved", 0), r.body.value("required", 0));
  std::printf("\n");
  return kExitOk;
}

}  // namespace gantry::cli
