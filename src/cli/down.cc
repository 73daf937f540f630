// `gantry down --data DIR`: stops what a `gantry server` leaves running on purpose when it
// stops (so that a killed server never interrupts traffic): the load balancer of deployed
// services and every instance of the local fleet.
#include <cstdio>

#include "base/fs.h"
#include "cli/cli_util.h"
#include "deploy/local_fleet.h"
#include "server/lb_process.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  CLI::App app{
      "Stop the deployed services of a server's data directory: the load balancer (gantry lb)\n"
      "and every instance. `gantry server` keeps them running when it stops or is killed, so\n"
      "that traffic never depends on it; stop the server first (it would restart them).\n"
      "A standalone data dir (gantry deploy --data DIR) works too: its instances are stopped.\n"
      "Exit status: 0 stopped (or nothing ran), 1 something could not be stopped.",
      "gantry down"};
  std::string data = "./gantry-data";
  app.add_option("--data", data, "The server's (or a standalone gantry deploy's) data directory")
      ->capture_default_str();
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  std::string dir = data + "/deploy";
  // A standalone data dir (`gantry deploy --data DIR`, no server) holds the fleet itself.
  if (!PathExists(dir) && PathExists(data + "/instances")) dir = data;
  if (!PathExists(dir)) {
    std::printf("nothing deployed in %s\n", data.c_str());
    return kExitOk;
  }
  int rc = kExitOk;
  auto lb = server::StopLbProcess(dir + "/lb");
  if (!lb.ok()) {
    std::fprintf(stderr, "gantry down: %s\n", lb.error().c_str());
    rc = kExitFailed;
  } else if (*lb != 0) {
    std::printf("stopped the load balancer (pid %d)\n", *lb);
  }
  auto fleet = deploy::LocalFleet::Open(dir);
  if (!fleet.ok()) {
    std::fprintf(stderr, "gantry down: %s\n", fleet.error().c_str());
    return kExitFailed;
  }
  const size_t n = (*fleet)->List("").size();
  (*fleet)->StopAll();
  const size_t left = (*fleet)->List("").size();
  std::printf("stopped %zu instance(s)\n", n - left);
  if (left != 0) {
    std::fprintf(stderr, "gantry down: %zu instance(s) could not be stopped\n", left);
    rc = kExitFailed;
  }
  return rc;
}

}  // namespace

GANTRY_COMMAND("down", "Stop a server's load balancer and deployed instances (after the server)", Run);

}  // namespace gantry::cli
