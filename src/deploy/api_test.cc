// The deployment API through a real HTTP server on 127.0.0.1 (no load balancer: the
// controller decides on instance health alone, as in standalone mode).
#include "deploy/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/http_server.h"
#include "deploy/local_fleet.h"
#include "deploy/test_app.h"

namespace gantry::deploy {
namespace {

using Json = nlohmann::json;

TEST(DeployApi, DeployApproveStatusHistoryAndBadInput) {
  const std::string dir = *MakeTempDir("gantry-deploy-api");
  ASSERT_TRUE(WriteFileAtomic(dir + "/app.py", testing::kTestAppPy).ok());
  ProjectConfig config;
  ASSERT_TRUE(ParseConfigText("services:\n  web:\n    command: [/usr/bin/python3, app.py]\n    instances: 1\n"
                              "    health_check: {path: /health, interval: 100ms, timeout: 80ms}\n"
                              "environments:\n  production: {required_approvals: 1}\n",
                              "g.yml", &config)
                  .ok());
  auto store = OpenSqliteStateStore(dir + "/deploy.db").value();
  auto fleet = LocalFleet::Open(dir).value();
  ControllerOptions o;
  o.store = store.get();
  o.target = fleet.get();
  o.project_dir = dir;
  Controller controller(o);
  controller.SetConfig(config);
  http::Server server;
  ASSERT_TRUE(server.Start(MakeDeployApi(&controller)).ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto call = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    auto r = http::Fetch(http::MakeRequest(method, base + path, body));
    EXPECT_TRUE(r.ok());
    return *r;
  };

  auto created = call("POST", "/api/v1/deployments", R"({"service":"web","environment":"production","revision":"v1"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const long long id = Json::parse(created.body)["id"];
  EXPECT_EQ(Json::parse(created.body)["state"], "waiting_approval");
  auto again = call("POST", "/api/v1/deployments", R"({"service":"web","environment":"production","revision":"v2"})");
  EXPECT_EQ(again.status, 409) << again.body;
  auto approved = call("POST", "/api/v1/services/web/production/approve", R"({"user":"alice"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Json::parse(approved.body)["state"], "running");
  auto done = controller.RunUntilSettled(id);
  EXPECT_EQ(done->state, DeploymentState::kSucceeded);
  auto status = call("GET", "/api/v1/services/web/production");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(Json::parse(status.body)["stable_revision"], "v1");
  EXPECT_EQ(Json::parse(status.body)["instances"].size(), 1u);
  auto history = call("GET", "/api/v1/deployments?service=web&environment=production");
  EXPECT_EQ(Json::parse(history.body)["deployments"].size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/deployments/" + std::to_string(id)).status, 200);

  EXPECT_EQ(call("GET", "/api/v1/deployments/999").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/deployments/x1").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/deployments", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/deployments", "[1]").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/deployments", R"({"service":"web"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/deployments", std::string(kMaxApiBodyBytes + 10, ' ')).status, 400);
  EXPECT_EQ(
      call("POST", "/api/v1/deployments", R"({"service":"nope","environment":"production","revision":"1"})").status,
      404);
  EXPECT_EQ(call("POST", "/api/v1/services/web/production/promote").status, 404);  // nothing active
  EXPECT_EQ(call("POST", "/api/v1/services/web/production/dance").status, 404);

  server.Stop();
  fleet->StopAll();
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace gantry::deploy
