// What the deployments part reports to the monitor, as registry series (names in
// monitor/metric_names.h): the load balancer's cumulative counters per target group turned
// into increases (requests, responses by class, target response time histogram, healthy and
// unhealthy hosts; labels target_group and, for SERVICE.ENV.SLOT groups, service and
// environment), listeners' open connections, and instance restarts of the local fleet.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gantry::lb {
struct Metrics;
}
namespace gantry::deploy {
struct Instance;
}
namespace gantry::monitor {
class Registry;
}

namespace gantry::server {

class MetricsFeed {
 public:
  explicit MetricsFeed(monitor::Registry* registry) : registry_(registry) {}
  void FeedLb(const lb::Metrics& metrics);
  void FeedInstances(const std::vector<deploy::Instance>& instances);

 private:
  // The increase of a cumulative value since the last call (a restarted source starts at 0).
  double Delta(const std::string& key, double value);
  monitor::Registry* registry_;
  std::map<std::string, double> last_;
};

}  // namespace gantry::server
