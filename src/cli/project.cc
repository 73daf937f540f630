// gantry project create NAME: creates a project with a hosted git repository.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string action, name, mirror, poll;
  CLI::App app{
      "Manage a project on the server. `create NAME` prints the git URL to push to.\n"
      "With --mirror URL the project follows a remote repository instead: the server fetches\n"
      "it every --poll interval, and new or moved branches and tags trigger workflows like a\n"
      "push (a failed fetch backs off and shows in GET /api/v1/projects/NAME as mirror.last_error).\n"
      "Needs an admin token.",
      "gantry project"};
  app.add_option("action", action, "create")->required()->check(CLI::IsMember({"create"}));
  app.add_option("name", name, "project name (letters, digits, '-', '_', '.')")->required();
  app.add_option("--mirror", mirror, "remote git URL to mirror (http(s)://, git://, ssh://, file://)");
  app.add_option("--poll", poll, "mirror poll interval: 60s, 5m, 1h (default 60s)");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  nlohmann::json body{{"name", name}};
  if (!mirror.empty()) body["mirror"] = mirror;
  if (!poll.empty()) body["poll"] = poll;
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
