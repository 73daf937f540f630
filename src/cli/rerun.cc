// gantry rerun RUN [--failed]
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  bool failed = false;
  CLI::App app{
      "Re-run a completed run: every job, or with --failed only the failed jobs (and the jobs they\n"
      "need). Needs an operator token.",
      "gantry rerun"};
  app.add_option("run", run, "run id")->required();
  app.add_flag("--failed", failed, "only the failed jobs");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  nlohmann::json body{{"failed_only", failed}};
  return CallApi(flags, "rerun", "POST", "runs/" + std::to_string(run) + "/rerun", &body).exit_code;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("rerun", "re-run a run (or its failed jobs) on the server", gantry::cli::Run);
