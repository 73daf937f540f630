// The expression parser: GitHub's grammar and precedence (|| < && < ==,!= < <,<=,>,>= < ! <
// postfix access), its depth accounting (max 50) and its parse-time checks of context
// names and function arities.
#include <cstdio>

#include "expr/ast.h"
#include "expr/expr.h"
#include "expr/lexer.h"
#include "expr/value_rep.h"

namespace gantry::expr {

struct ExpressionBuilder {
  static Expression Make(std::shared_ptr<const detail::Tree> tree, bool uses_status) {
    Expression e;
    e.tree_ = std::move(tree);
    e.uses_status_function_ = uses_status;
    return e;
  }
  static const detail::Node* Root(const Expression& e) { return e.tree_ ? e.tree_->root : nullptr; }
  static const detail::Tree* TreeOf(const Expression& e) { return e.tree_.get(); }
};

namespace detail {
const Node* RootOf(const Expression& e) { return ExpressionBuilder::Root(e); }
}  // namespace detail

namespace {

using detail::Accessor;
using detail::CompareOp;
using detail::Function;
using detail::Node;
using detail::NodeKind;
using detail::Token;
using detail::TokenType;

struct FunctionInfo {
  std::string_view name;  // lower case
  Function id;
  size_t min_args, max_args;
};

constexpr size_t kManyArgs = static_cast<size_t>(-1);
constexpr FunctionInfo kFunctions[] = {
    {"contains", Function::kContains, 2, 2},   {"startswith", Function::kStartsWith, 2, 2},
    {"endswith", Function::kEndsWith, 2, 2},   {"format", Function::kFormat, 1, 255},
    {"join", Function::kJoin, 1, 2},           {"tojson", Function::kToJson, 1, 1},
    {"fromjson", Function::kFromJson, 1, 1},   {"hashfiles", Function::kHashFiles, 1, 255},
    {"case", Function::kCase, 3, kManyArgs},   {"success", Function::kSuccess, 0, 0},
    {"always", Function::kAlways, 0, 0},       {"failure", Function::kFailure, 0, 0},
    {"cancelled", Function::kCancelled, 0, 0},
};

bool IsStatusFunction(Function f) {
  return f == Function::kSuccess || f == Function::kAlways || f == Function::kFailure || f == Function::kCancelled;
}

// Thrown inside the parser only; Parse() turns it into a Result.
struct ParseFailure {
  std::string message;
  size_t offset;
};

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> tokens, const ParseOptions& opts, detail::Tree* tree)
      : src_(src), tokens_(std::move(tokens)), opts_(opts), tree_(tree) {}

  Node* Parse() {
    if (AtEnd()) return nullptr;
    auto e = Expr();
    if (!AtEnd()) Fail("Unexpected symbol", Peek());
    return e;
  }
  bool uses_status = false;

 private:
  struct Parsed {
    Node* node;
    bool postfixable = false;  // a group, call or context may be followed by . and []
  };

  Node* Expr() {
    Enter();
    auto e = Or();
    --depth_;
    return e;
  }

  Node* Or() {
    auto e = And();
    if (!Check(TokenType::kOr)) return e;
    Enter();
    auto n = NewNode(NodeKind::kOr, e->position);
    n->children.push_back(std::move(e));
    while (Match(TokenType::kOr)) n->children.push_back(And());
    --depth_;
    return n;
  }

  Node* And() {
    auto e = Equality();
    if (!Check(TokenType::kAnd)) return e;
    Enter();
    auto n = NewNode(NodeKind::kAnd, e->position);
    n->children.push_back(std::move(e));
    while (Match(TokenType::kAnd)) n->children.push_back(Equality());
    --depth_;
    return n;
  }

  Node* Chain(bool equality) {
    auto e = equality ? Chain(false) : Unary();
    Node* chain = nullptr;
    for (;;) {
      CompareOp op;
      if (equality && Match(TokenType::kEqual))
        op = CompareOp::kEqual;
      else if (equality && Match(TokenType::kNotEqual))
        op = CompareOp::kNotEqual;
      else if (!equality && Match(TokenType::kGreater))
        op = CompareOp::kGreater;
      else if (!equality && Match(TokenType::kGreaterEqual))
        op = CompareOp::kGreaterEqual;
      else if (!equality && Match(TokenType::kLess))
        op = CompareOp::kLess;
      else if (!equality && Match(TokenType::kLessEqual))
        op = CompareOp::kLessEqual;
      else
        break;
      if (!chain) {
        chain = NewNode(NodeKind::kCompare, e->position);
        chain->children.push_back(std::move(e));
      }
      chain->ops.push_back(op);
      chain->children.push_back(equality ? Chain(false) : Unary());
    }
    return chain ? std::move(chain) : std::move(e);
  }
  Node* Equality() { return Chain(true); }

  Node* Unary() {
    if (Match(TokenType::kBang)) {
      uint32_t at = Previous().start;
      Enter();
      auto operand = Unary();
      --depth_;
      auto n = NewNode(NodeKind::kNot, at);
      n->children.push_back(std::move(operand));
      return n;
    }
    return Index();
  }

  Node* Index() {
    Parsed p = Call();
    if (!p.postfixable) return std::move(p.node);
    Node* access = nullptr;
    size_t entered = 0;
    for (;;) {
      Accessor acc;
      if (Match(TokenType::kLeftBracket)) {
        if (Match(TokenType::kStar)) {
          acc.type = Accessor::Type::kStar;
        } else {
          acc.type = Accessor::Type::kIndex;
          acc.index = Expr();
        }
        Consume(TokenType::kRightBracket);
        Enter();
        ++entered;
      } else if (Match(TokenType::kDot)) {
        Enter();
        ++entered;
        if (Match(TokenType::kIdentifier)) {
          const Token& t = Previous();
          acc.type = Accessor::Type::kProperty;
          acc.property = std::string(src_.substr(t.start, t.end - t.start));
          acc.hash = detail::FoldedHash(acc.property);
        } else if (Match(TokenType::kStar)) {
          acc.type = Accessor::Type::kStar;
        } else {
          Fail("Unexpected symbol", Peek());
        }
      } else {
        break;
      }
      if (!access) {
        access = NewNode(NodeKind::kAccess, p.node->position);
        access->children.push_back(std::move(p.node));
      }
      access->accessors.push_back(std::move(acc));
    }
    depth_ -= entered;
    return access ? std::move(access) : std::move(p.node);
  }

  Parsed Call() {
    if (!Check(TokenType::kIdentifier)) return Primary();
    const Token& id = Next();
    std::string_view name = src_.substr(id.start, id.end - id.start);
    if (!Match(TokenType::kLeftParen)) {
      if (opts_.allowed_contexts && !IsAllowedContext(name)) FailContext(id);
      auto n = NewNode(NodeKind::kContext, id.start);
      n->name = std::string(name);
      n->hash = detail::FoldedHash(name);
      return {std::move(n), true};
    }
    auto n = NewNode(NodeKind::kCall, id.start);
    n->name = std::string(name);
    while (!Match(TokenType::kRightParen)) {
      n->children.push_back(Expr());
      if (!Check(TokenType::kRightParen)) Consume(TokenType::kComma);
    }
    const FunctionInfo* f = nullptr;
    for (const auto& info : kFunctions)
      if (detail::EqualsFolded(info.name, name)) f = &info;
    if (f && IsStatusFunction(f->id) && !opts_.allow_status_functions) f = nullptr;
    if (f && f->id == Function::kHashFiles && !opts_.allow_hash_files) f = nullptr;
    if (!f) Fail("Unrecognized function", id, KeyNote());
    size_t argc = n->children.size();
    if (argc < f->min_args) Fail("Too few parameters supplied", id);
    const bool job_names =
        opts_.status_functions_take_job_names && (f->id == Function::kSuccess || f->id == Function::kFailure);
    if (argc > f->max_args && !job_names) Fail("Too many parameters supplied", id);
    if (f->id == Function::kCase && argc % 2 == 0)
      Fail("Even number of parameters supplied, requires an odd number of parameters", id);
    if (IsStatusFunction(f->id)) uses_status = true;
    n->function = f->id;
    return {std::move(n), true};
  }

  Parsed Primary() {
    if (Match(TokenType::kFalse)) return Literal(Value::Bool(false));
    if (Match(TokenType::kTrue)) return Literal(Value::Bool(true));
    if (Match(TokenType::kNull)) return Literal(Value());
    if (Match(TokenType::kNumber)) return Literal(Value::Number(Previous().number));
    if (Match(TokenType::kString)) return Literal(Value::String(Previous().text));
    if (Match(TokenType::kLeftParen)) {
      auto e = Expr();
      if (AtEnd()) Fail("Unexpected end of expression", Previous());
      Consume(TokenType::kRightParen);
      return {std::move(e), true};
    }
    if (AtEnd()) Fail("Unexpected end of expression", Previous());
    Fail("Unexpected symbol", Peek());
    return {};
  }

  Parsed Literal(Value v) {
    auto n = NewNode(NodeKind::kLiteral, Previous().start);
    n->literal = std::move(v);
    return {std::move(n), false};
  }

  bool IsAllowedContext(std::string_view name) const {
    for (const auto& c : *opts_.allowed_contexts)
      if (detail::EqualsFolded(c, name)) return true;
    return false;
  }

  std::string KeyNote() const {
    if (opts_.workflow_key.empty()) return {};
    std::string note = " (in '" + opts_.workflow_key + "' the available contexts are: ";
    if (opts_.allowed_contexts) {
      for (size_t i = 0; i < opts_.allowed_contexts->size(); ++i)
        note += (i ? ", " : "") + (*opts_.allowed_contexts)[i];
    }
    note += "; functions: contains, startsWith, endsWith, format, join, toJSON, fromJSON, case";
    if (opts_.allow_status_functions) note += ", success, failure, cancelled, always";
    if (opts_.allow_hash_files) note += ", hashFiles";
    return note + ")";
  }

  [[noreturn]] void FailContext(const Token& t) { Fail("Unrecognized named-value", t, KeyNote()); }

  [[noreturn]] void Fail(std::string_view what, const Token& t, const std::string& note = {}) {
    std::string shown;
    if (t.type == TokenType::kEof)
      shown = "EOF";
    else if (t.type == TokenType::kString)
      shown = t.text;
    else
      shown = std::string(src_.substr(t.start, t.end - t.start));
    throw ParseFailure{detail::Located(std::string(what) + ": '" + shown + "'", src_, t.start) + note, t.start};
  }

  void Enter() {
    if (++depth_ > opts_.limits.max_depth) {
      const Token& t = Peek();
      throw ParseFailure{
          detail::Located("Exceeded max expression depth " + std::to_string(opts_.limits.max_depth), src_, t.start),
          t.start};
    }
  }

  Node* NewNode(NodeKind k, uint32_t position) {
    Node* n = tree_->New();
    n->kind = k;
    n->position = position;
    return n;
  }
  bool AtEnd() const { return tokens_[pos_].type == TokenType::kEof; }
  bool Check(TokenType t) const { return !AtEnd() && tokens_[pos_].type == t; }
  bool Match(TokenType t) {
    if (!Check(t)) return false;
    ++pos_;
    return true;
  }
  const Token& Next() {
    if (!AtEnd()) ++pos_;
    return Previous();
  }
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Previous() const { return tokens_[pos_ - 1]; }
  void Consume(TokenType t) {
    if (!Match(t)) Fail("Unexpected symbol", Peek());
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  const ParseOptions& opts_;
  detail::Tree* tree_;
  size_t pos_ = 0;
  size_t depth_ = 0;
};

}  // namespace

Result<Expression> Parse(std::string_view source, const ParseOptions& opts, Diagnostic* diag) {
  auto tokens = detail::Lex(source, opts.limits, diag);
  if (!tokens) return tokens.status();
  auto tree = std::make_shared<detail::Tree>();
  tree->source = std::string(source);
  Parser parser(tree->source, std::move(*tokens), opts, tree.get());
  try {
    tree->root = parser.Parse();
    return ExpressionBuilder::Make(std::move(tree), parser.uses_status);
  } catch (const ParseFailure& f) {
    if (diag) *diag = Diagnostic{ErrorKind::kParsing, detail::PositionOf(source, f.offset), f.message};
    return Result<Expression>::Error(f.message);
  }
}

bool Expression::UsesStatusFunction() const { return uses_status_function_; }

const std::string& Expression::source() const {
  static const std::string kEmpty;
  const detail::Tree* t = ExpressionBuilder::TreeOf(*this);
  return t ? t->source : kEmpty;
}

std::string Expression::ToString() const {
  const detail::Node* root = ExpressionBuilder::Root(*this);
  return root ? detail::NodeToString(*root) : "null";
}

namespace detail {

std::string NodeToString(const Node& n) {
  static const char* kOps[] = {"==", "!=", ">", ">=", "<", "<="};
  std::string s;
  switch (n.kind) {
    case NodeKind::kLiteral:
      return n.literal.is_string()                 ? n.literal.ToJson(false)
             : n.literal.ToDisplayString().empty() ? "null"
                                                   : n.literal.ToDisplayString();
    case NodeKind::kContext:
      return n.name;
    case NodeKind::kAccess:
      s = NodeToString(*n.children[0]);
      for (const auto& a : n.accessors) {
        if (a.type == Accessor::Type::kProperty)
          s += "." + a.property;
        else if (a.type == Accessor::Type::kStar)
          s += ".*";
        else
          s += "[" + NodeToString(*a.index) + "]";
      }
      return s;
    case NodeKind::kNot:
      return "!" + NodeToString(*n.children[0]);
    case NodeKind::kAnd:
    case NodeKind::kOr:
      for (size_t i = 0; i < n.children.size(); ++i)
        s += (i ? (n.kind == NodeKind::kAnd ? " && " : " || ") : "") + NodeToString(*n.children[i]);
      return "(" + s + ")";
    case NodeKind::kCompare:
      s = NodeToString(*n.children[0]);
      for (size_t i = 0; i < n.ops.size(); ++i)
        s += std::string(" ") + kOps[static_cast<int>(n.ops[i])] + " " + NodeToString(*n.children[i + 1]);
      return "(" + s + ")";
    case NodeKind::kCall:
      s = n.name + "(";
      for (size_t i = 0; i < n.children.size(); ++i) s += (i ? ", " : "") + NodeToString(*n.children[i]);
      return s + ")";
  }
  return s;
}

}  // namespace detail

}  // namespace gantry::expr
