// gantry runs: lists runs (newest first), optionally of one project or status.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string project, status;
  int limit = 20;
  bool json = false;
  CLI::App app{"List runs on the server, newest first.", "gantry runs"};
  app.add_option("-p,--project", project, "only this project");
  app.add_option("-s,--status", status, "only runs with this status (queued, running, completed)");
  app.add_option("-n,--limit", limit, "how many")->capture_default_str();
  app.add_flag("--json", json, "print the API's JSON");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  std::string path = "runs?limit=" + std::to_string(limit);
  if (!project.empty()) path += "&project=" + http::PercentEncode(project);
  if (!status.empty()) path += "&status=" + http::PercentEncode(status);
  auto r = CallApi(flags, "runs", "GET", path);
  if (r.exit_code != kExitOk) return r.exit_code;
  if (json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%-6s %-16s %-5s %-22s %-10s %-10s %s\n", "ID", "PROJECT", "#", "WORKFLOW", "STATUS", "RESULT", "REF");
  for (const auto& run : r.body["runs"]) {
    std::printf("%-6lld %-16s %-5lld %-22s %-10s %-10s %s\n", run.value("id", 0LL), run.value("project", "").c_str(),
                run.value("number", 0LL), run.value("workflow_name", "").c_str(), run.value("status", "").c_str(),
                run.value("conclusion", "").c_str(), run.value("ref", "").c_str());
  }
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("runs", "list runs on the server", gantry::cli::Run);
