#include "workflow/reader.h"

#include <gtest/gtest.h>

#include "base/fs.h"

namespace gantry::workflow {
namespace {

ReadResult Read(const std::string& yaml) { return ReadWorkflow(yaml, "w.yml"); }

TEST(Reader, ReadsATypicalWorkflow) {
  ReadResult r = Read(R"(name: CI
run-name: Deploy by ${{ github.actor }}
on:
  push:
    branches: [main, 'release/**']
    paths-ignore: ['docs/**']
  pull_request:
    types: [opened]
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [low, high]
        default: low
  schedule:
    - cron: '0 3 * * *'
env:
  A: 1
defaults:
  run:
    shell: bash
permissions: read-all
concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
jobs:
  build:
    name: Build ${{ matrix.os }}
    runs-on: [self-hosted, linux]
    timeout-minutes: 10
    strategy:
      fail-fast: false
      max-parallel: 2
      matrix:
        os: [a, b]
        node: [18, 20]
        include:
          - os: a
            extra: true
        exclude:
          - os: b
            node: 18
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps:
      - id: s
        run: echo v=1 >> $GITHUB_OUTPUT
        shell: bash
        env:
          X: ${{ matrix.os }}
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
  test:
    needs: build
    if: ${{ needs.build.outputs.v == '1' }}
    runs-on: ubuntu-latest
    continue-on-error: ${{ matrix.x == 1 }}
    container:
      image: alpine:3
    services:
      db:
        image: postgres
    steps:
      - run: echo ${{ needs.build.result }}
)");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.name->value, "CI");
  ASSERT_EQ(wf.on.size(), 4u);
  const Trigger* push = wf.FindTrigger("push");
  ASSERT_TRUE(push);
  EXPECT_EQ(*push->filter.branches, (std::vector<std::string>{"main", "release/**"}));
  EXPECT_FALSE(push->filter.tags);
  EXPECT_EQ(wf.FindTrigger("workflow_dispatch")->inputs[0].default_value->ToString(), "low");
  EXPECT_EQ(wf.FindTrigger("schedule")->crons, std::vector<std::string>{"0 3 * * *"});
  EXPECT_EQ(wf.env[0].second.value, "1");
  EXPECT_EQ(wf.permissions->all.value(), "read-all");
  ASSERT_EQ(wf.jobs.size(), 2u);
  const Job& build = wf.jobs[0];
  EXPECT_EQ(build.mark.line, 27);
  EXPECT_EQ(build.mark.column, 3);
  EXPECT_EQ(build.runs_on.size(), 2u);
  ASSERT_TRUE(build.strategy);
  EXPECT_EQ(build.strategy->dimensions.size(), 2u);
  EXPECT_EQ(build.strategy->dimensions[1].second[0].ToString(), "18");
  EXPECT_EQ(build.strategy->include.size(), 1u);
  EXPECT_EQ(build.strategy->fail_fast->value, "false");
  EXPECT_EQ(build.steps[0].id, "s");
  EXPECT_EQ(build.steps[1].id, "__actions_checkout");
  EXPECT_TRUE(build.steps[1].id_generated);
  EXPECT_EQ(build.steps[0].condition.value, "success()");
  const Job& test = wf.jobs[1];
  EXPECT_EQ(test.needs, std::vector<std::string>{"build"});
  EXPECT_TRUE(test.condition.has_expression);
  EXPECT_EQ(test.condition.mark.line, 56);
  EXPECT_EQ(test.container->image.value, "alpine:3");
  EXPECT_EQ(test.services[0].first, "db");
}

TEST(Reader, ReportsEveryErrorAtOnceWithPositions) {
  ReadResult r = Read(R"(on: push
jobs:
  a:
    runs-on: x
    bogus: 1
    steps:
      - run: echo
        id: same
      - run: echo
        id: same
  b:
    needs: [nope]
    steps:
      - run: echo
)");
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText();
  EXPECT_NE(text.find("w.yml:5:5: Unexpected value 'bogus'"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:10:13: The identifier 'same' may not be used more than once"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:12:5: Required property is missing: runs-on"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:12:13: Job 'b' depends on unknown job 'nope'."), std::string::npos) << text;
  EXPECT_EQ(r.errors.size(), 4u) << text;
  EXPECT_FALSE(r.workflow);
}

TEST(Reader, ReportsCyclesAndMissingStartNode) {
  ReadResult r = Read(
      "on: push\njobs:\n  a:\n    needs: b\n    runs-on: x\n    steps: [run: x]\n"
      "  b:\n    needs: a\n    runs-on: x\n    steps: [run: x]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("at least one job with no dependencies"), std::string::npos) << r.ErrorText();
  r = Read(
      "on: push\njobs:\n  s:\n    runs-on: x\n    steps: [run: x]\n  a:\n    needs: [s, b]\n    runs-on: x\n"
      "    steps: [run: x]\n  b:\n    needs: a\n    runs-on: x\n    steps: [run: x]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("which creates a cycle"), std::string::npos) << r.ErrorText();
}

TEST(Reader, ChecksExpressionsAndTheirContexts) {
  ReadResult r = Read(R"(on: push
jobs:
  a:
    runs-on: ${{ secrets.X }}
    if: github.ref == 'x' &&
    steps:
      - run: echo ${{ matrix.x
)");
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText();
  EXPECT_NE(text.find("w.yml:4:14:"), std::string::npos) << text;  // secrets not allowed in runs-on
  EXPECT_NE(text.find("w.yml:5:9:"), std::string::npos) << text;   // bad condition syntax
  EXPECT_NE(text.find("w.yml:7:14:"), std::string::npos) << text;  // unclosed ${{
  EXPECT_EQ(r.errors.size(), 3u) << text;
}

TEST(Reader, RejectsExpressionsWhereGitHubDoes) {
  ReadResult r = Read("name: ${{ github.ref }}\non: push\njobs:\n  a:\n    runs-on: x\n    steps: [run: x]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("w.yml:1:7: A template expression is not allowed in this context"), std::string::npos)
      << r.ErrorText();
}

TEST(Reader, ValidatesIdsAndMatrix) {
  ReadResult r = Read(R"(on: push
jobs:
  0bad:
    runs-on: x
    steps: [run: x]
  __reserved:
    runs-on: x
    steps: [run: x]
  m:
    runs-on: x
    strategy:
      matrix:
        os: []
        bad: 3
    steps: [run: x]
)");
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText();
  EXPECT_NE(text.find("w.yml:3:3: The identifier '0bad' is invalid."), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:6:3: The identifier '__reserved' is invalid. IDs starting with '__' are reserved."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Matrix vector 'os' does not contain any values"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:14:9: Unexpected value 'bad'"), std::string::npos) << text;
}

TEST(Reader, WrongTypesAndDuplicates) {
  ReadResult r = Read(R"(on: push
jobs:
  a:
    runs-on: x
    runs-on: y
    timeout-minutes: soon
    continue-on-error: maybe
    steps:
      not: a-sequence
)");
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText();
  EXPECT_NE(text.find("w.yml:5:5: 'runs-on' is already defined"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:6:22: Unexpected value 'soon'"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:7:24: Unexpected value 'maybe'"), std::string::npos) << text;
  EXPECT_NE(text.find("w.yml:9:7: A mapping was not expected"), std::string::npos) << text;
}

TEST(Reader, BadYamlIsOneErrorWithAPosition) {
  ReadResult r = Read("on: push\njobs:\n  a: [unclosed\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_GT(r.errors[0].mark.line, 0);
}

TEST(Reader, EnforcesLimits) {
  ReadOptions small;
  small.max_file_bytes = 10;
  EXPECT_NE(ReadWorkflow("on: push\njobs: {}\n", "w.yml", small).ErrorText().find("maximum file size"),
            std::string::npos);
  // Deep nesting inside a matrix value.
  std::string deep = "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n        v: [";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "]\n    steps: [run: x]\n";
  EXPECT_NE(Read(deep).ErrorText().find("Maximum object depth exceeded"), std::string::npos);
  // An alias bomb is bounded by the node budget.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  ReadResult r = Read(bomb);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("Maximum object size exceeded"), std::string::npos) << r.ErrorText();
}

TEST(Reader, GeneratesStepIdsAsGitHubDoes) {
  ReadResult r = Read(R"(on: push
jobs:
  a:
    runs-on: x
    steps:
      - uses: actions/checkout@v2
      - run: echo
      - uses: docker://alpine:latest
      - uses: actions/checkout@v3
      - run: echo
      - id: __run_3x
        run: echo
)");
  ASSERT_FALSE(r.ok());  // "__" ids are reserved for generated ones
  r = Read(
      "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v2\n      - run: echo\n"
      "      - uses: docker://alpine:latest\n      - uses: actions/checkout@v3\n      - run: echo\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  std::vector<std::string> ids;
  for (const Step& s : r.workflow->jobs[0].steps) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"__actions_checkout", "__run", "__alpine_latest", "__actions_checkout_2",
                                           "__run_2"}));
}

TEST(Reader, MissingFileIsADiagnostic) {
  ReadResult r = ReadWorkflowFile("/nonexistent/w.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].file, "/nonexistent/w.yml");
}

}  // namespace
}  // namespace gantry::workflow

// The reader names workflow keys for expr's context table; a typo would silently allow no
// context at all, so every key it uses must be in the table.
#include "expr/expr.h"
namespace gantry::workflow {
namespace {
TEST(Reader, EveryExpressionKeyIsInTheContextTable) {
  for (const char* key : {"run-name",
                          "concurrency",
                          "env",
                          "jobs.<job_id>.concurrency",
                          "jobs.<job_id>.container",
                          "jobs.<job_id>.container.credentials",
                          "jobs.<job_id>.container.env.<env_id>",
                          "jobs.<job_id>.container.image",
                          "jobs.<job_id>.continue-on-error",
                          "jobs.<job_id>.defaults.run",
                          "jobs.<job_id>.env",
                          "jobs.<job_id>.environment",
                          "jobs.<job_id>.environment.url",
                          "jobs.<job_id>.if",
                          "jobs.<job_id>.name",
                          "jobs.<job_id>.outputs.<output_id>",
                          "jobs.<job_id>.runs-on",
                          "jobs.<job_id>.secrets.<secrets_id>",
                          "jobs.<job_id>.services",
                          "jobs.<job_id>.services.<service_id>.credentials",
                          "jobs.<job_id>.services.<service_id>.env.<env_id>",
                          "jobs.<job_id>.steps.continue-on-error",
                          "jobs.<job_id>.steps.env",
                          "jobs.<job_id>.steps.if",
                          "jobs.<job_id>.steps.name",
                          "jobs.<job_id>.steps.run",
                          "jobs.<job_id>.steps.timeout-minutes",
                          "jobs.<job_id>.steps.with",
                          "jobs.<job_id>.steps.working-directory",
                          "jobs.<job_id>.strategy",
                          "jobs.<job_id>.timeout-minutes",
                          "jobs.<job_id>.with.<with_id>",
                          "on.workflow_call.inputs.<inputs_id>.default",
                          "on.workflow_call.outputs.<output_id>.value"}) {
    EXPECT_NE(expr::FindKeyAvailability(key), nullptr) << key;
  }
}
}  // namespace
}  // namespace gantry::workflow

namespace gantry::workflow {
namespace {
TEST(Reader, InsertDirective) {
  ReadResult r = Read(
      "on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      A: \"x ${{ insert }}\"\n      ${{ insert }}: ${{ "
      "github.ref }}\n    steps: [run: x]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("w.yml:6:10: The directive 'insert' is not allowed in this context."), std::string::npos)
      << r.ErrorText();
  EXPECT_EQ(r.errors.size(), 1u) << r.ErrorText();  // the insert key itself is accepted
  // Not where GitHub allows no directive (job keys), nor with a plain scalar value.
  r = Read(
      "on: push\njobs:\n  a:\n    runs-on: x\n    ${{ insert }}: ${{ github.ref }}\n    env:\n      ${{ insert }}: "
      "3\n    steps: [run: x]\n");
  EXPECT_NE(r.ErrorText().find("w.yml:5:5: The directive 'insert' is not allowed in this context"), std::string::npos)
      << r.ErrorText();
  EXPECT_NE(r.ErrorText().find("w.yml:7:22: The value of '${{ insert }}' must be a mapping or an expression"),
            std::string::npos)
      << r.ErrorText();
}

TEST(Reader, InsertKeepsExpressionAndMergesMappings) {
  ReadResult r = Read(
      "on: push\njobs:\n  a:\n    runs-on: x\n    env: ${{ fromJSON('{}') }}\n    strategy:\n      matrix:\n        "
      "a:\n"
      "        - k1: v1\n          ${{ insert }}:\n            k2: v2\n          ${{insert}}: ${{ fromJSON('{}') }}\n"
      "    steps:\n    - uses: ./x\n      with:\n        ${{ insert }}: ${{ github.event }}\n        b: c\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Job& job = r.workflow->jobs[0];
  ASSERT_EQ(job.env.size(), 1u);
  EXPECT_EQ(job.env[0].first, kInsertKey);
  EXPECT_EQ(job.env[0].second.value, "${{ fromJSON('{}') }}");
  const Literal& a = job.strategy->dimensions[0].second[0];
  ASSERT_EQ(a.members.size(), 3u);
  EXPECT_EQ(a.members[1].key, "k2");
  EXPECT_EQ(a.members[2].key, kInsertKey);
  EXPECT_EQ(job.steps[0].with[0].first, kInsertKey);
  // A bad expression in a matrix value is an error at read time.
  r = Read(
      "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n        a: ['${{ secrets.x }}']\n"
      "    steps: [run: x]\n");
  EXPECT_NE(r.ErrorText().find("w.yml:7:13:"), std::string::npos) << r.ErrorText();
}
}  // namespace
}  // namespace gantry::workflow
