// gantry projects: lists the server's projects.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  bool json = false;
  CLI::App app{"List the projects on the server with their git URLs.", "gantry projects"};
  app.add_flag("--json", json, "print the API's JSON");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  auto r = CallApi(flags, "projects", "GET", "projects");
  if (r.exit_code != kExitOk) return r.exit_code;
  if (json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return kExitOk;
  }
  for (const auto& p : r.body["projects"]) {
    std::printf("%-24s %s\n", p.value("name", "").c_str(), p.value("git_url", "").c_str());
  }
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("projects", "list the server's projects", gantry::cli::Run);
