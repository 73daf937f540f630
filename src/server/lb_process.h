// The load balancer of deployed services runs as its own `gantry lb` process, in its own
// session, so that a killed server (even SIGKILL) does not interrupt traffic: the server
// starts it, keeps it running (restarts it when it dies) and, after a restart of its own,
// re-adopts it from DIR/lb.pid. The process runs from DIR/lb.yml, which the server rewrites
// on every routing change before asking the process to reload it over its loopback admin
// channel (token in DIR/token). Stopping the server leaves it running (docs/deploy.md).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace gantry::lb {
class Control;
}

namespace gantry::server {

struct LbProcessOptions {
  std::string dir;                        // <data>/deploy/lb
  std::string listen = "127.0.0.1:8081";  // the listener deployed services are reached on
  std::string exe;                        // the gantry binary (default /proc/self/exe)
};

class LbProcess {
 public:
  // Adopts the running process when DIR/lb.pid names one that answers with our token, else
  // starts one; then supervises it from a thread.
  static Result<std::unique_ptr<LbProcess>> Start(LbProcessOptions options);
  ~LbProcess();  // stops supervising; the process keeps serving

  lb::Control* control();
  int pid() const;
  bool adopted() const;  // found running at Start
  // The address the listener is bound to ("127.0.0.1:8081"), from the process's metrics.
  std::string ListenerAddress();

  struct Impl;

 private:
  explicit LbProcess(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Stops the load balancer process recorded in DIR/lb.pid (SIGTERM, SIGKILL after 10 s) when
// it is running: its pid, or 0 when none ran. Stop the server first: it would restart it.
Result<int> StopLbProcess(const std::string& dir);

}  // namespace gantry::server
