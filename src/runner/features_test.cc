// Workflow features end to end through the Scheduler and the real Runner: `${{ insert }}`,
// status functions after cancellation and timeouts.
#include <gtest/gtest.h>

#include <thread>

#include "runner/runner_fixture.h"

namespace gantry::runner {
namespace {

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : std::string();
}

TEST_F(RunnerTest, InsertMergesMappingsIntoEnvWithAndMatrix) {
  MakeDirs(dir_ + "/ws/echo");
  WriteFileAtomic(dir_ + "/ws/echo/action.yml", R"Y(
inputs: { a: {}, b: {} }
runs:
  using: composite
  steps:
    - shell: bash
      run: test "${{ inputs.a }}/${{ inputs.b }}" = "1/two"
)Y");
  auto s = Run(R"Y(
on: push
env: ${{ fromJSON('{"W":"whole"}') }}
jobs:
  j:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        m:
          - k1: v1
            ${{ insert }}: { k2: v2 }
            ${{insert}}: ${{ fromJSON('{"k3":"v3"}') }}
    env:
      A: first
      ${{ insert }}: ${{ fromJSON('{"B":"b","A":"over"}') }}
    steps:
      - env:
          ${{ insert }}: ${{ matrix.m }}
        run: test "$W/$A/$B/$k1/$k2/$k3" = "whole/over/b/v1/v2/v3"
      - uses: ./echo
        with:
          ${{ insert }}: ${{ fromJSON('{"a":1}') }}
          b: two
)Y");
  EXPECT_TRUE(s.success) << sink_.All();
}

TEST_F(RunnerTest, InsertOfANonMappingFailsWithPosition) {
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    env:
      ${{ insert }}: ${{ github.ref }}
    steps:
      - run: true
)Y");
  std::string out = sink_.All();
  EXPECT_FALSE(s.success);
  EXPECT_NE(out.find("test.yml:7:22: env: the inserted value must be a mapping, got 'refs/heads/main'"),
            std::string::npos)
      << out;
}

TEST_F(RunnerTest, AfterCancelOnlyAlwaysAndCancelledStepsRun) {
  engine::CancelToken cancel;
  std::thread t = CancelWhenCreated(cancel, "started");
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: touch started; sleep 60
      - run: touch default-step
      - if: failure()
        run: touch failure-step
      - if: always()
        run: echo "${{ job.status }}" > always-step
      - if: cancelled()
        run: touch cancelled-step
  later:
    needs: j
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ needs.j.result }}" > later-job
)Y",
               cancel);
  t.join();
  std::string out = sink_.All();
  EXPECT_TRUE(s.cancelled) << out;
  auto text = ReadFile(dir_ + "/ws/always-step");
  ASSERT_TRUE(text.ok()) << out;
  EXPECT_EQ(*text, "cancelled\n");
  EXPECT_TRUE(PathExists(dir_ + "/ws/cancelled-step")) << out;
  EXPECT_FALSE(PathExists(dir_ + "/ws/default-step"));
  EXPECT_FALSE(PathExists(dir_ + "/ws/failure-step"));
  auto later = ReadFile(dir_ + "/ws/later-job");
  ASSERT_TRUE(later.ok()) << out;
  EXPECT_EQ(*later, "cancelled\n");
}

TEST_F(RunnerTest, TimeoutsAndContinueOnErrorAsOnGitHub) {
  auto s = Run(R"Y(
on: push
jobs:
  steps:
    runs-on: ubuntu-latest
    steps:
      - id: slow
        timeout-minutes: 0.005
        continue-on-error: true
        run: sleep 30
      - run: echo "${{ steps.slow.outcome }}/${{ steps.slow.conclusion }}" > step-timeout
  whole:
    runs-on: ubuntu-latest
    timeout-minutes: 0.005
    steps:
      - run: sleep 30
      - run: touch after-job-timeout
      - if: cancelled()
        run: echo "${{ job.status }}" > job-timeout-always
  allowed:
    runs-on: ubuntu-latest
    continue-on-error: true
    steps:
      - run: exit 3
  dependent:
    needs: [allowed]
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ needs.allowed.result }}" > allowed-result
)Y");
  std::string out = sink_.All();
  EXPECT_FALSE(s.success) << out;  // `whole` failed by its timeout
  EXPECT_EQ(Slurp(dir_ + "/ws/step-timeout"), "failure/success\n") << out;
  EXPECT_EQ(Slurp(dir_ + "/ws/job-timeout-always"), "cancelled\n") << out;
  EXPECT_FALSE(PathExists(dir_ + "/ws/after-job-timeout"));
  EXPECT_EQ(Slurp(dir_ + "/ws/allowed-result"), "success\n") << out;
  for (const auto& in : s.instances) {
    if (in.job_id == "whole") {
      EXPECT_EQ(in.outcome.result, engine::JobResult::kFailure);
    }
    if (in.job_id == "allowed") {
      EXPECT_TRUE(in.failure_allowed);
    }
  }
  EXPECT_NE(out.find("timeout-minutes"), std::string::npos) << out;
}

TEST_F(RunnerTest, UploadArtifactPatternsAndIfNoFilesFound) {
  auto s = Run(R"Y(
on: push
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p build/bin build/tmp docs && touch build/bin/app build/tmp/x.o build/app.map docs/guide.md
      - uses: actions/upload-artifact@v4
        with:
          name: pkg
          path: |
            build/**
            !build/tmp
            !**/*.map
            docs/*.md
      - uses: actions/upload-artifact@v4
        with:
          name: none
          path: nothing-here/*
      - id: err
        continue-on-error: true
        uses: actions/upload-artifact@v4
        with:
          name: none2
          path: nothing-here
          if-no-files-found: error
      - run: test "${{ steps.err.outcome }}" = failure
  down:
    needs: up
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: { name: pkg, path: got }
      - run: test "$(cd got && find . -type f | sort | tr '\n' ' ')" = "./build/bin/app ./docs/guide.md "
)Y");
  std::string out = sink_.All();
  EXPECT_TRUE(s.success) << out;
  EXPECT_NE(out.find("annotation warning :0 No files were found with the provided path: nothing-here/*"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace gantry::runner
