// Jobs of protected environments in a real server: real git pushes, real runs, the API.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "server/server.h"
#include "store/store.h"

namespace gantry::server {
namespace {

using nlohmann::json;

const char* kEnvironments = R"(environments:
  production:
    required_approvals: 2
    allowed_branches: [main]
  staging: {}
)";

// deploy waits for production; notify needs it; lint does not and runs meanwhile.
const char* kWorkflow = R"(on: push
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.v.outputs.version }}
    steps:
      - id: v
        run: echo "built once"; echo "version=1.2.3" >> "$GITHUB_OUTPUT"
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: production
      url: https://example.test
    steps:
      - run: echo "deploying ${{ needs.build.outputs.version }}"
  notify:
    needs: deploy
    runs-on: ubuntu-latest
    steps:
      - run: echo "notified"
  lint:
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: echo "lint ok"
)";

class ApprovalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("gantry-approval-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    StartServer();
    ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"app"})").status, 201);
    auto bob = CallJson("POST", "/api/v1/tokens", json{{"name", "bob"}, {"role", "operator"}});
    bob_ = bob.value("token", "");
    auto viewer = CallJson("POST", "/api/v1/tokens", json{{"name", "vera"}, {"role", "viewer"}});
    viewer_ = viewer.value("token", "");
  }
  void TearDown() override {
    server_.reset();
    (void)RemoveAll(dir_);
  }
  void StartServer() {
    ServerOptions o;
    o.data_dir = dir_ + "/data";
    o.listen = "127.0.0.1:0";
    o.admin_token = "admin-token";
    o.stop_grace_ms = 300;
    o.approval_poll_ms = 50;
    o.executors = 1;  // a run waiting for approvals lends its slot: others still run
    if (approval_timeout_s_ > 0) o.approval_timeout_s = approval_timeout_s_;
    auto s = CiServer::Create(o);
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
    base_ = server_->url();
  }
  http::ClientResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                            const std::string& token = "admin-token") {
    http::Headers h;
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    auto r = http::Fetch(http::MakeRequest(method, base_ + path, body, h));
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : http::ClientResponse{};
  }
  json CallJson(const std::string& method, const std::string& path, const json& body = nullptr,
                const std::string& token = "admin-token") {
    auto r = Call(method, path, body.is_null() ? "" : body.dump(), token);
    return json::parse(r.body, nullptr, false);
  }
  // Pushes the workflow and the environments to `branch`; returns the new run's id.
  int64_t Push(const std::string& branch) {
    std::string repo = dir_ + "/src";
    EXPECT_TRUE(MakeDirs(repo + "/.github/workflows").ok());
    EXPECT_TRUE(MakeDirs(repo + "/.gantry").ok());
    EXPECT_TRUE(WriteFileAtomic(repo + "/.github/workflows/ci.yml", kWorkflow).ok());
    EXPECT_TRUE(WriteFileAtomic(repo + "/.gantry/environments.yml", kEnvironments).ok());
    EXPECT_TRUE(WriteFileAtomic(repo + "/change.txt", branch + std::to_string(++pushes_)).ok());
    std::string url = "http://x:admin-token@" + base_.substr(7) + "/git/app.git";
    EXPECT_EQ(std::system(("cd " + repo +
                           " && (git init -q -b main 2>/dev/null; true) && git add -A && git -c user.email=t@t -c "
                           "user.name=t commit -qm w && git push -qf " +
                           url + " HEAD:refs/heads/" + branch + " 2>/dev/null")
                              .c_str()),
              0);
    auto runs = CallJson("GET", "/api/v1/runs?project=app");
    return runs["runs"].empty() ? 0 : runs["runs"][0]["id"].get<int64_t>();
  }
  std::string RunPath(int64_t id, const std::string& tail = "") { return "/api/v1/runs/" + std::to_string(id) + tail; }
  json Job(const json& run, const std::string& key) {
    if (!run.is_object() || !run.contains("jobs")) return json::object();
    for (const auto& j : run["jobs"])
      if (j["key"] == key) return j;
    return json::object();
  }
  // Waits until the run's job `key` waits for approval (the API shows it pending).
  json WaitForGate(int64_t id, const std::string& key) {
    for (int i = 0; i < 600; ++i) {
      json run = CallJson("GET", RunPath(id));
      json job = Job(run, key);
      if (job.value("status", "") == "waiting" && job.contains("approval")) return run;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << key << " of run " << id << " never waited";
    return json();
  }
  json WaitRun(int64_t id) {
    for (int i = 0; i < 600; ++i) {
      json run = CallJson("GET", RunPath(id));
      if (run.value("status", "") == "completed") return run;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "run " << id << " did not complete";
    return json();
  }
  http::ClientResponse Decide(int64_t id, bool approve, const std::string& token, const std::string& comment = "") {
    return Call("POST", RunPath(id, "/approvals"),
                json{{"environment", "production"}, {"approve", approve}, {"comment", comment}}.dump(), token);
  }

  std::string dir_, base_, bob_, viewer_;
  int pushes_ = 0;
  int approval_timeout_s_ = 0;  // 0: the default
  std::unique_ptr<CiServer> server_;
};

TEST_F(ApprovalTest, JobWaitsForTwoDistinctApproversThenRuns) {
  int64_t id = Push("main");
  json run = WaitForGate(id, "deploy");
  json gate = Job(run, "deploy")["approval"];
  EXPECT_EQ(gate["environment"], "production");
  EXPECT_EQ(gate["required"], 2);
  EXPECT_EQ(gate["approved"], 0);
  EXPECT_EQ(run["status"], "running");
  EXPECT_EQ(run["waiting_for"], json::array({"production"}));
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?project=app")["runs"][0]["waiting_for"], json::array({"production"}));
  EXPECT_EQ(Job(run, "build")["conclusion"], "success");
  // A job of an unprotected environment, and one not needing the gate, are not held.
  for (int i = 0; i < 200 && Job(run, "lint").value("conclusion", "") != "success"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    run = CallJson("GET", RunPath(id));
  }
  EXPECT_EQ(Job(run, "lint")["conclusion"], "success");
  EXPECT_TRUE(Job(run, "notify").empty());  // not decided while what it needs waits

  json pending = CallJson("GET", RunPath(id, "/approvals"));
  ASSERT_EQ(pending["pending"].size(), 1u) << pending.dump();
  EXPECT_EQ(pending["pending"][0]["job"], "deploy");
  EXPECT_EQ(pending["pending"][0]["required"], 2);
  json all = CallJson("GET", "/api/v1/approvals", nullptr, viewer_);
  ASSERT_EQ(all["pending"].size(), 1u) << all.dump();
  EXPECT_EQ(all["pending"][0]["run"], id);
  EXPECT_EQ(all["pending"][0]["project"], "app");

  // Viewers and the run's own steps cannot decide; bad bodies are refused with a reason.
  EXPECT_EQ(Decide(id, true, viewer_).status, 403);
  EXPECT_EQ(Call("POST", RunPath(id, "/approvals"), R"({"environment":"production"})").status, 400);
  EXPECT_EQ(Call("POST", RunPath(id, "/approvals"), R"({"environment":"prod","approve":true})").status, 409);
  EXPECT_EQ(Call("POST", RunPath(id, "/approvals"), R"({"approve":)").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/runs/999/approvals", R"({"approve":true})").status, 404);

  auto first = Decide(id, true, "admin-token", "looks good");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["approved"], 1);
  // The same user twice is still one approver.
  EXPECT_EQ(Decide(id, true, "admin-token").status, 409);
  EXPECT_EQ(Job(CallJson("GET", RunPath(id)), "deploy")["status"], "waiting");

  // The environment may be left out when only one waits.
  auto second = Call("POST", RunPath(id, "/approvals"), R"({"approve":true})", bob_);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(json::parse(second.body)["approved"], 2);
  run = WaitRun(id);
  EXPECT_EQ(run["conclusion"], "success") << run.dump();
  EXPECT_EQ(Job(run, "notify")["conclusion"], "success");
  EXPECT_TRUE(run["waiting_for"].empty());
  auto logs = Call("GET", RunPath(id, "/logs")).body;
  EXPECT_NE(logs.find("deploying 1.2.3"), std::string::npos) << logs;

  json decisions = CallJson("GET", RunPath(id, "/approvals"));
  EXPECT_TRUE(decisions["pending"].empty());
  ASSERT_EQ(decisions["approvals"].size(), 2u);
  EXPECT_EQ(decisions["approvals"][0]["user"], "admin (GANTRY_ADMIN_TOKEN)");
  EXPECT_EQ(decisions["approvals"][0]["comment"], "looks good");
  EXPECT_EQ(decisions["approvals"][1]["user"], "bob");
  EXPECT_EQ(decisions["approvals"][1]["jobs"], "deploy");
  // Approving is audit-logged.
  auto audit = CallJson("GET", "/api/v1/audit");
  int approvals = 0;
  for (const auto& e : audit["audit"])
    if (e.value("action", "") == "run.approve") ++approvals;
  EXPECT_EQ(approvals, 2) << audit.dump();
}

TEST_F(ApprovalTest, RejectionFailsTheJobAndSkipsDependantsAndOtherBranchesAreRefused) {
  int64_t main_run = Push("main");
  WaitForGate(main_run, "deploy");
  // A branch outside allowed_branches fails at once; its other jobs still run.
  int64_t feature_run = Push("feature");
  ASSERT_NE(feature_run, main_run);
  json feature = WaitRun(feature_run);
  EXPECT_EQ(feature["conclusion"], "failure");
  EXPECT_EQ(Job(feature, "deploy")["conclusion"], "failure");
  EXPECT_EQ(Job(feature, "notify")["conclusion"], "skipped");
  EXPECT_EQ(Job(feature, "lint")["conclusion"], "success");
  EXPECT_NE(feature["message"].get<std::string>().find(
                "Branch feature is not allowed to deploy to production due to environment protection rules"),
            std::string::npos)
      << feature["message"];

  auto rejected = Decide(main_run, false, bob_, "not on a Friday");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  json run = WaitRun(main_run);
  EXPECT_EQ(run["conclusion"], "failure");
  EXPECT_EQ(Job(run, "deploy")["conclusion"], "failure");
  EXPECT_EQ(Job(run, "notify")["conclusion"], "skipped");
  EXPECT_NE(run["message"].get<std::string>().find("deploy: rejected by bob: not on a Friday"), std::string::npos)
      << run["message"];
  auto job_logs =
      Call("GET", RunPath(main_run, "/jobs/" + std::to_string(Job(run, "deploy")["id"].get<int64_t>()) + "/logs"));
  EXPECT_NE(job_logs.body.find("rejected by bob"), std::string::npos) << job_logs.body;
  // Nothing waits any more: a late decision is refused.
  EXPECT_EQ(Decide(main_run, true, "admin-token").status, 409);
}

TEST_F(ApprovalTest, AJobWaitingLongerThanTheTimeoutFails) {
  approval_timeout_s_ = 1;
  server_.reset();
  StartServer();
  int64_t id = Push("main");
  WaitForGate(id, "deploy");
  json run = WaitRun(id);
  EXPECT_EQ(run["conclusion"], "failure");
  EXPECT_EQ(Job(run, "deploy")["conclusion"], "failure");
  EXPECT_NE(run["message"].get<std::string>().find("no approval for environment production within 1s"),
            std::string::npos)
      << run["message"];
}

TEST_F(ApprovalTest, CancelEndsAWaitingJob) {
  int64_t id = Push("main");
  WaitForGate(id, "deploy");
  ASSERT_EQ(Call("POST", RunPath(id, "/cancel")).status, 202);
  json run = WaitRun(id);
  EXPECT_EQ(run["conclusion"], "cancelled");
  EXPECT_EQ(Job(run, "deploy")["conclusion"], "cancelled");
  EXPECT_EQ(Job(run, "deploy")["status"], "completed");
}

TEST_F(ApprovalTest, ApprovalsAndTheWaitingJobSurviveARestart) {
  int64_t id = Push("main");
  WaitForGate(id, "deploy");
  ASSERT_EQ(Decide(id, true, bob_, "one of two").status, 200);
  server_.reset();  // a graceful stop: the waiting job stays waiting
  StartServer();
  json run = WaitForGate(id, "deploy");
  EXPECT_EQ(Job(run, "deploy")["approval"]["approved"], 1) << run.dump();
  EXPECT_EQ(run["status"], "running");
  ASSERT_EQ(Decide(id, true, "admin-token").status, 200);
  run = WaitRun(id);
  EXPECT_EQ(run["conclusion"], "success") << run.dump();
  // build ran once: the resumed run kept its result and outputs.
  int builds = 0;
  for (const auto& j : run["jobs"])
    if (j["key"] == "build") ++builds;
  EXPECT_EQ(builds, 1);
  auto logs = Call("GET", RunPath(id, "/logs")).body;
  EXPECT_NE(logs.find("deploying 1.2.3"), std::string::npos) << logs;
  EXPECT_EQ(CallJson("GET", RunPath(id, "/approvals"))["approvals"].size(), 2u);
}

// A server killed while a job waits (no graceful stop) resumes the run too: the crash policy
// queues a run with a waiting job instead of failing it.
TEST_F(ApprovalTest, ACrashWhileAJobWaitsResumesTheRun) {
  int64_t id = Push("main");
  WaitForGate(id, "deploy");
  server_.reset();
  {
    // What a crash leaves: the run still "running", its job "waiting".
    auto store = store::Store::Open(dir_ + "/data");
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE((*store)->SetRunStatus(id, "running").ok());
    auto jobs = (*store)->ListJobs(id);
    for (const auto& j : *jobs) {
      if (j.job_key == "deploy") {
        EXPECT_EQ(j.status, "waiting");
      }
    }
  }
  StartServer();
  WaitForGate(id, "deploy");
  ASSERT_EQ(Decide(id, false, bob_).status, 200);
  json run = WaitRun(id);
  EXPECT_EQ(run["conclusion"], "failure");
  EXPECT_EQ(Job(run, "notify")["conclusion"], "skipped");
}

}  // namespace
}  // namespace gantry::server
