// Deployments inside `gantry server` (docs/deploy.md, "Server mode"): the deployment
// controller over the local fleet (data under <data>/deploy), its load balancer in a
// `gantry lb` process of its own (server/lb_process.h) so traffic outlives the server, a
// thread that ticks every active deployment, and the API under /api/v1/deployments and
// /api/v1/services behind the API tokens. Deployed revisions are commits of a hosted project:
// each is checked out into <data>/deploy/revisions/<rev>, its .gantry/*.yml declares the
// services. Deployment events go to the monitor's "deployments" topic; alarm actions
// "deploy:rollback:SERVICE[:ENV]" roll back; load balancer and instance metrics feed the
// monitor's registry.
#pragma once

#include <memory>

#include "base/status.h"

namespace gantry::http {
class Router;
}
namespace gantry::monitor {
class Monitor;
}

namespace gantry::server {

struct Context;

class Deployments {
 public:
  // Restores persisted deployments (re-adopting instances and the load balancer process)
  // and starts ticking them.
  static Result<std::unique_ptr<Deployments>> Open(Context& ctx, monitor::Monitor* monitor);
  ~Deployments();  // stops ticking; instances and the load balancer keep serving

  void Mount(http::Router& router);

  struct Impl;

 private:
  explicit Deployments(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::server
