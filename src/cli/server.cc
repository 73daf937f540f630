// gantry server: the CI server (docs/server.md).
#include "server/server.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "cli/cli_util.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  server::ServerOptions o;
  CLI::App app{
      "Run the Gantry CI server: REST API under /api/v1, git push to /git/<project>.git, webhooks at\n"
      "/hooks/<project>, runs executed as workflows match. The first start prints a one-time admin token\n"
      "(or registers GANTRY_ADMIN_TOKEN). SIGTERM/SIGINT stop gracefully. See docs/server.md.",
      "gantry server"};
  app.add_option("--data", o.data_dir, "data directory (database, repositories, secrets key)")->capture_default_str();
  app.add_option("--listen", o.listen, "address:port to listen on (port 0 = any free port)")->capture_default_str();
  app.add_option("--database", o.database, "postgres://user@host:port/db (default: SQLite in the data directory)");
  app.add_option("--executors", o.executors, "runs executed at once")->capture_default_str();
  app.add_option("--public-url", o.public_url, "base URL shown in git URLs (default: http://<listen>)");
  app.add_option("--retention-days", o.retention_days, "delete completed runs (and logs) older than this; 0 keeps all")
      ->capture_default_str();
  app.add_option("--lb-listen", o.lb_listen,
                 "listener of the load balancer in front of deployed services (its own process; hosts "
                 "SERVICE.ENV.localhost, see docs/deploy.md)")
      ->capture_default_str();
  app.add_option("--approval-timeout", o.approval_timeout_s,
                 "seconds a job waits for the approvals of its protected environment before it fails "
                 "(docs/server.md; default 30 days)")
      ->capture_default_str();
  app.add_option("--stop-grace", o.stop_grace_ms, "ms running steps may continue after SIGTERM")->capture_default_str();
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (const char* t = std::getenv("GANTRY_ADMIN_TOKEN"); t != nullptr && *t != '\0') o.admin_token = t;
  unsetenv("GANTRY_ADMIN_TOKEN");  // not inherited by git or workflow steps

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto srv = server::CiServer::Create(o);
  if (!srv.ok()) {
    std::fprintf(stderr, "gantry server: %s\n", srv.error().c_str());
    return kExitFailed;
  }
  if (auto st = (*srv)->Start(); !st.ok()) {
    std::fprintf(stderr, "gantry server: %s\n", st.message().c_str());
    return kExitFailed;
  }
  std::printf("gantry server listening on %s (data: %s)\n", (*srv)->url().c_str(), o.data_dir.c_str());
  if (!(*srv)->initial_admin_token().empty()) {
    std::printf("admin token (shown once, store it now): %s\n", (*srv)->initial_admin_token().c_str());
  }
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("gantry server: %s received, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  (*srv)->Stop();
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("server", "run the CI server (API, git hosting, webhooks, run queue)", gantry::cli::Run);
