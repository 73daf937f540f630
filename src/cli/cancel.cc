// gantry cancel RUN
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  CLI::App app{"Cancel a queued or running run. Needs an operator token.", "gantry cancel"};
  app.add_option("run", run, "run id")->required();
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  auto r = CallApi(flags, "cancel", "POST", "runs/" + std::to_string(run) + "/cancel");
  return r.exit_code;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("cancel", "cancel a run on the server", gantry::cli::Run);
