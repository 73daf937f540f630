// The evaluator: walks the tree returning references to values that already exist (context
// data, literals) wherever it can, so a typical `if:` allocates nothing.
#include "expr/eval.h"

#include <cmath>

#include "expr/ast.h"
#include "expr/lexer.h"
#include "expr/value_rep.h"

namespace gantry::expr {

namespace detail {
const Node* RootOf(const Expression& e);
}

namespace {

using detail::Access;
using detail::Accessor;
using detail::Budget;
using detail::CompareOp;
using detail::EvalFailure;
using detail::Function;
using detail::Node;
using detail::NodeKind;

const Value kNull{};
const Value kTrue = Value::Bool(true);
const Value kFalse = Value::Bool(false);

const Value& BoolRef(bool b) { return b ? kTrue : kFalse; }

// An index value as GitHub reads it: its string form for objects, and a non-negative
// integer (floored) for arrays when it converts to one.
struct IndexKey {
  explicit IndexKey(const Value& v) {
    if (!v.is_array() && !v.is_object()) {
      has_str = true;
      str = v.is_string() ? v.string_value() : v.ToDisplayString();
    }
    double f = v.ToNumber();
    if (std::isfinite(f) && f >= 0) {
      has_int = true;
      f = std::floor(f);
      integer = f > 4e18 ? static_cast<size_t>(-1) : static_cast<size_t>(f);
    }
  }
  bool has_str = false, has_int = false;
  std::string str;
  size_t integer = 0;
};

class Evaluator {
 public:
  Evaluator(const EvalContext& ctx) : ctx_(ctx), budget_(ctx.max_memory) {}

  // Returns a reference to an existing value or to `scratch`.
  const Value& Eval(const Node& n, Value& scratch) {
    switch (n.kind) {
      case NodeKind::kLiteral:
        return n.literal;
      case NodeKind::kContext: {
        const auto* obj = Access::Obj(ctx_.contexts);
        const Value* v = obj ? obj->Find(n.name, n.hash) : nullptr;
        return v ? *v : kNull;
      }
      case NodeKind::kNot: {
        Value tmp;
        return BoolRef(!Eval(*n.children[0], tmp).Truthy());
      }
      case NodeKind::kAnd:
      case NodeKind::kOr: {
        bool is_and = n.kind == NodeKind::kAnd;
        for (size_t i = 0; i < n.children.size(); ++i) {
          Value tmp;
          const Value& r = Eval(*n.children[i], tmp);
          bool last = i + 1 == n.children.size();
          if (last || (is_and ? !r.Truthy() : r.Truthy())) {
            if (&r != &tmp) return r;
            scratch = std::move(tmp);
            return scratch;
          }
        }
        return kNull;
      }
      case NodeKind::kCompare: {
        Value ltmp;
        const Value* left = &Eval(*n.children[0], ltmp);
        bool result = false;
        for (size_t i = 0; i < n.ops.size(); ++i) {
          Value rtmp;
          const Value& right = Eval(*n.children[i + 1], rtmp);
          result = Compare(n.ops[i], *left, right);
          left = &BoolRef(result);
        }
        return BoolRef(result);
      }
      case NodeKind::kAccess:
        return EvalAccess(n, scratch);
      case NodeKind::kCall:
        return EvalCall(n, scratch);
    }
    return kNull;
  }

 private:
  static bool Compare(CompareOp op, const Value& a, const Value& b) {
    switch (op) {
      case CompareOp::kEqual:
        return detail::LooseEquals(a, b);
      case CompareOp::kNotEqual:
        return !detail::LooseEquals(a, b);
      case CompareOp::kGreater:
        return detail::GreaterThan(a, b);
      case CompareOp::kGreaterEqual:
        return detail::LooseEquals(a, b) || detail::GreaterThan(a, b);
      case CompareOp::kLess:
        return detail::LessThan(a, b);
      case CompareOp::kLessEqual:
        return detail::LooseEquals(a, b) || detail::LessThan(a, b);
    }
    return false;
  }

// GCC cannot see that `cur` never points at `owned` when any_owned is false.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wreturn-local-addr"
#endif
  const Value& EvalAccess(const Node& n, Value& scratch) {
    const Value* cur = &Eval(*n.children[0], scratch);
    // `cur` points into the context/literals or into one of these two owned slots.
    // Once a step builds a value, everything after it lives in that value's storage and
    // must be handed out through `scratch`.
    Value owned[2];
    int slot = 0;
    bool any_owned = false;
    if (cur == &scratch) {
      owned[0] = std::move(scratch);
      cur = &owned[0];
      slot = 1;
      any_owned = true;
    }
    for (const Accessor& acc : n.accessors) {
      Value next;
      const Value* r = Step(*cur, acc, next);
      if (r == &next) {
        owned[slot] = std::move(next);
        r = &owned[slot];
        slot ^= 1;
        any_owned = true;
      }
      cur = r;
    }
    if (!any_owned) return *cur;
    scratch = *cur;
    return scratch;
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  // One accessor applied to `v`: a reference into `v` or a new value in `out`.
  const Value* Step(const Value& v, const Accessor& acc, Value& out) {
    bool star = acc.type == Accessor::Type::kStar;
    if (acc.type == Accessor::Type::kProperty) {
      if (Access::IsFiltered(v)) {
        std::vector<Value> items;
        for (const Value& item : v.items()) {
          if (const auto* o = Access::Obj(item)) {
            if (const Value* f = o->Find(acc.property, acc.hash)) items.push_back(*f);
          } else if (item.is_array()) {
            IndexKey key(Value::String(acc.property));
            if (key.has_int)
              if (const Value* f = item.At(key.integer)) items.push_back(*f);
          }
        }
        return Filtered(std::move(items), out);
      }
      if (const auto* o = Access::Obj(v)) {
        const Value* f = o->Find(acc.property, acc.hash);
        return f ? f : &kNull;
      }
      if (v.is_array()) {
        // A property name never converts to an array index except digits-only names,
        // which the lexer does not produce; GitHub yields null.
        IndexKey key(Value::String(acc.property));
        const Value* f = key.has_int ? v.At(key.integer) : nullptr;
        return f ? f : &kNull;
      }
      return &kNull;
    }
    IndexKey key{Value()};
    if (!star) {
      Value tmp;
      key = IndexKey(Eval(*acc.index, tmp));
    }
    if (v.is_array()) {
      if (Access::IsFiltered(v)) {
        std::vector<Value> items;
        for (const Value& item : v.items()) {
          if (const auto* o = Access::Obj(item)) {
            if (star) {
              for (const auto& e : o->entries) items.push_back(e.second);
            } else if (key.has_str) {
              if (const Value* f = o->Find(key.str)) items.push_back(*f);
            }
          } else if (item.is_array()) {
            if (star) {
              for (const Value& x : item.items()) items.push_back(x);
            } else if (key.has_int) {
              if (const Value* f = item.At(key.integer)) items.push_back(*f);
            }
          }
        }
        return Filtered(std::move(items), out);
      }
      if (star) return Filtered(v.items(), out);
      const Value* f = key.has_int ? v.At(key.integer) : nullptr;
      return f ? f : &kNull;
    }
    if (const auto* o = Access::Obj(v)) {
      if (star) {
        std::vector<Value> items;
        items.reserve(o->entries.size());
        for (const auto& e : o->entries) items.push_back(e.second);
        return Filtered(std::move(items), out);
      }
      const Value* f = key.has_str ? o->Find(key.str) : nullptr;
      return f ? f : &kNull;
    }
    if (star) return Filtered({}, out);
    return &kNull;
  }

  const Value* Filtered(std::vector<Value> items, Value& out) {
    budget_.Charge(items.size() * sizeof(Value));
    out = Access::FilteredArray(std::move(items));
    return &out;
  }

  const Value& EvalCall(const Node& n, Value& scratch) {
    try {
      return EvalCallInner(n, scratch);
    } catch (EvalFailure& f) {
      if (f.offset < 0) f.offset = n.position;
      throw;
    }
  }

  // success('a', 'b') / failure('a') in a job's if: whether all (or any) of the named jobs
  // of `needs` ended with `result`. A name that is not in needs counts as not matching.
  bool NeedsResults(const Node& n, std::string_view result, bool all) {
    const Value* needs = ctx_.contexts.Find("needs");
    for (const auto& child : n.children) {
      Value tmp;
      const Value& name = Eval(*child, tmp);
      const Value* job = needs && needs->is_object() ? needs->Find(name.ToDisplayString()) : nullptr;
      const Value* r = job && job->is_object() ? job->Find("result") : nullptr;
      bool match = r && r->is_string() && r->string_value() == result;
      if (all && !match) return false;
      if (!all && match) return true;
    }
    return all;
  }

  const Value& EvalCallInner(const Node& n, Value& scratch) {
    switch (n.function) {
      case Function::kSuccess:
        if (!n.children.empty())
          return BoolRef(ctx_.status != JobStatus::kCancelled && NeedsResults(n, "success", true));
        return BoolRef(ctx_.status == JobStatus::kSuccess);
      case Function::kFailure:
        if (!n.children.empty()) return BoolRef(NeedsResults(n, "failure", false));
        return BoolRef(ctx_.status == JobStatus::kFailure);
      case Function::kCancelled:
        return BoolRef(ctx_.status == JobStatus::kCancelled);
      case Function::kAlways:
        return kTrue;
      default:
        break;
    }
    // GitHub evaluates every argument before calling (case() included).
    size_t argc = n.children.size();
    std::vector<Value> tmps(argc);
    std::vector<const Value*> args(argc);
    for (size_t i = 0; i < argc; ++i) args[i] = &Eval(*n.children[i], tmps[i]);
    auto own = [&](size_t i) -> const Value& {
      if (args[i] != &tmps[i]) return *args[i];
      scratch = std::move(tmps[i]);
      return scratch;
    };
    switch (n.function) {
      case Function::kContains:
        return BoolRef(detail::Contains(*args[0], *args[1]).bool_value());
      case Function::kStartsWith:
        return BoolRef(detail::StartsWith(*args[0], *args[1]));
      case Function::kEndsWith:
        return BoolRef(detail::EndsWith(*args[0], *args[1]));
      case Function::kFormat:
        scratch = detail::Format(args, budget_);
        return scratch;
      case Function::kJoin:
        scratch = detail::Join(args, budget_);
        return scratch;
      case Function::kToJson:
        scratch = detail::ToJson(*args[0], budget_);
        return scratch;
      case Function::kFromJson:
        scratch = detail::FromJson(*args[0], budget_);
        return scratch;
      case Function::kCase:
        for (size_t i = 0; i + 1 < argc; i += 2) {
          if (!args[i]->is_bool()) throw EvalFailure{"case predicate must evaluate to a boolean value"};
          if (args[i]->bool_value()) return own(i + 1);
        }
        return own(argc - 1);
      case Function::kHashFiles: {
        if (ctx_.workspace.empty()) throw EvalFailure{"hashFiles() needs a workspace directory"};
        std::vector<std::string> patterns;
        for (const Value* a : args) patterns.push_back(a->ToDisplayString());
        auto h = detail::HashFiles(ctx_.workspace, patterns);
        if (!h) throw EvalFailure{h.error()};
        scratch = Value::String(std::move(*h));
        return scratch;
      }
      default:
        break;
    }
    return kNull;
  }

  const EvalContext& ctx_;
  Budget budget_;
};

}  // namespace

Result<Value> Expression::Evaluate(const EvalContext& ctx, Diagnostic* diag) const {
  const Node* root = detail::RootOf(*this);
  if (!root) return Value();
  try {
    Evaluator ev(ctx);
    Value scratch;
    const Value& r = ev.Eval(*root, scratch);
    if (&r == &scratch) return scratch;
    return r;
  } catch (const EvalFailure& f) {
    // GitHub's message first (tests compare it), then where in the expression it happened.
    std::string msg = f.offset >= 0 ? detail::Located(f.message, source(), static_cast<size_t>(f.offset)) : f.message;
    if (diag)
      *diag = Diagnostic{ErrorKind::kEvaluation, f.offset >= 0 ? detail::PositionOf(source(), f.offset) : 0, msg};
    return Result<Value>::Error(msg);
  }
}

}  // namespace gantry::expr
