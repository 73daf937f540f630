// Templates ("text ${{ expr }} text") and `if:` conditions.
#include <algorithm>

#include "expr/expr.h"

namespace gantry::expr {

namespace {

// Finds the "}}" closing an expression that starts at `from`, skipping '...' literals
// (a "}}" inside a string does not end the expression).
size_t FindClose(std::string_view text, size_t from) {
  bool in_string = false;
  for (size_t i = from; i + 1 < text.size() || (in_string && i < text.size()); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\'') {
        if (i + 1 < text.size() && text[i + 1] == '\'')
          ++i;
        else
          in_string = false;
      }
      continue;
    }
    if (c == '\'')
      in_string = true;
    else if (c == '}' && text[i + 1] == '}')
      return i;
  }
  return std::string_view::npos;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
Result<T> Fail(Diagnostic* diag, ErrorKind kind, size_t pos, std::string msg) {
  if (diag) *diag = Diagnostic{kind, pos, msg};
  return Result<T>::Error(std::move(msg));
}

}  // namespace

bool ContainsExpression(std::string_view text) { return text.find("${{") != std::string_view::npos; }

Result<Template> ParseTemplate(std::string_view text, const ParseOptions& opts, Diagnostic* diag) {
  Template t;
  t.literal_ = std::string(text);
  size_t pos = 0;
  std::string pending;
  while (pos < text.size()) {
    size_t open = text.find("${{", pos);
    if (open == std::string_view::npos) break;
    size_t close = FindClose(text, open + 3);
    if (close == std::string_view::npos)
      return Fail<Template>(diag, ErrorKind::kParsing, open + 1,
                            "The expression is not closed. An unescaped ${{ sequence was found at position " +
                                std::to_string(open + 1) + ", but the closing }} sequence was not found.");
    if (t.parts_.size() >= opts.limits.max_template_expressions)
      return Fail<Template>(
          diag, ErrorKind::kParsing, open + 1,
          "More than " + std::to_string(opts.limits.max_template_expressions) + " expressions in one string");
    std::string_view inner = text.substr(open + 3, close - open - 3);
    if (TrimSpace(inner).empty())
      return Fail<Template>(diag, ErrorKind::kParsing, open + 1,
                            "An expression was expected at position " + std::to_string(open + 1));
    Diagnostic d;
    auto e = Parse(inner, opts, &d);
    if (!e) {
      std::string msg = e.error() + " (in the expression at position " + std::to_string(open + 1) + ")";
      return Fail<Template>(diag, d.kind, open + 4 + (d.position ? d.position - 1 : 0), msg);
    }
    Template::Part part;
    part.text = pending + std::string(text.substr(pos, open - pos));
    pending.clear();
    part.expression = std::move(*e);
    part.has_expression = true;
    t.parts_.push_back(std::move(part));
    pos = close + 2;
  }
  if (!t.parts_.empty() && pos < text.size()) {
    Template::Part tail;
    tail.text = std::string(text.substr(pos));
    t.parts_.push_back(std::move(tail));
  }
  return t;
}

bool Template::UsesStatusFunction() const {
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const Part& p) { return p.has_expression && p.expression.UsesStatusFunction(); });
}

Result<Value> Template::Evaluate(const EvalContext& ctx, Diagnostic* diag) const {
  if (parts_.empty()) return Value::String(literal_);
  if (parts_.size() == 1 && parts_[0].text.empty()) return parts_[0].expression.Evaluate(ctx, diag);
  std::string out;
  for (const Part& p : parts_) {
    out += p.text;
    if (!p.has_expression) continue;
    auto v = p.expression.Evaluate(ctx, diag);
    if (!v) return v;
    out += v->ToDisplayString();
    if (out.size() > ctx.max_memory)
      return Fail<Value>(diag, ErrorKind::kEvaluation, 0, "The maximum allowed memory size was exceeded");
  }
  return Value::String(std::move(out));
}

Result<std::string> Template::EvaluateToString(const EvalContext& ctx, Diagnostic* diag) const {
  auto v = Evaluate(ctx, diag);
  if (!v) return v.status();
  return v->ToDisplayString();
}

namespace {

// "a ${{ x }} b" as GitHub turns it into one expression: format('a {0} b', x).
std::string TemplateAsFormat(std::string_view text, std::string* error) {
  std::string fmt, args;
  size_t pos = 0, n = 0;
  auto literal = [&](std::string_view s) {
    for (char c : s) {
      if (c == '{' || c == '}') fmt += c;  // doubled below
      if (c == '\'') fmt += '\'';
      fmt += c;
    }
  };
  while (pos < text.size()) {
    size_t open = text.find("${{", pos);
    if (open == std::string_view::npos) break;
    size_t close = FindClose(text, open + 3);
    if (close == std::string_view::npos) {
      *error = "The expression is not closed: an unescaped ${{ sequence was found, but the closing }} was not found.";
      return {};
    }
    literal(text.substr(pos, open - pos));
    fmt += "{" + std::to_string(n++) + "}";
    args += ", (" + std::string(text.substr(open + 3, close - open - 3)) + ")";
    pos = close + 2;
  }
  literal(text.substr(pos));
  return "format('" + fmt + "'" + args + ")";
}

}  // namespace

Result<Expression> ParseCondition(std::string_view if_source, const ParseOptions& opts, Diagnostic* diag) {
  std::string_view s = TrimSpace(if_source);
  std::string source;
  size_t close = s.size() >= 5 && s.substr(0, 3) == "${{" ? FindClose(s, 3) : std::string_view::npos;
  if (close != std::string_view::npos && close + 2 == s.size()) {
    source = std::string(s.substr(3, close - 3));  // exactly one ${{ }}
  } else if (ContainsExpression(s)) {
    std::string error;
    source = TemplateAsFormat(s, &error);
    if (!error.empty()) return Fail<Expression>(diag, ErrorKind::kParsing, 0, error);
  } else {
    source = std::string(s);
  }
  if (TrimSpace(source).empty()) source = "success()";
  auto e = Parse(source, opts, diag);
  if (!e || e->UsesStatusFunction()) return e;
  // The runner's rule: a condition without a status function only runs after success.
  ParseOptions wrapped = opts;
  wrapped.allow_status_functions = true;
  wrapped.limits.max_depth += 2;
  wrapped.limits.max_length += 16;
  return Parse("success() && (" + source + ")", wrapped, diag);
}

}  // namespace gantry::expr
