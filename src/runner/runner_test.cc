// The Runner driven in-process by the engine's Scheduler, with real processes: the whole step
// protocol under the unit-test build (and so under ASan/UBSan in CI).
#include "runner/runner.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "base/fs.h"
#include "engine/engine.h"
#include "runner/runner_fixture.h"
#include "workflow/reader.h"

namespace gantry::runner {
namespace {

TEST_F(RunnerTest, EnvFilesOutputsAndCommands) {
  auto s = Run(R"Y(
on: push
env: { A: wf }
jobs:
  j:
    runs-on: ubuntu-latest
    env: { B: "${{ github.ref_name }}-job" }
    outputs: { o: "${{ steps.w.outputs.x }}" }
    steps:
      - id: w
        run: |
          echo "x=1" >> "$GITHUB_OUTPUT"
          printf 'M<<E\na\nb\nE\n' >> "$GITHUB_ENV"
          echo "::group::g1"
          echo "::warning file=f.c,line=7::careful"
          echo "::endgroup::"
          echo "::add-mask::masked-now"
          echo "see masked-now and very-secret-value"
      - run: test "$M" = "$(printf 'a\nb')" && test "$B" = main-job && test "$A" = wf && test "${{ steps.w.outputs.x }}" = 1
)Y");
  std::string out = sink_.All();
  ASSERT_TRUE(s.success) << out;
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(s.instances[0].outcome.outputs.at("o"), "1");
  EXPECT_NE(out.find("annotation warning f.c:7 careful"), std::string::npos) << out;
  EXPECT_NE(out.find("group g1"), std::string::npos);
  EXPECT_NE(out.find("| see *** and ***"), std::string::npos) << out;
  EXPECT_EQ(out.find("very-secret-value"), std::string::npos);
}

TEST_F(RunnerTest, ContinueOnErrorIfAndStepsContext) {
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: bad
        continue-on-error: true
        run: exit 2
      - run: test "${{ steps.bad.outcome }}/${{ steps.bad.conclusion }}" = failure/success
      - id: fails
        run: exit 1
      - run: echo not reached
      - if: failure()
        run: echo cleanup
)Y");
  std::string out = sink_.All();
  EXPECT_FALSE(s.success) << out;
  EXPECT_NE(out.find("| cleanup"), std::string::npos) << out;
  EXPECT_EQ(out.find("not reached"), std::string::npos) << out;
  EXPECT_NE(out.find("end failure/success"), std::string::npos) << out;
}

TEST_F(RunnerTest, CompositeActionWithInputsOutputsAndNesting) {
  MakeDirs(dir_ + "/ws/a/inner");
  WriteFileAtomic(dir_ + "/ws/a/action.yml", R"Y(
inputs: { who: { default: world } }
outputs: { said: { value: "${{ steps.n.outputs.said }}" } }
runs:
  using: composite
  steps:
    - id: n
      uses: ./a/inner
      with: { text: "hi ${{ inputs.who }}" }
)Y");
  WriteFileAtomic(dir_ + "/ws/a/inner/action.yaml", R"Y(
inputs: { text: {} }
outputs: { said: { value: "${{ steps.e.outputs.said }}" } }
runs:
  using: composite
  steps:
    - id: e
      shell: bash
      run: echo "said=${{ inputs.text }}" >> "$GITHUB_OUTPUT" && test -n "$GITHUB_ACTION_PATH"
)Y");
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: c
        uses: ./a
        with: { who: gantry }
      - run: test "${{ steps.c.outputs.said }}" = "hi gantry"
      - id: d
        uses: ./a
      - run: test "${{ steps.d.outputs.said }}" = "hi world"
)Y");
  EXPECT_TRUE(s.success) << sink_.All();
}

TEST_F(RunnerTest, CancelStopsTheRunningStep) {
  engine::CancelToken cancel;
  std::thread t = CancelWhenCreated(cancel, "started");
  auto s = Run(R"Y(
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: touch started; sleep 60
      - run: touch not-after-cancel
      - if: always()
        run: touch after
)Y",
               cancel);
  t.join();
  EXPECT_TRUE(s.cancelled || !s.success) << sink_.All();
  EXPECT_TRUE(PathExists(dir_ + "/ws/after")) << sink_.All();  // always() runs after a cancel
  EXPECT_FALSE(PathExists(dir_ + "/ws/not-after-cancel"));
}

TEST_F(RunnerTest, MissingActionAndContainerAreClearErrors) {
  auto s = Run(R"Y(
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: nobody/nothing@v1
  b:
    runs-on: ubuntu-latest
    container: alpine:3
    steps:
      - run: true
)Y");
  std::string out = sink_.All();
  EXPECT_FALSE(s.success);
  EXPECT_NE(out.find("nobody/nothing@v1"), std::string::npos) << out;
  EXPECT_NE(out.find("container engine"), std::string::npos) << out;
}

}  // namespace
}  // namespace gantry::runner
