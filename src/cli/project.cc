// gantry project create NAME: creates a project with a hosted git repository.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string action, name;
  CLI::App app{
      "Manage a project on the server. `create NAME` prints the git URL to push to.\n"
      "Needs an admin token.",
      "gantry project"};
  app.add_option("action", action, "create")->required()->check(CLI::IsMember({"create"}));
  app.add_option("name", name, "project name (letters, digits, '-', '_', '.')")->required();
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  nlohmann::json body{{"name", name}};
  auto r = CallApi(flags, "project", "POST", "projects", &body);
  if (r.exit_code != kExitOk) return r.exit_code;
  std::printf("%s\n", r.body.value("git_url", "").c_str());
  std::fprintf(stderr, "webhook: %s (secret %s)\n", r.body.value("webhook_url", "").c_str(),
               r.body.value("webhook_secret", "").c_str());
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("project", "create a project on the server (prints its git URL)", gantry::cli::Run);
