// Remote actions fetched with real git from a local bare repository (file://), cached per ref.
#include "runner/action_fetch.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "base/strings.h"
#include "runner/runner_fixture.h"

namespace gantry::runner {
namespace {

class ActionFetchTest : public RunnerTest {
 protected:
  void SetUp() override {
    RunnerTest::SetUp();
    std::string src = dir_ + "/src";
    MakeDirs(src + "/js");
    WriteFileAtomic(src + "/action.yml", R"Y(
inputs: { who: { default: world } }
outputs: { said: { value: "${{ steps.s.outputs.said }}" } }
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: echo "said=hello ${{ inputs.who }} from $(cat "$GITHUB_ACTION_PATH/version")" >> "$GITHUB_OUTPUT"
)Y");
    WriteFileAtomic(src + "/version", "v1\n");
    WriteFileAtomic(src + "/js/action.yml", "inputs: { n: {} }\nruns:\n  using: node20\n  main: main.js\n");
    WriteFileAtomic(
        src + "/js/main.js",
        "const fs = require('fs');\n"
        "fs.appendFileSync(process.env.GITHUB_OUTPUT, 'twice=' + 2 * Number(process.env.INPUT_N) + '\\n');\n");
    std::string script =
        "set -e; cd '" + src + "'; export GIT_CONFIG_NOSYSTEM=1 HOME='" + dir_ +
        "'; git init -q -b main . && git add -A && git -c user.name=t -c user.email=t@t commit -q -m one && "
        "git tag v1 && git rev-parse HEAD > ../sha1 && echo v2 > version && "
        "git -c user.name=t -c user.email=t@t commit -q -am two && "
        "mkdir -p ../remote/acme && git clone -q --bare . ../remote/acme/greet.git";
    ASSERT_EQ(std::system(("bash -c \"" + script + "\" >/dev/null 2>&1").c_str()), 0);
    auto sha = ReadFile(dir_ + "/sha1");
    ASSERT_TRUE(sha.ok());
    sha1_ = std::string(Trim(*sha));
    configure_ = [this](RunnerOptions& o) {
      o.actions_url = "file://" + dir_ + "/remote";
      o.action_cache = dir_ + "/cache";
    };
  }
  std::string sha1_;
};

TEST_F(ActionFetchTest, CompositeAndNodeActionsAtTagsBranchesAndCommits) {
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: tag
        uses: acme/greet@v1
        with: { who: gantry }
      - id: branch
        uses: acme/greet@main
      - id: node
        uses: acme/greet/js@v1
        with: { n: 21 }
      - run: |
          test "${{ steps.tag.outputs.said }}" = "hello gantry from v1"
          test "${{ steps.branch.outputs.said }}" = "hello world from v2"
          test "${{ steps.node.outputs.twice }}" = 42
)Y" + std::string("      - uses: acme/greet@") +
               sha1_ + "\n");
  std::string out = sink_.All();
  EXPECT_TRUE(s.success) << out;
  EXPECT_TRUE(PathExists(dir_ + "/cache/acme/greet@v1/action.yml"));
  EXPECT_TRUE(PathExists(dir_ + "/cache/acme/greet@main/action.yml"));
  EXPECT_TRUE(PathExists(dir_ + "/cache/acme/greet@" + sha1_ + "/action.yml"));
}

TEST_F(ActionFetchTest, CachedPerRefAndClearErrors) {
  ActionFetchOptions o{"file://" + dir_ + "/remote", dir_ + "/cache", "/usr/local/bin:/usr/bin:/bin", nullptr};
  auto first = FetchRemoteRepository(o, "acme", "greet", "v1");
  ASSERT_TRUE(first.ok()) << first.error();
  // Served from the cache once fetched, even when the remote is gone.
  RemoveAll(dir_ + "/remote");
  auto again = FetchRemoteRepository(o, "acme", "greet", "v1");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *first);
  auto missing = FetchRemoteRepository(o, "acme", "nothing", "v1");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("acme/nothing@v1"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("/remote/acme/nothing.git"), std::string::npos) << missing.error();
  EXPECT_FALSE(FetchRemoteRepository(o, "..", "greet", "v1").ok());
  EXPECT_FALSE(FetchRemoteRepository(o, "acme", "greet", "--upload-pack=x").ok());
}

}  // namespace
}  // namespace gantry::runner
