#include <gtest/gtest.h>

#include "engine/engine.h"
#include "workflow/reader.h"

namespace gantry::engine {
namespace {

expr::Value Json(const std::string& s) {
  Result<expr::Value> v = expr::Value::FromJson(s);
  EXPECT_TRUE(v.ok()) << v.error();
  return v.ok() ? *v : expr::Value();
}

std::vector<std::string> Expand(const std::string& matrix_json) {
  Result<std::vector<expr::Value>> r = ExpandMatrix(Json(matrix_json));
  if (!r.ok()) return {"error: " + r.error()};
  std::vector<std::string> out;
  for (const auto& c : *r) out.push_back(c.ToJson(false));
  return out;
}

TEST(Matrix, ProductInKeyOrder) {
  EXPECT_EQ(Expand(R"({"os":["a","b"],"v":[1,2]})"),
            (std::vector<std::string>{R"({"os":"a","v":1})", R"({"os":"a","v":2})", R"({"os":"b","v":1})",
                                      R"({"os":"b","v":2})"}));
}

// The example of GitHub's documentation for include.
TEST(Matrix, IncludeExtendsOrAddsAsGitHubDocuments) {
  EXPECT_EQ(Expand(R"({"fruit":["apple","pear"],"animal":["cat","dog"],"include":[
      {"color":"green"},
      {"color":"pink","animal":"cat"},
      {"fruit":"apple","shape":"circle"},
      {"fruit":"banana"},
      {"fruit":"banana","animal":"cat"}]})"),
            (std::vector<std::string>{
                R"({"fruit":"apple","animal":"cat","color":"pink","shape":"circle"})",
                R"({"fruit":"apple","animal":"dog","color":"green","shape":"circle"})",
                R"({"fruit":"pear","animal":"cat","color":"pink"})",
                R"({"fruit":"pear","animal":"dog","color":"green"})",
                R"({"fruit":"banana"})",
                R"({"fruit":"banana","animal":"cat"})",
            }));
}

TEST(Matrix, ExcludeRemovesPartialMatchesBeforeInclude) {
  EXPECT_EQ(
      Expand(R"({"os":["a","b"],"v":[1,2],"exclude":[{"os":"b","v":1},{"v":2,"os":"a"}],
                       "include":[{"os":"b","v":1,"extra":true}]})"),
      (std::vector<std::string>{R"({"os":"a","v":1})", R"({"os":"b","v":2})", R"({"os":"b","v":1,"extra":true})"}));
  EXPECT_EQ(Expand(R"({"os":["a"],"exclude":[{"os":"a"}]})")[0].substr(0, 6), "error:");
}

TEST(Matrix, OnlyIncludeAndObjectValues) {
  EXPECT_EQ(Expand(R"({"include":[{"a":1},{"a":2}]})"), (std::vector<std::string>{R"({"a":1})", R"({"a":2})"}));
  EXPECT_EQ(Expand(R"({"cfg":[{"x":1},{"x":2}],"exclude":[{"cfg":{"x":1}}]})"),
            (std::vector<std::string>{R"({"cfg":{"x":2}})"}));
}

TEST(Matrix, Limits) {
  Result<std::vector<expr::Value>> r = ExpandMatrix(Json(R"({"a":[1,2,3,4],"b":[1,2,3,4]})"), 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("more than 10"), std::string::npos);
  EXPECT_EQ(Expand(R"({"a":[]})")[0], "error: Matrix vector 'a' does not contain any values");
}

TEST(Plan, TopologicalOrderOnlyJobsAndMatrixFilter) {
  workflow::ReadResult r = workflow::ReadWorkflow(R"(on: push
jobs:
  deploy:
    needs: [test]
    runs-on: x
    steps: [run: x]
  build:
    runs-on: x
    strategy:
      matrix:
        os: [linux, mac]
    steps: [run: x]
  test:
    needs: build
    runs-on: x
    strategy:
      matrix: ${{ fromJSON('{"a":[1]}') }}
    steps: [run: x]
  other:
    runs-on: x
    steps: [run: x]
)",
                                                  "w.yml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  Result<Plan> plan = PlanWorkflow(*r.workflow);
  ASSERT_TRUE(plan.ok()) << plan.error();
  std::vector<std::string> order;
  for (const auto& j : plan->jobs) order.push_back(j.job->id);
  EXPECT_EQ(order, (std::vector<std::string>{"build", "test", "other", "deploy"}));
  EXPECT_EQ(plan->jobs[0].matrix.size(), 2u);
  EXPECT_TRUE(plan->jobs[1].matrix_deferred);
  EXPECT_EQ(plan->jobs[3].needs, std::vector<size_t>{1});

  PlanOptions only;
  only.only_jobs = {"test"};
  only.matrix_filter = {{"os", "mac"}};
  plan = PlanWorkflow(*r.workflow, only);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->jobs.size(), 2u);
  ASSERT_EQ(plan->jobs[0].matrix.size(), 1u);
  EXPECT_EQ(plan->jobs[0].matrix[0].Find("os")->string_value(), "mac");
  only.only_jobs = {"nope"};
  EXPECT_FALSE(PlanWorkflow(*r.workflow, only).ok());
}

TEST(Plan, InstanceNames) {
  workflow::Job job;
  job.id = "build";
  EXPECT_EQ(InstanceName(job, expr::Value::Object()), "build");
  EXPECT_EQ(InstanceName(job, Json(R"({"os":"linux","v":18})")), "build (linux, 18)");
}

TEST(Matrix, InsertAndExpressionsAreEvaluatedWhenTheJobIsReady) {
  workflow::ReadResult r = workflow::ReadWorkflow(R"(on: push
jobs:
  a:
    runs-on: x
    strategy:
      matrix:
        cfg:
          - name: one
            ${{ insert }}: ${{ fromJSON(needs.setup.outputs.extra) }}
            ${{insert}}:
              fixed: yes
        ref: ['${{ github.ref }}', plain]
    steps: [run: x]
  b:
    runs-on: x
    strategy:
      matrix:
        v:
          - ${{ insert }}: ${{ github.ref }}
    steps: [run: x]
)",
                                                  "w.yml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  Result<Plan> plan = PlanWorkflow(*r.workflow);
  ASSERT_TRUE(plan.ok()) << plan.error();
  EXPECT_TRUE(plan->jobs[0].matrix_deferred);
  expr::Value contexts = Json(
      R"({"github":{"ref":"refs/heads/main"},"needs":{"setup":{"outputs":{"extra":"{\"k\":2,\"name\":\"over\"}"}}}})");
  Result<expr::Value> m = EvaluateMatrix(*r.workflow->jobs[0].strategy, contexts, "w.yml");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->ToJson(false), R"({"cfg":[{"name":"over","k":2,"fixed":"yes"}],"ref":["refs/heads/main","plain"]})");
  Result<std::vector<expr::Value>> combos = ExpandMatrix(*m);
  ASSERT_TRUE(combos.ok());
  EXPECT_EQ(combos->size(), 2u);
  Result<expr::Value> bad = EvaluateMatrix(*r.workflow->jobs[1].strategy, contexts, "w.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "w.yml:19:28: the value of '${{ insert }}' must be a mapping, got 'refs/heads/main'");
}

}  // namespace
}  // namespace gantry::engine
