// gantry runs: lists runs (newest first) with their titles (the commit message's first line),
// optionally of one project, status, branch or workflow.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

// Titles and branch names come from commits: terminal control bytes (escape sequences that
// could rewrite the screen) are shown as '?'.
std::string Printable(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string project, status, branch, workflow;
  int limit = 20;
  bool json = false;
  CLI::App app{"List runs on the server, newest first.", "gantry runs"};
  app.add_option("-p,--project", project, "only this project");
  app.add_option("-s,--status", status, "only runs with this status (queued, running, completed)");
  app.add_option("-b,--branch", branch, "only runs of this branch or tag (main, refs/heads/main)");
  app.add_option("-w,--workflow", workflow, "only runs of this workflow (file or name)");
  app.add_option("-n,--limit", limit, "how many")->capture_default_str();
  app.add_flag("--json", json, "print the API's JSON");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  std::string path = "runs?limit=" + std::to_string(limit);
  if (!project.empty()) path += "&project=" + http::PercentEncode(project);
  if (!status.empty()) path += "&status=" + http::PercentEncode(status);
  if (!branch.empty()) path += "&branch=" + http::PercentEncode(branch);
  if (!workflow.empty()) path += "&workflow=" + http::PercentEncode(workflow);
  auto r = CallApi(flags, "runs", "GET", path);
  if (r.exit_code != kExitOk) return r.exit_code;
  if (json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%-6s %-16s %-5s %-22s %-10s %-10s %-16s %-8s %s\n", "ID", "PROJECT", "#", "WORKFLOW", "STATUS", "RESULT",
              "BRANCH", "COMMIT", "TITLE");
  for (const auto& run : r.body["runs"]) {
    std::string ref = run.value("ref", "");
    for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
      if (ref.rfind(prefix, 0) == 0) ref = ref.substr(std::string(prefix).size());
    }
    std::string status = run.value("status", "");
    if (run.contains("waiting_for") && !run["waiting_for"].empty()) status = "waiting";  // for approvals
    std::string title = Printable(run.value("title", ""));
    if (title.empty()) title = Printable(run.value("workflow_name", ""));
    std::printf("%-6lld %-16s %-5lld %-22s %-10s %-10s %-16s %-8s %s\n", run.value("id", 0LL),
                Printable(run.value("project", "")).c_str(), run.value("number", 0LL),
                Printable(run.value("workflow_name", "")).c_str(), status.c_str(), run.value("conclusion", "").c_str(),
                Printable(ref).c_str(), run.value("short_sha", "").c_str(), title.c_str());
  }
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("runs", "list runs on the server", gantry::cli::Run);
