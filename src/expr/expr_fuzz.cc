// libFuzzer target: lexer + parser + evaluator (and templates, conditions, fromJSON) on
// arbitrary input. Any crash, sanitizer report or stack overflow is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expr/expr.h"

namespace {

const gantry::expr::EvalContext& Context() {
  static const gantry::expr::EvalContext ctx = [] {
    gantry::expr::EvalContext c;
    auto v = gantry::expr::Value::FromJson(R"({
      "github": {"event_name": "push", "ref": "refs/heads/main", "event": {"commits": [
        {"message": "a", "id": 1}, {"message": "B", "id": 2}], "n": 1.5, "flag": true}},
      "env": {"CI": "true", "EMPTY": "", "NUM": "0x10"},
      "matrix": {"os": ["linux", "mac"], "node": 20},
      "steps": {"build": {"outputs": {"v": "1"}, "outcome": "success"}},
      "needs": {}, "inputs": null, "secrets": {"t": "x"}})");
    c.contexts = *v;
    c.max_memory = 1u << 20;
    return c;
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto& ctx = Context();
  if (auto e = gantry::expr::Parse(input); e.ok()) {
    (void)e->Evaluate(ctx);
    (void)e->ToString();
  }
  if (auto t = gantry::expr::ParseTemplate(input); t.ok()) (void)t->Evaluate(ctx);
  if (auto c = gantry::expr::ParseCondition(input, gantry::expr::OptionsForKey("jobs.<job_id>.steps.if")); c.ok())
    (void)c->Evaluate(ctx);
  if (auto v = gantry::expr::Value::FromJson(input); v.ok()) (void)v->ToJson();
  return 0;
}
