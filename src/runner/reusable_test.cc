// Reusable workflows (`jobs.<id>.uses: ./.github/workflows/x.yml`) end to end: inputs with
// types and defaults, secrets (mapped and inherited), outputs, nested names, needs.
#include <gtest/gtest.h>

#include "runner/runner_fixture.h"

namespace gantry::runner {
namespace {

class ReusableTest : public RunnerTest {
 protected:
  void SetUp() override {
    RunnerTest::SetUp();
    MakeDirs(dir_ + "/ws/.github/workflows");
    read_options_.load_called_workflow = workflow::LocalWorkflowLoader(dir_ + "/ws");
    WriteFileAtomic(dir_ + "/ws/.github/workflows/build.yml", R"Y(
on:
  workflow_call:
    inputs:
      target: { type: string, required: true }
      debug: { type: boolean, default: false }
      count: { type: number, default: 2 }
    secrets:
      token: { required: true }
    outputs:
      artifact:
        value: ${{ jobs.compile.outputs.file }}
jobs:
  compile:
    runs-on: ubuntu-latest
    outputs:
      file: ${{ steps.c.outputs.file }}
    steps:
      - id: c
        run: |
          test "${{ inputs.target }}/${{ inputs.debug }}/${{ inputs.count }}" = "${{ github.event_name == 'push' && 'linux/true/2' || 'x' }}"
          test "${{ secrets.token }}" = very-secret-value
          test -z "${{ secrets.TOKEN2 }}"
          case "$RUNNER_TEMP" in */call-build-*/compile-*) ;; *) exit 9 ;; esac
          echo "file=app-${{ inputs.target }}" >> "$GITHUB_OUTPUT"
  check:
    needs: compile
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.compile.outputs.file }}" = app-linux && test "$GITHUB_JOB" = check
)Y");
  }
};

TEST_F(ReusableTest, InputsSecretsOutputsAndNestedNames) {
  auto s = Run(R"Y(
on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
    with:
      target: linux
      debug: true
    secrets:
      token: ${{ secrets.TOKEN }}
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.build.outputs.artifact }}/${{ needs.build.result }}" = app-linux/success
)Y");
  std::string out = sink_.All();
  EXPECT_TRUE(s.success) << out;
  EXPECT_EQ(out.find("very-secret-value"), std::string::npos);
  ASSERT_EQ(s.instances.size(), 2u) << out;
  EXPECT_EQ(s.instances[0].outcome.outputs.at("artifact"), "app-linux");
}

TEST_F(ReusableTest, SecretsInheritAndFailurePropagates) {
  WriteFileAtomic(dir_ + "/ws/.github/workflows/fail.yml", R"Y(
on: workflow_call
jobs:
  inner:
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ secrets.TOKEN }}" = very-secret-value && exit 4
)Y");
  std::vector<std::string> started;
  configure_ = [&](RunnerOptions& o) {
    o.observer.job_started = [&](const engine::JobRun& r) { started.push_back(r.display_name); };
  };
  auto s = Run(R"Y(
on: push
jobs:
  caller:
    uses: ./.github/workflows/fail.yml
    secrets: inherit
  after:
    needs: caller
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: touch after-failure
)Y");
  std::string out = sink_.All();
  EXPECT_FALSE(s.success) << out;
  EXPECT_NE(out.find("exit code 4"), std::string::npos) << out;
  EXPECT_TRUE(PathExists(dir_ + "/ws/after-failure")) << out;
  EXPECT_EQ(started, (std::vector<std::string>{"caller / inner"}));
}

TEST_F(ReusableTest, ReadTimeErrorsWithPositions) {
  auto r = workflow::ReadWorkflow(R"Y(on: push
jobs:
  a:
    uses: ./.github/workflows/missing.yml
  b:
    uses: ./.github/workflows/build.yml
    with:
      target: x
      nope: 1
      count: many
  c:
    uses: ./.github/workflows/build.yml
    secrets:
      other: x
)Y",
                                  "w.yml", read_options_);
  std::string text = r.ErrorText();
  EXPECT_NE(text.find("w.yml:4:11: the called workflow './.github/workflows/missing.yml' was not found"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("w.yml:6:11: Secret token is required, but not provided while calling."), std::string::npos)
      << text;
  EXPECT_NE(text.find("w.yml:9:13: Invalid input, nope is not defined in the referenced workflow."), std::string::npos)
      << text;
  EXPECT_NE(text.find("w.yml:10:14: Unexpected value 'many'"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:12:11: Input target is required, but not provided while calling."), std::string::npos)
      << text;
  EXPECT_NE(text.find("w.yml:14:14: Invalid secret, other is not defined in the referenced workflow."),
            std::string::npos)
      << text;
  // A workflow calling itself stops at the nesting limit.
  WriteFileAtomic(dir_ + "/ws/.github/workflows/self.yml",
                  "on: workflow_call\njobs:\n  again:\n    uses: ./.github/workflows/self.yml\n");
  r = workflow::ReadWorkflow("on: push\njobs:\n  a:\n    uses: ./.github/workflows/self.yml\n", "w.yml", read_options_);
  EXPECT_NE(r.ErrorText().find("Nested reusable workflow depth exceeded"), std::string::npos) << r.ErrorText();
}

}  // namespace
}  // namespace gantry::runner
