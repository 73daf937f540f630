// gantry lb -c FILE: the load balancer alone. SIGHUP re-reads the file and applies it
// atomically; SIGTERM/SIGINT stop gracefully (in-flight requests finish).
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "base/fs.h"
#include "base/http_server.h"
#include "base/strings.h"
#include "cli/cli_util.h"
#include "lb/control.h"
#include "lb/load_balancer.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{
      "Runs the built-in HTTP/1.1 load balancer (listeners, rules, weighted target groups, health checks).\n"
      "The configuration format is described in docs/lb.md. Signals: SIGHUP re-reads FILE and applies it\n"
      "without dropping connections (a bad file keeps the old configuration); SIGTERM or SIGINT stop\n"
      "accepting and let in-flight requests finish (up to --grace).",
      "gantry lb"};
  std::string file;
  bool check = false;
  long long grace_ms = 10'000;
  app.add_option("-c,--config", file, "YAML configuration file")->required();
  app.add_flag("--check", check, "only validate the configuration and exit (errors as file:line:col)");
  app.add_option("--grace", grace_ms, "milliseconds in-flight requests get on SIGTERM (default 10000)");
  std::string admin, admin_token_file, pid_file;
  app.add_option("--admin", admin,
                 "loopback address of the admin channel (GET /lb/metrics, POST /lb/reload; bearer token from "
                 "--admin-token-file); what `gantry server` uses to drive this process");
  app.add_option("--admin-token-file", admin_token_file, "file holding the admin channel's token");
  app.add_option("--pid-file", pid_file,
                 "write {\"pid\", \"admin\"} here once listening (how a restarted server finds this process)");
  if (int rc = gantry::cli::Parse(app, argc, argv); rc >= 0) return rc;

  auto config = gantry::lb::ReadConfigFile(file);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.error().c_str());
    return gantry::cli::kExitUsage;
  }
  if (check) {
    std::printf("%s: ok\n", file.c_str());
    return gantry::cli::kExitOk;
  }
  // Block the signals before any thread starts so only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto lb = gantry::lb::LoadBalancer::Start(std::move(*config));
  if (!lb.ok()) {
    std::fprintf(stderr, "gantry lb: %s\n", lb.error().c_str());
    return gantry::cli::kExitFailed;
  }
  for (size_t i = 0;; ++i) {
    std::string bound = (*lb)->BoundAddress(i);
    if (bound.empty()) break;
    std::fprintf(stderr, "gantry lb: listening on %s\n", bound.c_str());
  }
  std::unique_ptr<gantry::http::Server> admin_server;
  if (!admin.empty()) {
    auto token = gantry::ReadFile(admin_token_file, 4096);
    if (admin_token_file.empty() || !token.ok() || gantry::Trim(*token).empty()) {
      std::fprintf(stderr, "gantry lb: --admin needs a non-empty --admin-token-file\n");
      return gantry::cli::kExitUsage;
    }
    gantry::http::ServerOptions ho;
    ho.listen = admin;
    ho.max_connections = 16;
    ho.max_body_bytes = 0;
    admin_server = std::make_unique<gantry::http::Server>(ho);
    auto st = admin_server->Start(gantry::lb::AdminHandler(lb->get(), file, std::string(gantry::Trim(*token))));
    if (!st.ok()) {
      std::fprintf(stderr, "gantry lb: admin channel: %s\n", st.message().c_str());
      return gantry::cli::kExitFailed;
    }
    std::fprintf(stderr, "gantry lb: admin channel on %s\n", admin_server->address().c_str());
  }
  if (!pid_file.empty()) {
    std::string json = "{\"pid\": " + std::to_string(getpid()) + ", \"admin\": \"" +
                       (admin_server ? admin_server->address() : std::string()) + "\"}\n";
    if (auto st = gantry::WriteFileAtomic(pid_file, json); !st.ok()) {
      std::fprintf(stderr, "gantry lb: %s\n", st.message().c_str());
      return gantry::cli::kExitFailed;
    }
  }
  std::fflush(stderr);
  int interrupted = 0;
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto next = gantry::lb::ReadConfigFile(file);
      gantry::Status s = next.ok() ? (*lb)->Apply(std::move(*next)) : next.status();
      if (s.ok()) {
        std::fprintf(stderr, "gantry lb: reloaded %s\n", file.c_str());
      } else {
        std::fprintf(stderr, "gantry lb: reload failed, keeping the running configuration: %s\n", s.message().c_str());
      }
      std::fflush(stderr);
      continue;
    }
    interrupted = sig == SIGINT;
    break;
  }
  if (admin_server) admin_server->Stop();
  (*lb)->Stop(grace_ms);
  return interrupted ? gantry::cli::kExitInterrupted : gantry::cli::kExitOk;
}

}  // namespace

GANTRY_COMMAND("lb", "run the load balancer alone (gantry lb -c lb.yml)", Run);
