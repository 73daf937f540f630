// CodeDeploy-compatible lifecycle hooks from an `appspec.yml`:
//   hooks:
//     BeforeInstall: [{location: scripts/setup.sh, timeout: 30}]
// run per instance with CodeDeploy's variables (LIFECYCLE_EVENT, DEPLOYMENT_ID,
// APPLICATION_NAME, DEPLOYMENT_GROUP_NAME, DEPLOYMENT_GROUP_ID); a failing or timed-out
// script fails the deployment.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::deploy {

inline constexpr const char* kLifecycleEvents[] = {"ApplicationStop",  "BeforeInstall",   "AfterInstall",
                                                   "ApplicationStart", "ValidateService", "BeforeAllowTraffic",
                                                   "AfterAllowTraffic"};

struct HookScript {
  std::string location;  // relative to the bundle directory
  long long timeout_ms = 3'600'000;
};

struct AppSpec {
  std::map<std::string, std::vector<HookScript>> hooks;  // lifecycle event -> scripts
};

Result<AppSpec> ParseAppSpec(const std::string& text, const std::string& file);

// Runs the event's scripts in order in `cwd`; output lines go to `log`.
Status RunHook(const AppSpec& spec, const std::string& event, const std::string& cwd,
               const std::map<std::string, std::string>& env, const std::string& log_path);

}  // namespace gantry::deploy
