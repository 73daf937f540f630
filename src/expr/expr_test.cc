// Unit tests for values, templates, conditions, context availability and limits.
#include "expr/expr.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

namespace gantry::expr {
namespace {

Value Ctx(const char* json) {
  auto v = Value::FromJson(json);
  EXPECT_TRUE(v.ok()) << v.error();
  return v.ok() ? *v : Value::Object();
}

Result<Value> Eval(std::string_view src, const Value& contexts = Value::Object(),
                   JobStatus status = JobStatus::kSuccess) {
  auto e = Parse(src);
  if (!e) return e.status();
  EvalContext ctx;
  ctx.contexts = contexts;
  ctx.status = status;
  return e->Evaluate(ctx);
}

std::string Show(std::string_view src, const Value& contexts = Value::Object()) {
  auto v = Eval(src, contexts);
  return v.ok() ? v->ToJson(false) : "error: " + v.error();
}

TEST(Value, ObjectsFindKeysCaseInsensitivelyAtAnySize) {
  Value o = Value::Object();
  for (int i = 0; i < 40; ++i) o.Set("Key" + std::to_string(i), Value::Number(i));
  for (int i = 0; i < 40; ++i) {
    const Value* v = o.Find("kEY" + std::to_string(i));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(v->number_value(), i);
  }
  EXPECT_EQ(o.Find("key40"), nullptr);
  o.Set("KEY3", Value::String("x"));  // replaces, keeps the first spelling and position
  EXPECT_EQ(o.size(), 40u);
  EXPECT_EQ(o.entries()[3].first, "Key3");
  EXPECT_EQ(o.Find("key3")->string_value(), "x");
}

TEST(Value, CopiesShareUntilWritten) {
  Value a = Value::Array({Value::Number(1)});
  Value b = a;
  b.Push(Value::Number(2));
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 2u);
}

TEST(Value, DisplayStringsFollowTheRunner) {
  EXPECT_EQ(Value::Number(-0.0).ToDisplayString(), "0");
  EXPECT_EQ(Value::Number(0.1 + 0.2).ToDisplayString(), "0.3");
  EXPECT_EQ(Value::Number(123456789.123456789).ToDisplayString(), "123456789.123457");
  EXPECT_EQ(Value::Number(1e15).ToDisplayString(), "1E+15");
  EXPECT_EQ(Value::Number(0.00001).ToDisplayString(), "1E-05");
  EXPECT_EQ(Value::Number(0.0001).ToDisplayString(), "0.0001");
  EXPECT_EQ(Value::Number(NAN).ToDisplayString(), "NaN");
  EXPECT_EQ(Value::Number(-INFINITY).ToDisplayString(), "-Infinity");
  EXPECT_EQ(Value().ToDisplayString(), "");
  EXPECT_EQ(Value::Array().ToDisplayString(), "Array");
  EXPECT_EQ(Value::Object().ToDisplayString(), "Object");
}

TEST(Value, StringToNumberIsJavaScriptsNumber) {
  EXPECT_EQ(StringToNumber(""), 0);
  EXPECT_EQ(StringToNumber("  12  "), 12);
  EXPECT_EQ(StringToNumber("0x1F"), 31);
  EXPECT_EQ(StringToNumber("0o17"), 15);
  EXPECT_EQ(StringToNumber("0b101"), 5);
  EXPECT_EQ(StringToNumber("5."), 5);
  EXPECT_EQ(StringToNumber(".5e1"), 5);
  EXPECT_EQ(StringToNumber("-Infinity"), -INFINITY);
  EXPECT_EQ(StringToNumber("1e400"), INFINITY);
  EXPECT_TRUE(std::isnan(StringToNumber("-0x1")));
  EXPECT_TRUE(std::isnan(StringToNumber("1_000")));
  EXPECT_TRUE(std::isnan(StringToNumber("e5")));
  EXPECT_TRUE(std::isnan(StringToNumber("inf")));
}

TEST(Value, JsonRoundTripAndLimits) {
  auto v = Value::FromJson(R"({"a": [1, 2.5, "x\n", null, true], "B": {}, "b": 3})");
  ASSERT_TRUE(v.ok());
  // "b" differs from "B" only in case: GitHub keeps the first.
  EXPECT_EQ(v->ToJson(false), R"({"a":[1,2.5,"x\n",null,true],"B":{}})");
  EXPECT_EQ(Value::Number(1e21).ToJson(), "1e+21");
  EXPECT_EQ(Value::Number(NAN).ToJson(), "null");
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto d = Value::FromJson(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("nesting deeper than 100"), std::string::npos) << d.error();
  JsonLimits small;
  small.max_bytes = 4;
  EXPECT_FALSE(Value::FromJson("[1,2,3]", small).ok());
  EXPECT_FALSE(Value::FromJson("{\"a\":").ok());
}

TEST(Evaluate, OperatorsReturnOperandsAndCoerce) {
  Value c = Ctx(R"({"env": {"A": "x", "Empty": ""}, "github": {"n": 3}})");
  EXPECT_EQ(Show("env.empty || env.a", c), R"("x")");
  EXPECT_EQ(Show("env.a && github.n", c), "3");
  EXPECT_EQ(Show("env.missing.deeper[0].x", c), "null");
  EXPECT_EQ(Show("github.n == '3'", c), "true");
  EXPECT_EQ(Show("'ABC' == 'abc'", c), "true");
  EXPECT_EQ(Show("null == 0 && true == 1 && '' == 0", c), "true");
  EXPECT_EQ(Show("github == github", c), "true");  // same object
  EXPECT_EQ(Show("fromJSON('[]') == fromJSON('[]')", c), "false");
  EXPECT_EQ(Show("1 == 1 == 1"), "true");  // (1 == 1) == 1
}

TEST(Evaluate, StarFiltersMapOverElements) {
  Value c = Ctx(R"({"github": {"event": {"commits": [{"message": "a"}, {"message": "b"}, {"other": 1}]}}})");
  EXPECT_EQ(Show("github.event.commits.*.message", c), R"(["a","b"])");
  EXPECT_EQ(Show("contains(github.event.commits.*.message, 'B')", c), "true");
  EXPECT_EQ(Show("github.event.commits[*].message[0]", c), "[]");
  EXPECT_EQ(Show("github.event.*.*.message", c), R"(["a","b"])");
}

TEST(Evaluate, StatusFunctions) {
  EXPECT_EQ(Eval("success()", Value::Object(), JobStatus::kFailure)->bool_value(), false);
  EXPECT_EQ(Eval("failure()", Value::Object(), JobStatus::kFailure)->bool_value(), true);
  EXPECT_EQ(Eval("cancelled()", Value::Object(), JobStatus::kCancelled)->bool_value(), true);
  EXPECT_EQ(Eval("always()", Value::Object(), JobStatus::kCancelled)->bool_value(), true);
  EXPECT_TRUE(Parse("always() || x")->UsesStatusFunction());
  EXPECT_FALSE(Parse("x")->UsesStatusFunction());
  ParseOptions no_status;
  no_status.allow_status_functions = false;
  EXPECT_FALSE(Parse("success()", no_status).ok());
}

TEST(Evaluate, StatusFunctionsNamingJobsOfNeedsInAJobIf) {
  ParseOptions job_if = OptionsForKey("jobs.<job_id>.if");
  EXPECT_FALSE(Parse("success('build')").ok());  // only a job's if takes job names
  EXPECT_FALSE(Parse("success('build')", OptionsForKey("jobs.<job_id>.steps.if")).ok());
  EXPECT_FALSE(Parse("cancelled('build')", job_if).ok());
  Value needs = Ctx(R"({"needs": {"build": {"result": "success"}, "build2": {"result": "failure"},
                                  "lint": {"result": "success"}}})");
  auto eval = [&](std::string_view src, JobStatus status = JobStatus::kFailure) {
    auto e = Parse(src, job_if);
    EXPECT_TRUE(e.ok()) << e.error();
    EvalContext ctx;
    ctx.contexts = needs;
    ctx.status = status;
    auto v = e->Evaluate(ctx);
    return v.ok() && v->bool_value();
  };
  EXPECT_TRUE(eval("success('build', 'LINT')"));  // job names case-insensitive, like needs
  EXPECT_FALSE(eval("success('build', 'build2')"));
  EXPECT_FALSE(eval("success('missing')"));
  EXPECT_FALSE(eval("success('build')", JobStatus::kCancelled));
  EXPECT_TRUE(eval("failure('build', 'build2')", JobStatus::kSuccess));
  EXPECT_FALSE(eval("failure('build', 'lint')"));
}

TEST(Evaluate, MemoryLimitStopsRunawayStrings) {
  Value c = Ctx(R"({"s": "0123456789012345678901234567890123456789"})");
  std::string f = "format('" + std::string(3000, 'x');
  for (int i = 0; i < 2000; ++i) f += "{0}";
  f += "', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', s))";
  auto v = Eval(f, c);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().rfind("The maximum allowed memory size was exceeded. Located at position 1 within", 0), 0u)
      << v.error();
}

TEST(Parse, LimitsAreRefusedCleanly) {
  std::string deep(5000, '(');
  deep += "1" + std::string(5000, ')');
  auto e = Parse(deep);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().rfind("Exceeded max expression depth 50", 0), 0u) << e.error();
  std::string chain = "1";
  for (int i = 0; i < 3000; ++i) chain += " == 1";  // long but flat: evaluated without recursion
  EXPECT_TRUE(Eval(chain).ok());
  std::string too_long(21001, '1');
  Diagnostic d;
  auto l = Parse(too_long, {}, &d);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error(), "Exceeded max expression length 21000");
}

TEST(Parse, ErrorsCarryPositionAndExpression) {
  Diagnostic d;
  auto e = Parse("github.ref == 'x' &&", {}, &d);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(d.kind, ErrorKind::kParsing);
  EXPECT_EQ(d.position, 19u);
  EXPECT_EQ(e.error(),
            "Unexpected end of expression: '&&'. Located at position 19 within expression: github.ref == 'x' &&");
  e = Parse("a = b", {}, &d);
  EXPECT_EQ(d.kind, ErrorKind::kLexing);
  e = Parse("contains('a')", {}, &d);
  EXPECT_EQ(e.error().rfind("Too few parameters supplied: 'contains'", 0), 0u) << e.error();
}

TEST(Availability, RefusesContextsAKeyCannotUse) {
  auto e = Parse("secrets.token == 'x'", OptionsForKey("jobs.<job_id>.if"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().find("Unrecognized named-value: 'secrets'"), std::string::npos);
  EXPECT_NE(e.error().find("in 'jobs.<job_id>.if' the available contexts are: github, needs, vars, inputs"),
            std::string::npos)
      << e.error();
  EXPECT_TRUE(Parse("needs.build.result == 'success' && success()", OptionsForKey("jobs.<job_id>.if")).ok());
  EXPECT_FALSE(Parse("hashFiles('x')", OptionsForKey("jobs.<job_id>.if")).ok());
  EXPECT_TRUE(Parse("hashFiles('x') && secrets.t && steps.a", OptionsForKey("jobs.<job_id>.steps.run")).ok());
  EXPECT_FALSE(Parse("success()", OptionsForKey("jobs.<job_id>.steps.run")).ok());
  EXPECT_FALSE(Parse("matrix.os", OptionsForKey("jobs.<job_id>.strategy")).ok());
  auto allowed = AllowedContexts("jobs.<job_id>.steps.run");
  EXPECT_EQ(allowed.size(), 11u);
  EXPECT_TRUE(AllowedContexts("no.such.key").empty());
  EXPECT_GE(AllKeyAvailability().size(), 30u);
}

TEST(Template, InterpolatesAndKeepsTypeOfASingleExpression) {
  Value contexts = Ctx(R"({"matrix": {"node": 20, "os": "linux"}, "env": {"list": [1, 2]}})");
  EvalContext ctx;
  ctx.contexts = contexts;
  auto t = ParseTemplate("${{ matrix.node }}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Evaluate(ctx)->kind(), Kind::kNumber);
  t = ParseTemplate("node-${{ matrix.node }}-${{ matrix.os }}${{ env.list }} ${{ '}}' }}");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(*t->EvaluateToString(ctx), "node-20-linuxArray }}");
  t = ParseTemplate("plain text");
  EXPECT_TRUE(t->IsLiteral());
  EXPECT_EQ(*t->EvaluateToString(ctx), "plain text");
  EXPECT_FALSE(ParseTemplate("a ${{ matrix.os").ok());
  EXPECT_FALSE(ParseTemplate("a ${{ }}").ok());
  Diagnostic d;
  auto bad = ParseTemplate("abc ${{ 1 < }}", {}, &d);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("in the expression at position 5"), std::string::npos) << bad.error();
  EXPECT_TRUE(ContainsExpression("x ${{ y }}"));
  EXPECT_FALSE(ContainsExpression("x $ {{ y }}"));
}

TEST(Condition, ImplicitSuccessAndBothForms) {
  EvalContext ctx;
  ctx.contexts = Ctx(R"({"github": {"ref": "refs/heads/main"}})");
  for (const char* src : {"github.ref == 'refs/heads/main'", "${{ github.ref == 'refs/heads/main' }}",
                          "  ${{ github.ref == 'refs/heads/main' }}  "}) {
    auto c = ParseCondition(src);
    ASSERT_TRUE(c.ok()) << src << ": " << c.error();
    EXPECT_TRUE(c->UsesStatusFunction());
    ctx.status = JobStatus::kSuccess;
    EXPECT_TRUE(c->Evaluate(ctx)->Truthy()) << src;
    ctx.status = JobStatus::kFailure;
    EXPECT_FALSE(c->Evaluate(ctx)->Truthy()) << src;
  }
  auto c = ParseCondition("${{ failure() }}");
  ctx.status = JobStatus::kFailure;
  EXPECT_TRUE(c->Evaluate(ctx)->Truthy());
  c = ParseCondition("");
  ctx.status = JobStatus::kSuccess;
  EXPECT_TRUE(c->Evaluate(ctx)->Truthy());
  // A mixed string is a non-empty string, so true (as GitHub warns in its docs).
  c = ParseCondition("${{ false }} && false");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->Evaluate(ctx)->Truthy());
}

TEST(Expression, EvaluatesConcurrently) {
  auto e = Parse("format('{0}-{1}', github.a, join(github.list.*.x, '+'))");
  ASSERT_TRUE(e.ok());
  EvalContext ctx;
  ctx.contexts = Ctx(R"({"github": {"a": "q", "list": [{"x": 1}, {"x": 2}]}})");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (e->Evaluate(ctx)->string_value() == "q-1+2") ++good;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8000);
}

}  // namespace
}  // namespace gantry::expr
