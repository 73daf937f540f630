// The CI server end to end in-process: real sockets, real git, real runs.
#include "server/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/sha256.h"
#include "server/context.h"
#include "server/executor.h"
#include "store/seal.h"
#include "store/store.h"

namespace gantry::server {
namespace {

using nlohmann::json;

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("gantry-server-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    StartServer();
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
    o.stop_grace_ms = 2000;
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
  json CallJson(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = Call(method, path, body.is_null() ? "" : body.dump());
    return json::parse(r.body, nullptr, false);
  }
  // Creates project `name` and pushes a repository with `workflow_yaml` to `branch`.
  void PushWorkflow(const std::string& name, const std::string& workflow_yaml, const std::string& branch = "main",
                    bool create = true) {
    if (create) {
      ASSERT_EQ(Call("POST", "/api/v1/projects", json{{"name", name}}.dump()).status, 201);
    }
    std::string repo = dir_ + "/src-" + name;
    ASSERT_TRUE(MakeDirs(repo + "/.github/workflows").ok());
    ASSERT_TRUE(WriteFileAtomic(repo + "/.github/workflows/ci.yml", workflow_yaml).ok());
    std::string url = "http://x:admin-token@" + base_.substr(7) + "/git/" + name + ".git";
    ASSERT_EQ(Sh("cd " + repo +
                 " && (git init -q -b main 2>/dev/null; true) && git add -A && git -c user.email=t@t -c "
                 "user.name=t commit -qm w && git push -q " +
                 url + " HEAD:refs/heads/" + branch + " 2>/dev/null"),
              0);
  }
  json WaitRun(int64_t id) {
    for (int i = 0; i < 600; ++i) {
      json run = CallJson("GET", "/api/v1/runs/" + std::to_string(id));
      if (run.value("status", "") == "completed") return run;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "run " << id << " did not complete";
    return json();
  }
  std::string dir_, base_;
  std::unique_ptr<CiServer> server_;
};

const char* kWorkflow = R"(name: CI
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      who:
        default: world
jobs:
  ok:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2]
    steps:
      - run: echo "hello ${{ matrix.n }} ${{ inputs.who }}"
  bad:
    runs-on: ubuntu-latest
    steps:
      - run: echo "attempt"; test -f /nonexistent-gantry-file
)";

TEST_F(ServerTest, PushTriggersMatchingWorkflowsAndStoresLogs) {
  PushWorkflow("app", kWorkflow);
  auto runs = CallJson("GET", "/api/v1/runs?project=app");
  ASSERT_EQ(runs["runs"].size(), 1u);
  json run = WaitRun(runs["runs"][0]["id"]);
  EXPECT_EQ(run["conclusion"], "failure");
  EXPECT_EQ(run["jobs"].size(), 3u);
  // The run's title is the commit's message, with its author and short sha.
  EXPECT_EQ(run["title"], "w");
  EXPECT_EQ(run["author"], "t");
  EXPECT_EQ(run["short_sha"], run["sha"].get<std::string>().substr(0, 7));
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?project=app&branch=main&workflow=CI")["runs"].size(), 1u);
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?branch=refs/heads/main&workflow=.github/workflows/ci.yml")["runs"].size(),
            1u);
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?branch=other")["runs"].size(), 0u);
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?workflow=Deploy")["runs"].size(), 0u);
  auto logs = Call("GET", "/api/v1/runs/" + std::to_string(run["id"].get<int64_t>()) + "/logs");
  EXPECT_NE(logs.body.find("hello 1 world"), std::string::npos) << logs.body;
  EXPECT_NE(logs.body.find("hello 2 world"), std::string::npos);
  // A push to a branch the workflow does not match starts nothing.
  PushWorkflow("app", std::string(kWorkflow) + "\n", "feature", false);
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?project=app")["runs"].size(), 1u);
}

// The push event carries `before` (the commit the ref moved from; zeros for a new branch),
// so workflows can diff what a push changed, as the example's deploy job does.
TEST_F(ServerTest, PushEventsCarryTheCommitBefore) {
  const std::string wf = R"(on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - run: echo "before=${{ github.event.before }} after=${{ github.event.after }} created=${{ github.event.created }}"
)";
  PushWorkflow("diff", wf);
  PushWorkflow("diff", wf + "# second\n", "main", false);
  auto runs = CallJson("GET", "/api/v1/runs?project=diff");
  ASSERT_EQ(runs["runs"].size(), 2u);
  json second = WaitRun(runs["runs"][0]["id"]), first = WaitRun(runs["runs"][1]["id"]);
  auto log_of = [&](const json& run) {
    return Call("GET", "/api/v1/runs/" + std::to_string(run["id"].get<int64_t>()) + "/logs").body;
  };
  std::string a = first["sha"], b = second["sha"];
  EXPECT_NE(log_of(first).find("before=" + std::string(40, '0') + " after=" + a + " created=true"), std::string::npos)
      << log_of(first);
  EXPECT_NE(log_of(second).find("before=" + a + " after=" + b + " created=false"), std::string::npos) << log_of(second);
}

// A page of log lines is sent zstd-compressed to clients that accept it (browsers do), and
// decompresses to exactly the plain response.
TEST_F(ServerTest, LogPagesAreCompressedForClientsThatAcceptZstd) {
  PushWorkflow("big", R"(name: Big
on: [push]
jobs:
  big:
    runs-on: ubuntu-latest
    steps:
      - run: for i in $(seq 1 2000); do echo "line $i of a long log"; done
)");
  json run = WaitRun(CallJson("GET", "/api/v1/runs?project=big")["runs"][0]["id"]);
  std::string path = "/api/v1/runs/" + std::to_string(run["id"].get<int64_t>()) + "/jobs/" +
                     std::to_string(run["jobs"][0]["id"].get<int64_t>()) + "/logs";
  auto plain = Call("GET", path);
  EXPECT_EQ(plain.Header("Content-Encoding"), "");
  ASSERT_NE(plain.body.find("line 2000 of a long log"), std::string::npos);
  auto fetch = [&](const std::string& accept) {
    auto r = http::Fetch(http::MakeRequest("GET", base_ + path, "",
                                           {{"Authorization", "Bearer admin-token"}, {"Accept-Encoding", accept}}));
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : http::ClientResponse{};
  };
  auto zstd = fetch("gzip, deflate, br, zstd");
  EXPECT_EQ(zstd.Header("Content-Encoding"), "zstd");
  EXPECT_LT(zstd.body.size() * 5, plain.body.size());
  auto back = store::Decompress(zstd.body);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, plain.body);
  EXPECT_EQ(fetch("gzip, zstd;q=0").Header("Content-Encoding"), "");
}

TEST_F(ServerTest, ReusableWorkflowsAreReadFromThePushedCommit) {
  std::string repo = dir_ + "/src-reuse";
  ASSERT_TRUE(MakeDirs(repo + "/.github/workflows").ok());
  ASSERT_TRUE(WriteFileAtomic(repo + "/.github/workflows/callee.yml", R"(on:
  workflow_call:
    inputs:
      who:
        type: string
jobs:
  callee:
    runs-on: ubuntu-latest
    steps:
      - run: echo "called by ${{ inputs.who }}"
)")
                  .ok());
  PushWorkflow("reuse", R"(on: push
jobs:
  caller:
    uses: ./.github/workflows/callee.yml
    with:
      who: the-caller
)");
  auto runs = CallJson("GET", "/api/v1/runs?project=reuse");
  ASSERT_EQ(runs["runs"].size(), 1u) << runs.dump();
  json run = WaitRun(runs["runs"][0]["id"]);
  EXPECT_EQ(run["conclusion"], "success") << run.dump();
  // The call itself and the called job, each completed.
  json called;
  for (const auto& job : run["jobs"]) {
    if (job["name"] == "caller / callee") called = job;
  }
  ASSERT_TRUE(called.is_object()) << run.dump();
  EXPECT_EQ(called["status"], "completed") << run.dump();
  EXPECT_EQ(called["conclusion"], "success") << run.dump();
  EXPECT_EQ(called["steps"].size(), 1u) << run.dump();
  auto logs = Call("GET", "/api/v1/runs/" + std::to_string(run["id"].get<int64_t>()) + "/logs");
  EXPECT_NE(logs.body.find("called by the-caller"), std::string::npos) << logs.body;
}

TEST_F(ServerTest, MirrorsFollowARemoteAndRecordFetchErrors) {
  std::string remote = dir_ + "/remote.git", work = dir_ + "/mirror-src";
  ASSERT_EQ(Sh("git init -q --bare " + remote), 0);
  ASSERT_TRUE(MakeDirs(work + "/.github/workflows").ok());
  ASSERT_TRUE(WriteFileAtomic(work + "/.github/workflows/ci.yml", R"(on:
  push:
    branches: [main]
    tags: ['v*']
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "mirrored ${{ github.ref }}"
)")
                  .ok());
  std::string git = "cd " + work + " && git -c user.email=t@t -c user.name=t ";
  ASSERT_EQ(
      Sh("cd " + work + " && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm a"),
      0);
  ASSERT_EQ(Sh(git + "push -q file://" + remote + " HEAD:refs/heads/main"), 0);
  auto runs_after = [&](size_t n) {
    json runs;
    for (int i = 0; i < 600; ++i) {
      runs = CallJson("GET", "/api/v1/runs?project=mirrored");
      if (runs["runs"].size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(runs["runs"].size(), n) << runs.dump();
    return runs;
  };
  ASSERT_EQ(Call("POST", "/api/v1/projects",
                 json{{"name", "mirrored"}, {"mirror", "file://" + remote}, {"poll", "1s"}}.dump())
                .status,
            201);
  json runs = runs_after(1);
  ASSERT_FALSE(runs["runs"].empty());
  EXPECT_EQ(WaitRun(runs["runs"][0]["id"])["conclusion"], "success");
  // A new commit and a tag upstream: both trigger, like pushes.
  ASSERT_EQ(Sh(git + "commit -q --allow-empty -m b && cd " + work + " && git tag v1 && git push -q file://" + remote +
               " HEAD:refs/heads/main refs/tags/v1"),
            0);
  runs = runs_after(3);
  json project = CallJson("GET", "/api/v1/projects/mirrored");
  EXPECT_EQ(project["mirror"]["url"], "file://" + remote);
  EXPECT_EQ(project["mirror"]["poll_s"], 1);
  EXPECT_EQ(project["refs"].size(), 2u) << project.dump();
  // A remote that cannot be fetched: a clear recorded error, the server keeps going.
  ASSERT_EQ(Call("POST", "/api/v1/projects",
                 json{{"name", "broken"}, {"mirror", "file://" + dir_ + "/missing.git"}, {"poll", 1}}.dump())
                .status,
            201);
  json broken;
  for (int i = 0; i < 600; ++i) {
    broken = CallJson("GET", "/api/v1/projects/broken");
    if (!broken["mirror"].value("last_error", "").empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(broken["mirror"].value("last_error", "").find("git fetch file://"), std::string::npos) << broken.dump();
  // Bad settings are refused.
  EXPECT_EQ(
      Call("POST", "/api/v1/projects", json{{"name", "x1"}, {"mirror", "--upload-pack=touch /tmp/x"}}.dump()).status,
      400);
  EXPECT_EQ(
      Call("POST", "/api/v1/projects", json{{"name", "x2"}, {"mirror", "file:///x"}, {"poll", "soon"}}.dump()).status,
      400);
}

TEST_F(ServerTest, DispatchWithInputsAndRerunOfFailedJobs) {
  PushWorkflow("app", kWorkflow);
  WaitRun(CallJson("GET", "/api/v1/runs")["runs"][0]["id"]);
  auto r = CallJson("POST", "/api/v1/projects/app/trigger", json{{"workflow", "ci.yml"}, {"inputs", {{"who", "bob"}}}});
  ASSERT_EQ(r["runs"].size(), 1u) << r.dump();
  int64_t id = r["runs"][0]["id"];
  json run = WaitRun(id);
  EXPECT_EQ(run["event"], "workflow_dispatch");
  EXPECT_NE(Call("GET", "/api/v1/runs/" + std::to_string(id) + "/logs").body.find("hello 1 bob"), std::string::npos);
  ASSERT_EQ(Call("POST", "/api/v1/runs/" + std::to_string(id) + "/rerun", R"({"failed_only":true})").status, 202);
  run = WaitRun(id);
  EXPECT_EQ(run["attempt"], 2);
  // The successful matrix jobs were kept; only `bad` ran again.
  int bad = 0, ok = 0;
  for (const auto& j : run["jobs"]) (j["key"] == "bad" ? bad : ok)++;
  EXPECT_EQ(bad, 1);
  EXPECT_EQ(ok, 2);
}

TEST_F(ServerTest, CancelStopsARunningRun) {
  PushWorkflow("app", R"(on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    steps:
      - run: echo started; sleep 60
)");
  int64_t id = CallJson("GET", "/api/v1/runs")["runs"][0]["id"];
  for (int i = 0; i < 300; ++i) {
    if (Call("GET", "/api/v1/runs/" + std::to_string(id) + "/logs").body.find("started") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(Call("POST", "/api/v1/runs/" + std::to_string(id) + "/cancel").status, 202);
  EXPECT_EQ(WaitRun(id)["conclusion"], "cancelled");
  auto audit = CallJson("GET", "/api/v1/audit");
  EXPECT_EQ(audit["audit"][0]["action"], "run.cancel");
}

TEST_F(ServerTest, ConcurrencyGroupCancelsTheRunInProgress) {
  const char* wf = R"(on: push
concurrency:
  group: deploy-${{ github.ref }}
  cancel-in-progress: true
jobs:
  slow:
    runs-on: ubuntu-latest
    steps:
      - run: echo started; sleep 60
)";
  PushWorkflow("app", wf);
  int64_t first = CallJson("GET", "/api/v1/runs")["runs"][0]["id"];
  PushWorkflow("app", std::string(wf) + "# second\n", "main", false);
  auto runs = CallJson("GET", "/api/v1/runs");
  ASSERT_EQ(runs["runs"].size(), 2u);
  int64_t second = runs["runs"][0]["id"];
  EXPECT_EQ(runs["runs"][0]["concurrency_group"], "deploy-refs/heads/main");
  json done = WaitRun(first);
  EXPECT_EQ(done["conclusion"], "cancelled");
  ASSERT_EQ(Call("POST", "/api/v1/runs/" + std::to_string(second) + "/cancel").status, 202);
  EXPECT_EQ(WaitRun(second)["conclusion"], "cancelled");
}

TEST_F(ServerTest, TokensAndRoles) {
  EXPECT_EQ(Call("GET", "/api/v1/projects", "", "").status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/projects", "", "wrong").status, 401);
  auto viewer = CallJson("POST", "/api/v1/tokens", json{{"name", "v"}, {"role", "viewer"}});
  std::string vt = viewer["token"];
  EXPECT_EQ(Call("GET", "/api/v1/projects", "", vt).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/projects", R"({"name":"x"})", vt).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/audit", "", vt).status, 403);
  ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"x"})").status, 201);
  EXPECT_EQ(Call("POST", "/api/v1/projects", R"({"name":"x"})").status, 409);
  // Pushing needs operator: the viewer token is refused by git.
  EXPECT_NE(Sh("cd " + dir_ +
               " && git init -q v && cd v && git -c user.email=t@t -c user.name=t commit -q "
               "--allow-empty -m x && git push -q http://x:" +
               vt + "@" + base_.substr(7) + "/git/x.git HEAD:main 2>/dev/null"),
            0);
  auto audit = CallJson("GET", "/api/v1/audit");
  ASSERT_GE(audit["audit"].size(), 2u);
  EXPECT_EQ(audit["audit"][0]["action"], "project.create");
}

TEST_F(ServerTest, SecretsAreWriteOnlyAndMasked) {
  ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"s"})").status, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/projects/s/secrets/TOKEN", R"({"value":"hunter2-secret"})").status, 200);
  auto list = Call("GET", "/api/v1/projects/s/secrets");
  EXPECT_NE(list.body.find("TOKEN"), std::string::npos);
  EXPECT_EQ(list.body.find("hunter2"), std::string::npos);
  PushWorkflow("s", R"(on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "value=${{ secrets.TOKEN }}"
)",
               "main", false);
  int64_t id = CallJson("GET", "/api/v1/runs")["runs"][0]["id"];
  WaitRun(id);
  auto logs = Call("GET", "/api/v1/runs/" + std::to_string(id) + "/logs").body;
  EXPECT_NE(logs.find("value=***"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("hunter2"), std::string::npos);
}

// A job with `environment: E` sees E's secrets over the project's (also when E comes from a
// matrix); other jobs see the project's; every value is masked.
TEST_F(ServerTest, EnvironmentSecretsOverrideProjectSecretsInTheirJobs) {
  ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"env"})").status, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/projects/env/secrets/DB", R"({"value":"shared-db-pass"})").status, 200);
  ASSERT_EQ(Call("PUT", "/api/v1/projects/env/secrets/DB", R"({"value":"prod-db-pass-123","environment":"production"})")
                .status,
            200);
  ASSERT_EQ(Call("PUT", "/api/v1/projects/env/secrets/ONLY", R"({"value":"prod-only-xyz","environment":"production"})")
                .status,
            200);
  EXPECT_EQ(CallJson("GET", "/api/v1/projects/env/secrets?environment=production")["secrets"].size(), 2u);
  PushWorkflow("env", R"(on: push
jobs:
  plain:
    runs-on: ubuntu-latest
    steps:
      - run: echo "plain len=${#DB} only=[${ONLY}]"
        env: {DB: "${{ secrets.DB }}", ONLY: "${{ secrets.ONLY }}"}
  deploy:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        env: [production, staging]
    environment: ${{ matrix.env }}
    steps:
      - run: echo "${{ matrix.env }} len=${#DB} only=${#ONLY} value=$DB"
        env: {DB: "${{ secrets.DB }}", ONLY: "${{ secrets.ONLY }}"}
)",
               "main", false);
  int64_t id = CallJson("GET", "/api/v1/runs?project=env")["runs"][0]["id"];
  EXPECT_EQ(WaitRun(id)["conclusion"], "success");
  auto logs = Call("GET", "/api/v1/runs/" + std::to_string(id) + "/logs").body;
  EXPECT_NE(logs.find("plain len=14 only=[]"), std::string::npos) << logs;
  EXPECT_NE(logs.find("production len=16 only=13 value=***"), std::string::npos) << logs;
  EXPECT_NE(logs.find("staging len=14 only=0 value=***"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("prod-db-pass"), std::string::npos);
  EXPECT_EQ(logs.find("shared-db-pass"), std::string::npos);
}

TEST_F(ServerTest, RefusesBadInput) {
  ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"app"})").status, 201);
  auto bad_json = Call("POST", "/api/v1/projects", R"({"name": )");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(bad_json.body.find("body:1:"), std::string::npos) << bad_json.body;
  EXPECT_EQ(Call("POST", "/api/v1/projects", std::string(200, '[') + std::string(200, ']')).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/projects", R"({"name":5})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/projects", R"({"name":"../etc"})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/projects", "{\"name\":\"" + std::string(2 << 20, 'a') + "\"}").status, 413);
  EXPECT_EQ(Call("GET", "/api/v1/runs/abc").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/runs/999").status, 404);
  EXPECT_EQ(Call("GET", "/git/..%2f..%2fetc/passwd").status, 400);
  EXPECT_EQ(Call("GET", "/git/nope.git/info/refs?service=git-upload-pack").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/%2e%2e/secret").status, 400);
}

TEST_F(ServerTest, WebhooksVerifySignaturesAndRecordRefusals) {
  PushWorkflow("app", kWorkflow);
  WaitRun(CallJson("GET", "/api/v1/runs")["runs"][0]["id"]);
  auto project = server_->store().FindProject("app");
  std::string secret = (*project)->webhook_secret;
  std::string sha = CallJson("GET", "/api/v1/projects/app")["refs"]["refs/heads/main"];
  std::string body = json{{"ref", "refs/heads/main"}, {"before", std::string(40, '0')}, {"after", sha}}.dump();
  auto post = [&](const http::Headers& h, const std::string& b) {
    return http::Fetch(http::MakeRequest("POST", base_ + "/hooks/app", b, h))->status;
  };
  EXPECT_EQ(post({{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}}, body), 401);
  EXPECT_EQ(post({{"X-GitHub-Event", "push"}}, body), 401);
  EXPECT_EQ(post({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "nope"}}, body), 401);
  EXPECT_EQ(post({}, body), 400);
  std::string garbage = "{not json";
  EXPECT_EQ(
      post({{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, garbage)}}, garbage),
      400);
  EXPECT_EQ(*server_->store().CountDeliveries(401), 3);
  EXPECT_EQ(post({{"X-Gitea-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, body)}}, body),
            200);
  EXPECT_EQ(post({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", secret}}, body), 200);
  EXPECT_EQ(CallJson("GET", "/api/v1/runs?project=app")["runs"].size(), 3u);
}

TEST_F(ServerTest, RunsInterruptedByACrashAreMarkedFailedOnRestart) {
  ASSERT_EQ(Call("POST", "/api/v1/projects", R"({"name":"app"})").status, 201);
  server_.reset();
  {
    auto store = store::Store::Open(dir_ + "/data");
    ASSERT_TRUE(store.ok());
    store::Run r;
    r.project_id = (*(*store)->FindProject("app"))->id;
    r.workflow = "ci.yml";
    auto run = (*store)->CreateRun(r);
    ASSERT_TRUE((*store)->SetRunStatus(run->id, "running").ok());
  }
  StartServer();
  json run = CallJson("GET", "/api/v1/runs/1");
  EXPECT_EQ(run["status"], "completed");
  EXPECT_EQ(run["conclusion"], "failure");
  EXPECT_NE(run["message"].get<std::string>().find("interrupted"), std::string::npos);
}

TEST(Cron, MatchesUtcFields) {
  std::time_t t = 1700000000;  // 2023-11-14 22:13:20 UTC, a Tuesday
  EXPECT_TRUE(CronMatches("* * * * *", t));
  EXPECT_TRUE(CronMatches("13 22 * * *", t));
  EXPECT_TRUE(CronMatches("*/13 22 14 11 2", t));
  EXPECT_TRUE(CronMatches("0-15 20-23 * * 1-5", t));
  EXPECT_FALSE(CronMatches("14 22 * * *", t));
  EXPECT_FALSE(CronMatches("13 22 * * 0", t));
  EXPECT_FALSE(CronMatches("bad", t));
  EXPECT_FALSE(CronMatches("61 * * * *", t));
}

TEST(Webhook, ParsesPushesAndRefusesForgeries) {
  std::string body = R"({"ref":"refs/tags/v1","before":"","after":")" + std::string(40, 'a') + R"("})";
  auto ok = ParseWebhook({{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("k", body)}},
                         body, "k");
  ASSERT_TRUE(ok.push.has_value()) << ok.reason;
  EXPECT_EQ(ok.push->ref, "refs/tags/v1");
  EXPECT_EQ(ParseWebhook({{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("j", body)}},
                         body, "k")
                .status,
            401);
  EXPECT_EQ(ParseWebhook({{"X-GitHub-Event", "ping"}, {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("k", "{}")}},
                         "{}", "k")
                .status,
            202);
  std::string bad = R"({"ref":"main","after":"x"})";
  EXPECT_EQ(ParseWebhook({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "k"}}, bad, "k").status, 400);
}

}  // namespace
}  // namespace gantry::server
