// Parse + evaluate rate of a realistic mix of expressions (if: conditions, format, contains,
// property access into a pull_request github context), read from mix.jsonl, the same file
// tests/expr/npm_eval.mjs --bench measures GitHub's npm evaluator on. See README.md.
//
//   bench_expressions_expressions_bench [--seconds S] [FILE]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "base/fs.h"
#include "expr/expr.h"

using gantry::expr::EvalContext;
using gantry::expr::Expression;
using gantry::expr::ParseOptions;
using gantry::expr::Value;

namespace {

struct Case {
  std::string source;
  ParseOptions opts;
  EvalContext ctx;
};

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Runs `body` over every case repeatedly for about `seconds`; returns evaluations per second.
template <typename F>
double Rate(const std::vector<Case>& cases, double seconds, F body) {
  long n = 0;
  double start = Now(), end = start;
  size_t sink = 0;
  do {
    for (const auto& c : cases) sink += body(c);
    n += static_cast<long>(cases.size());
    end = Now();
  } while (end - start < seconds);
  if (sink == 42) std::puts("");  // keep the work observable
  return static_cast<double>(n) / (end - start);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  // Run from the checkout (as the README shows), or pass the mix file.
  std::string file = "bench/expressions/mix.jsonl";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else
      file = argv[i];
  }
  auto text = gantry::ReadFile(file);
  if (!text) {
    std::fprintf(stderr, "%s\n", text.error().c_str());
    return 1;
  }
  std::vector<Case> cases;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = Value::FromJson(line);
    if (!v) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), v.error().c_str());
      return 1;
    }
    Case c;
    c.source = v->Find("expr")->string_value();
    c.opts.allowed_contexts.emplace();
    for (const auto& [name, value] : v->Find("contexts")->entries()) {
      c.opts.allowed_contexts->push_back(name);
      c.ctx.contexts.Set(name, value);
    }
    if (!gantry::expr::Parse(c.source, c.opts)) {
      std::fprintf(stderr, "does not parse: %s\n", c.source.c_str());
      return 1;
    }
    cases.push_back(std::move(c));
  }
  std::vector<Expression> parsed;
  for (const auto& c : cases) parsed.push_back(*gantry::expr::Parse(c.source, c.opts));

  double full = Rate(cases, seconds, [](const Case& c) {
    auto e = gantry::expr::Parse(c.source, c.opts);
    auto r = e->Evaluate(c.ctx);
    return static_cast<size_t>(r->kind());
  });
  size_t i = 0;
  double eval_only = Rate(cases, seconds, [&](const Case& c) {
    auto r = parsed[i++ % parsed.size()].Evaluate(c.ctx);
    return static_cast<size_t>(r->kind());
  });
  std::printf("{\"cases\": %zu, \"parse_and_evaluate_per_sec\": %.0f, \"evaluate_only_per_sec\": %.0f}\n", cases.size(),
              full, eval_only);
  return 0;
}
