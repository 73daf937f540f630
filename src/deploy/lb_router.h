// TrafficRouter over Gantry's own load balancer (src/lb). This adapter is the one place in
// src/deploy that knows src/lb; it drives a LoadBalancer in this process or, through
// lb::Control, a `gantry lb` process (what the server does, so traffic outlives it).
// Routes are added to one listener (index `listener`) as rules host + path prefix forwarding
// to the service's two target groups.
#pragma once

#include <memory>

#include "deploy/router.h"

namespace gantry::lb {
class LoadBalancer;
class Control;
}  // namespace gantry::lb

namespace gantry::deploy {

class LbRouter : public TrafficRouter {
 public:
  explicit LbRouter(lb::LoadBalancer* lb, size_t listener = 0);
  explicit LbRouter(lb::Control* control, size_t listener = 0);
  ~LbRouter() override;
  Status EnsureRoute(const RouteSpec& route) override;
  Status SetTargets(const std::string& group, const std::vector<std::string>& addresses) override;
  Status SetWeights(const std::map<std::string, int>& weights) override;
  Status SetPreview(const ListenerSpec& listener, const std::string& group) override;
  std::vector<TargetHealth> Health(const std::string& group) override;
  TrafficStats Stats(const std::string& group) override;

 private:
  std::unique_ptr<lb::Control> owned_;
  lb::Control* lb_;
  size_t listener_;
};

}  // namespace gantry::deploy
