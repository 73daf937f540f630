// The ${{ }} expression language of GitHub Actions: parse once, evaluate many times.
//
//   auto e = expr::Parse("github.event_name == 'push' && contains(github.ref, 'main')");
//   if (!e) ...e.error()...       // "Unexpected symbol: ... Located at position N within expression: ..."
//   expr::EvalContext ctx;  ctx.contexts = <object with github, env, ...>;
//   Result<Value> v = e->Evaluate(ctx);
//
// Templates ("a ${{ x }} b") and `if:` conditions (with or without ${{ }}, with the implicit
// `success() &&`) have their own entry points below. Which contexts a workflow key may use is
// in AllowedContexts()/OptionsForKey(). Limits are documented in docs/expressions.md.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "expr/value.h"

namespace gantry::expr {

// Limits that keep hostile or broken input from costing more than a clear error.
struct Limits {
  size_t max_length = 21000;              // characters of one expression (GitHub's limit)
  size_t max_depth = 50;                  // nesting of operators/calls/accesses (GitHub's limit)
  size_t max_memory = 1u << 20;           // bytes of strings/collections one evaluation may build
  size_t max_template_expressions = 100;  // ${{ }} segments in one template string
};

// What kind of error a Parse/Evaluate failure is (GitHub's vocabulary).
enum class ErrorKind { kLexing, kParsing, kEvaluation };

// Details of a failure, filled by the functions that take a Diagnostic*.
struct Diagnostic {
  ErrorKind kind = ErrorKind::kParsing;
  size_t position = 0;  // 1-based character offset in the expression (0 if not positional)
  std::string message;  // same text as the Result's error
};

struct ParseOptions {
  // Context names the expression may use (case-insensitive). nullopt: any name is accepted.
  std::optional<std::vector<std::string>> allowed_contexts;
  bool allow_status_functions = true;  // success(), failure(), cancelled(), always()
  // In a job's `if:`, success('a', 'b') and failure('a') name jobs of `needs` (GitHub's form).
  bool status_functions_take_job_names = false;
  bool allow_hash_files = true;  // hashFiles()
  // The workflow key being parsed ("jobs.<job_id>.if"), named in errors about contexts.
  std::string workflow_key;
  Limits limits;
};

// The status the status functions read. For a step `if`: the job's status so far; for a job
// `if`: the combined status of its needs (the engine decides which).
enum class JobStatus { kSuccess, kFailure, kCancelled };

struct EvalContext {
  // An object whose entries are the contexts: github, env, vars, job, jobs, steps, runner,
  // secrets, strategy, matrix, needs, inputs (names matched case-insensitively).
  Value contexts = Value::Object();
  JobStatus status = JobStatus::kSuccess;
  // Root for hashFiles(); patterns are relative to it and files outside it are ignored.
  // Empty: hashFiles() is an evaluation error.
  std::string workspace;
  size_t max_memory = Limits{}.max_memory;
};

namespace detail {
struct Node;
struct Tree;
}  // namespace detail

// A parsed expression. Immutable and cheap to copy (shared), safe to evaluate from several
// threads at once.
class Expression {
 public:
  Expression() = default;  // evaluates to null
  Result<Value> Evaluate(const EvalContext& ctx, Diagnostic* diag = nullptr) const;
  // True if success(), failure(), cancelled() or always() appears anywhere in it.
  bool UsesStatusFunction() const;
  // The source text it was parsed from.
  const std::string& source() const;
  // Canonical text of the parsed tree (for tests and debugging).
  std::string ToString() const;

 private:
  friend struct ExpressionBuilder;
  std::shared_ptr<const detail::Tree> tree_;  // source and nodes, shared by copies
  bool uses_status_function_ = false;
};

// Parses one expression (the text between ${{ and }}). An empty or blank source is valid
// and evaluates to null.
Result<Expression> Parse(std::string_view source, const ParseOptions& opts = {}, Diagnostic* diag = nullptr);

// Parses an `if:` value as GitHub does: "${{ x }}" or bare "x" (a mixed string such as
// "${{ a }} == b" is a template, i.e. a non-empty string, always true, as on GitHub), and puts
// `success() &&` in front when no status function is used.
Result<Expression> ParseCondition(std::string_view if_source, const ParseOptions& opts = {},
                                  Diagnostic* diag = nullptr);

// A string that may contain ${{ }} expressions.
class Template {
 public:
  Template() = default;  // the empty string
  // No ${{ }} at all: the text (with no evaluation needed).
  bool IsLiteral() const { return parts_.empty(); }
  const std::string& literal() const { return literal_; }
  bool UsesStatusFunction() const;
  // Exactly one ${{ }} and nothing else (ignoring no characters): the expression's Value with
  // its type; otherwise a string joining the text and each value's display string.
  Result<Value> Evaluate(const EvalContext& ctx, Diagnostic* diag = nullptr) const;
  // Evaluate() then ToDisplayString().
  Result<std::string> EvaluateToString(const EvalContext& ctx, Diagnostic* diag = nullptr) const;

 private:
  friend Result<Template> ParseTemplate(std::string_view, const ParseOptions&, Diagnostic*);
  struct Part {
    std::string text;       // literal text before the expression
    Expression expression;  // evaluated after the text
    bool has_expression = false;
  };
  std::string literal_;
  std::vector<Part> parts_;
};

// Parses "text ${{ expr }} text". Errors name the position in the whole template.
Result<Template> ParseTemplate(std::string_view text, const ParseOptions& opts = {}, Diagnostic* diag = nullptr);
// True if the text contains "${{".
bool ContainsExpression(std::string_view text);

// Context availability per workflow key, as GitHub documents it
// ("jobs.<job_id>.if" → github, needs, vars, inputs). Keys use GitHub's placeholders:
// "jobs.<job_id>.steps.run", "jobs.<job_id>.env", "on.workflow_call.outputs.<output_id>.value".
struct KeyAvailability {
  std::string_view key;
  std::vector<std::string_view> contexts;
  bool status_functions = false;  // always, cancelled, success, failure
  bool hash_files = false;
};
// nullptr for a key that accepts no expressions / is unknown.
const KeyAvailability* FindKeyAvailability(std::string_view workflow_key);
// The contexts allowed in a key (empty for an unknown key).
std::span<const std::string_view> AllowedContexts(std::string_view workflow_key);
// ParseOptions restricted to what the key allows (contexts, functions) and naming the key in
// errors. An unknown key gives options that allow no context and no special function.
ParseOptions OptionsForKey(std::string_view workflow_key);
// All keys in the table.
std::span<const KeyAvailability> AllKeyAvailability();

}  // namespace gantry::expr
