// gantry trigger PROJECT WORKFLOW: a workflow_dispatch run with inputs.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string project, workflow, ref = "main";
  std::vector<std::string> inputs;
  CLI::App app{"Start a workflow_dispatch run. Prints the new run ids. Needs an operator token.", "gantry trigger"};
  app.add_option("project", project, "project name")->required();
  app.add_option("workflow", workflow, "workflow file (ci.yml or .github/workflows/ci.yml)")->required();
  app.add_option("-r,--ref", ref, "branch or ref")->capture_default_str();
  app.add_option("-i,--input", inputs, "input NAME=value; repeatable");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  nlohmann::json body{{"workflow", workflow}, {"ref", ref}, {"inputs", nlohmann::json::object()}};
  for (const auto& in : inputs) {
    auto eq = in.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "gantry trigger: --input %s: expected NAME=value\n", in.c_str());
      return kExitUsage;
    }
    body["inputs"][in.substr(0, eq)] = in.substr(eq + 1);
  }
  auto r = CallApi(flags, "trigger", "POST", "projects/" + http::PercentEncode(project) + "/trigger", &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  for (const auto& run : r.body["runs"]) std::printf("%lld\n", run.value("id", 0LL));
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("trigger", "start a workflow_dispatch run on the server", gantry::cli::Run);
