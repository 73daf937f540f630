// gantry expr: evaluate one ${{ }} expression with contexts from a JSON file, to debug an
// `if:` or drive the evaluator from scripts. See docs/expressions.md.
#include "expr/expr.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "base/fs.h"
#include "cli/cli_util.h"

namespace gantry::cli {
namespace {

constexpr const char* kHelp = R"(Evaluates one GitHub Actions expression and prints the result.

  gantry expr 'github.event_name == ''push'' && contains(github.ref, ''main'')' --context ctx.json

EXPR is the text inside ${{ }} (a surrounding ${{ }} is accepted too). The context file is a
JSON object whose entries are the contexts: {"github": {...}, "env": {...}, "matrix": {...}}.
Strings print as they are, other values as GitHub would show them in a string; --json prints
the result as JSON instead.

Exit codes: 0 evaluated; 1 evaluation error (e.g. invalid format string); 2 syntax error
(message with the position on stderr), unreadable context file or bad flags.)";

int Run(int argc, char** argv) {
  CLI::App app{kHelp, "gantry expr"};
  std::string source, context_file, status = "success", workspace, key;
  bool json = false, condition = false;
  app.add_option("EXPR", source, "the expression")->required();
  app.add_option("-c,--context", context_file, "JSON file with the contexts (object: name -> value)");
  app.add_flag("--json", json, "print the result as JSON");
  app.add_flag("--if", condition, "read EXPR as an if: condition (success() && ... unless a status function is used)");
  app.add_option("--status", status, "job status for success()/failure()/cancelled(): success|failure|cancelled")
      ->check(CLI::IsMember({"success", "failure", "cancelled"}));
  app.add_option("--workspace", workspace, "directory for hashFiles() (default: current directory)");
  app.add_option("--key", key, "workflow key whose context availability applies, e.g. 'jobs.<job_id>.if'");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;

  expr::EvalContext ctx;
  expr::ParseOptions opts;
  if (!key.empty()) {
    if (!expr::FindKeyAvailability(key)) {
      std::cerr << "gantry expr: unknown workflow key '" << key << "'\n";
      return kExitUsage;
    }
    opts = expr::OptionsForKey(key);
  }
  if (!context_file.empty()) {
    auto text = ReadFile(context_file, 64u << 20);
    if (!text) {
      std::cerr << "gantry expr: " << text.error() << "\n";
      return kExitUsage;
    }
    auto value = expr::Value::FromJson(*text);
    if (!value || !value->is_object()) {
      std::cerr << context_file << ": " << (value ? "the contexts must be a JSON object" : value.error()) << "\n";
      return kExitUsage;
    }
    ctx.contexts = std::move(*value);
  }
  ctx.status = status == "failure"     ? expr::JobStatus::kFailure
               : status == "cancelled" ? expr::JobStatus::kCancelled
                                       : expr::JobStatus::kSuccess;
  if (workspace.empty()) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) workspace = cwd;
  }
  ctx.workspace = workspace;

  std::string_view text = source;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
  if (!condition && text.size() >= 5 && text.substr(0, 3) == "${{" && text.substr(text.size() - 2) == "}}")
    text = text.substr(3, text.size() - 5);
  Result<expr::Expression> parsed = condition ? expr::ParseCondition(text, opts) : expr::Parse(text, opts);
  if (!parsed) {
    std::cerr << "gantry expr: syntax error: " << parsed.error() << "\n";
    return kExitUsage;
  }
  auto result = parsed->Evaluate(ctx);
  if (!result) {
    std::cerr << "gantry expr: evaluation error: " << result.error() << "\n";
    return kExitFailed;
  }
  if (json || result->is_array() || result->is_object())
    std::cout << result->ToJson(true) << "\n";
  else
    std::cout << result->ToDisplayString() << "\n";
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("expr", "evaluate one ${{ }} expression with contexts from a JSON file", gantry::cli::Run);
