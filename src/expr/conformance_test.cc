// Runs every case of GitHub's shared expression conformance suite
// ($GANTRY_SHARED/conformance/gha-expressions/*.json) through Parse + Evaluate and checks
// the result's kind and value, or the error's kind and message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "base/fs.h"
#include "expr/expr.h"
#include "testing/test_env.h"

namespace gantry::expr {
namespace {

std::string SuiteDir() { return gantry::testing::SharedDir() + "/conformance/gha-expressions"; }

// Cases that differ on purpose: "<file>/<name>/<index>" → reason (see docs/expressions.md).
const std::map<std::string, std::string>& SkipList() {
  static const std::map<std::string, std::string> kSkips = {};
  return kSkips;
}

std::string CheckCase(const Value& c) {
  std::string expr = c.Find("expr") ? c.Find("expr")->string_value() : "";
  ParseOptions opts;
  EvalContext ctx;
  opts.allowed_contexts.emplace();
  if (const Value* contexts = c.Find("contexts")) {
    for (const auto& [name, value] : contexts->entries()) {
      opts.allowed_contexts->push_back(name);
      ctx.contexts.Set(name, value);
    }
  }
  Diagnostic diag;
  Result<Value> result = Value();
  auto parsed = Parse(expr, opts, &diag);
  result = parsed ? parsed->Evaluate(ctx, &diag) : Result<Value>(parsed.status());
  if (const Value* err = c.Find("err")) {
    std::string kind = err->Find("kind")->string_value();
    std::string want = err->Find("value")->string_value();
    if (result.ok()) return "expected " + kind + " error '" + want + "', got " + result->ToJson(false);
    static const char* kKinds[] = {"lexing", "parsing", "evaluation"};
    std::string got_kind = kKinds[static_cast<int>(diag.kind)];
    if (got_kind != kind) return "expected a " + kind + " error, got " + got_kind + ": " + result.error();
    if (result.error().rfind(want, 0) != 0) return "expected message '" + want + "', got '" + result.error() + "'";
    return "";
  }
  if (!result.ok()) return "unexpected error: " + result.error();
  const Value* want = c.Find("result");
  std::string kind = want->Find("kind")->string_value();
  if (kind != KindName(result->kind())) return "expected kind " + kind + ", got " + result->ToJson(false);
  const Value* wv = want->Find("value");
  if (result->is_number() && wv->is_number()) {
    double a = result->number_value(), b = wv->number_value();
    if (a == b || (std::isnan(a) && std::isnan(b))) return "";
    return "expected " + wv->ToJson(false) + ", got " + result->ToJson(false);
  }
  if (!result->StrictEquals(*wv)) return "expected " + wv->ToJson(false) + ", got " + result->ToJson(false);
  return "";
}

TEST(Conformance, AllCasesOfGitHubSuite) {
  std::string dir = SuiteDir();
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  int passed = 0, skipped = 0, failed = 0;
  for (const auto& file : files) {
    auto text = ReadFile(file);
    ASSERT_TRUE(text.ok()) << text.error();
    auto doc = Value::FromJson(*text);
    ASSERT_TRUE(doc.ok()) << file << ": " << doc.error();
    std::string base = std::filesystem::path(file).filename().string();
    for (const auto& [name, cases] : doc->entries()) {
      for (size_t i = 0; i < cases.size(); ++i) {
        std::string id = base + "/" + name + "/" + std::to_string(i);
        if (SkipList().count(id)) {
          ++skipped;
          continue;
        }
        std::string problem = CheckCase(cases.items()[i]);
        if (problem.empty()) {
          ++passed;
        } else {
          ++failed;
          ADD_FAILURE() << id << " `" << cases.items()[i].Find("expr")->string_value() << "`: " << problem;
        }
      }
    }
  }
  std::printf("conformance: %d passed, %d skipped (documented), %d failed\n", passed, skipped, failed);
  EXPECT_GT(passed, 900);
}

}  // namespace
}  // namespace gantry::expr
