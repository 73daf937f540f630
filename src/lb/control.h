// Driving a load balancer from another part of Gantry: the `Control` interface the deployment
// router uses, over a LoadBalancer in this process (`LocalControl`) or over a `gantry lb`
// process (`RemoteControl`: the desired configuration is written to the file that process runs
// from, then applied through its loopback admin channel, so a restarted lb reads it back).
// The admin channel (`AdminHandler`): GET /lb/metrics (JSON), POST /lb/reload, bearer token.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/http.h"
#include "base/status.h"
#include "lb/config.h"
#include "lb/load_balancer.h"

namespace gantry::lb {

// The configuration as JSON, which ParseConfig (YAML) reads back unchanged.
std::string FormatConfig(const Config& config);
std::string MetricsToJson(const Metrics& metrics);
Result<Metrics> MetricsFromJson(const std::string& json);

class Control {
 public:
  virtual ~Control() = default;
  virtual Config config() = 0;
  virtual Status Apply(Config config) = 0;
  virtual Status SetWeights(const std::map<std::string, int>& weights) = 0;
  virtual Status SetTargets(const std::string& group, std::vector<std::string> targets) = 0;
  virtual Result<Metrics> GetMetrics() = 0;
};

class LocalControl : public Control {
 public:
  explicit LocalControl(LoadBalancer* lb) : lb_(lb) {}
  Config config() override { return lb_->config(); }
  Status Apply(Config config) override { return lb_->Apply(std::move(config)); }
  Status SetWeights(const std::map<std::string, int>& weights) override { return lb_->SetWeights(weights); }
  Status SetTargets(const std::string& group, std::vector<std::string> targets) override {
    return lb_->SetTargets(group, std::move(targets));
  }
  Result<Metrics> GetMetrics() override { return lb_->GetMetrics(); }

 private:
  LoadBalancer* lb_;
};

// Serves the admin channel of `gantry lb --admin`: POST /lb/reload re-reads `config_file`.
http::Handler AdminHandler(LoadBalancer* lb, std::string config_file, std::string token);

class RemoteControl : public Control {
 public:
  // `admin_url` answers the current admin base URL ("http://127.0.0.1:PORT"; it changes
  // when the lb process is restarted). Reads `config_file` as the starting configuration.
  static Result<std::unique_ptr<RemoteControl>> Open(std::string config_file, std::function<std::string()> admin_url,
                                                     std::string token);
  Config config() override;
  // Validates, writes the file atomically, then asks the process to reload it. When the
  // process cannot be reached the file still holds the change (it reads it on restart).
  Status Apply(Config config) override;
  Status SetWeights(const std::map<std::string, int>& weights) override;
  Status SetTargets(const std::string& group, std::vector<std::string> targets) override;
  Result<Metrics> GetMetrics() override;
  // Asks the process to re-read its file (after it was restarted, or to check it is there).
  Status Reload();

 private:
  RemoteControl() = default;
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gantry::lb
