// The `.gantry/*.yml` reader: good files, and bad ones reported as file:line:col.
#include "deploy/config.h"

#include <gtest/gtest.h>

#include "deploy/hooks.h"

namespace gantry::deploy {
namespace {

TEST(DeployConfig, ReadsServicesAndEnvironments) {
  ProjectConfig c;
  Status st = ParseConfigText(R"(
services:
  web:
    bundle: app
    command: [python3, app.py]
    instances: 3
    env: {GREETING: hi}
    secrets: [DB_PASSWORD]
    health_check: {path: /health, interval: 1s, timeout: 500ms, healthy_threshold: 3, matcher: "200-299"}
    listener: {host: web.local, path: /}
    strategy:
      type: canary
      steps:
        - set_weight: 20
        - pause: 5s
        - analysis: {}
        - pause: {}
    analysis: {interval: 2s, count: 4, success_rate: 0.995, p99_latency: 300ms, alarms: [web-5xx]}
    autoscaling: {min: 2, max: 6, target_cpu: 60}
environments:
  staging:
  production:
    required_approvals: 1
    allowed_branches: [main, "release/*"]
    instances: {web: 4}
)",
                              "gantry.yml", &c);
  ASSERT_TRUE(st.ok()) << st.message();
  const auto& web = c.services.at("web");
  EXPECT_EQ(web.instances, 3);
  EXPECT_EQ(web.command.size(), 2u);
  EXPECT_EQ(web.health_check.interval_ms, 1000);
  EXPECT_EQ(web.health_check.timeout_ms, 500);
  EXPECT_EQ(web.health_check.matcher_high, 299);
  EXPECT_EQ(web.strategy.type, "canary");
  ASSERT_EQ(web.strategy.steps.size(), 4u);
  EXPECT_EQ(web.strategy.steps[0].kind, StepKind::kSetWeight);
  EXPECT_EQ(web.strategy.steps[1].pause_ms, 5000);
  EXPECT_EQ(web.strategy.steps[3].pause_ms, -1);
  EXPECT_DOUBLE_EQ(web.analysis.min_success_rate, 0.995);
  EXPECT_EQ(web.analysis.alarms.at(0), "web-5xx");
  EXPECT_TRUE(web.autoscaling.enabled);
  EXPECT_EQ(web.autoscaling.target_cpu_percent, 60);
  EXPECT_EQ(web.autoscaling.scale_in_cooldown_ms, -1);  // the cooldown's
  EXPECT_EQ(web.autoscaling.interval_ms, 15'000);
  const auto* prod = c.FindEnvironment("production");
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(prod->required_approvals, 1);
  EXPECT_TRUE(BranchAllowed(*prod, "release/1.2"));
  EXPECT_FALSE(BranchAllowed(*prod, "feature/x"));
  EXPECT_TRUE(BranchAllowed(*c.FindEnvironment("staging"), "anything"));
}

TEST(DeployConfig, PresetsOfRolling) {
  ProjectConfig c;
  ASSERT_TRUE(ParseConfigText("services:\n  a: {command: x, strategy: {preset: HalfAtATime}}\n"
                              "  b: {command: x, strategy: {preset: OneAtATime}}\n",
                              "f.yml", &c)
                  .ok());
  EXPECT_EQ(c.services["a"].strategy.max_surge, 0);
  EXPECT_EQ(c.services["a"].strategy.max_unavailable, -50);
  EXPECT_EQ(c.services["b"].strategy.max_surge, 1);
}

std::string ErrorOf(const std::string& text) {
  ProjectConfig c;
  Status st = ParseConfigText(text, "bad.yml", &c);
  EXPECT_FALSE(st.ok()) << text;
  return st.message();
}

TEST(DeployConfig, ErrorsCarryFileLineColumn) {
  EXPECT_EQ(ErrorOf("services:\n  web:\n    command: x\n    instanses: 3\n"),
            "bad.yml:4:5: unknown key 'instanses' in service 'web' (expected one of: image, bundle, command, port, "
            "instances, env, secrets, health_check, listener, strategy, analysis, hooks, deregistration_delay, "
            "hook_timeout, sandbox, memory_limit, cpu_limit, autoscaling)");
  EXPECT_EQ(ErrorOf("services:\n  web:\n    command: x\n    instances: many\n"),
            "bad.yml:4:16: instances must be an integer");
  EXPECT_EQ(ErrorOf("services:\n  web:\n    command: x\n    instances: 1000\n"),
            "bad.yml:4:16: instances must be between 0 and 64");
  EXPECT_EQ(ErrorOf("services:\n  web:\n    command: x\n    health_check: {interval: soon}\n"),
            "bad.yml:4:30: health_check.interval must be a duration like 500ms, 5s or 2m");
  EXPECT_EQ(ErrorOf("services:\n  Web:\n    command: x\n"),
            "bad.yml:2:3: service name 'Web' must match [a-z][a-z0-9_-]{0,62}");
  EXPECT_EQ(ErrorOf("services:\n  web: {strategy: canary, command: x}\n"), "bad.yml:2:19: canary needs steps");
  EXPECT_EQ(ErrorOf("services:\n  web: {strategy: wobbly, command: x}\n"),
            "bad.yml:2:19: unknown strategy 'wobbly' (all-at-once, rolling, blue-green, canary)");
  EXPECT_EQ(ErrorOf("services:\n  web: {command: x, health_check: {matcher: 700}}\n"),
            "bad.yml:2:45: health_check.matcher must be a status code or a range like 200-299");
  EXPECT_EQ(ErrorOf("services: [\n"), "bad.yml:2:1: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("services:\n  web: {}\n"), "bad.yml:2:8: service 'web' needs a command (or an image)");
  EXPECT_EQ(ErrorOf("environments:\n  prod: {required_approvals: -1}\n"),
            "bad.yml:2:30: required_approvals must be between 0 and 10");
  EXPECT_EQ(ErrorOf("services:\n  web: {command: x, autoscaling: {min: 2, max: 4}}\n"),
            "bad.yml:2:34: autoscaling needs target_cpu or target_requests (what to track)");
  EXPECT_EQ(ErrorOf("services:\n  web: {command: x, autoscaling: {max: 4, target_cpu: 50, interval: 10ms}}\n"),
            "bad.yml:2:69: autoscaling.interval must be at least 100ms");
  EXPECT_EQ(ErrorOf("services:\n  web: {command: x, autoscaling: {max: 4, target_cpu: 50, scale_in_cooldown: x}}\n"),
            "bad.yml:2:78: autoscaling.scale_in_cooldown must be a duration like 500ms, 5s or 2m");
  EXPECT_EQ(ErrorOf(std::string(40, '[')), "bad.yml:1:1: nesting deeper than 32 levels");
  EXPECT_EQ(ErrorOf(std::string(kMaxConfigFileBytes + 1, '#')).substr(0, 28), "bad.yml:1:1: file is larger ");
}

TEST(DeployConfig, ReportsEveryErrorOfAFile) {
  const std::string e = ErrorOf("services:\n  web:\n    command: x\n    port: 0\n    sandbox: maybe\n");
  EXPECT_NE(e.find("bad.yml:4:11: port must be between 1 and 65535"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yml:5:14: sandbox must be true or false"), std::string::npos) << e;
}

TEST(DeployAppSpec, ReadsHooksAndRejectsUnknownEvents) {
  auto ok = ParseAppSpec("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n      timeout: 30\n",
                         "appspec.yml");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->hooks["BeforeInstall"].at(0).timeout_ms, 30000);
  auto bad = ParseAppSpec("hooks:\n  BeforeBreakfast:\n    - location: a.sh\n", "appspec.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "appspec.yml:2:3: unknown lifecycle event 'BeforeBreakfast'");
  EXPECT_EQ(ParseAppSpec("hooks:\n  BeforeInstall:\n    - {location: a.sh, timeout: soon}\n", "appspec.yml").error(),
            "appspec.yml:3:33: bad conversion");
  EXPECT_FALSE(ParseAppSpec(std::string(100, '['), "appspec.yml").ok());
}

}  // namespace
}  // namespace gantry::deploy
