// Matrix expansion with GitHub's include/exclude semantics, and instance display names.
#include "engine/engine.h"
#include "expr/expr.h"

namespace gantry::engine {

expr::Value ToValue(const workflow::Literal& l) {
  using Kind = workflow::Literal::Kind;
  switch (l.kind) {
    case Kind::kNull:
      return expr::Value();
    case Kind::kBool:
      return expr::Value::Bool(l.boolean);
    case Kind::kNumber:
      return expr::Value::Number(l.number);
    case Kind::kString:
      return expr::Value::String(l.string);
    case Kind::kSequence: {
      std::vector<expr::Value> items;
      items.reserve(l.items.size());
      for (const auto& item : l.items) items.push_back(ToValue(item));
      return expr::Value::Array(std::move(items));
    }
    case Kind::kMapping: {
      expr::Value obj = expr::Value::Object();
      for (const auto& [k, v] : l.members) obj.Set(k, ToValue(v));
      return obj;
    }
  }
  return expr::Value();
}

bool LiteralNeedsEvaluation(const workflow::Literal& l) {
  using Kind = workflow::Literal::Kind;
  if (l.kind == Kind::kString) return expr::ContainsExpression(l.string);
  for (const auto& item : l.items) {
    if (LiteralNeedsEvaluation(item)) return true;
  }
  for (const auto& m : l.members) {
    if (m.key == workflow::kInsertKey || LiteralNeedsEvaluation(m.value)) return true;
  }
  return false;
}

namespace {

std::string Where(const std::string& file, workflow::Mark mark) {
  return file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": ";
}

Result<expr::Value> EvalString(const std::string& text, workflow::Mark mark, const expr::Value& contexts,
                               const std::string& file) {
  Result<expr::Template> t = expr::ParseTemplate(text, expr::OptionsForKey("jobs.<job_id>.strategy"));
  if (!t.ok()) return Result<expr::Value>::Error(Where(file, mark) + t.error());
  expr::EvalContext ctx;
  ctx.contexts = contexts;
  Result<expr::Value> v = t->Evaluate(ctx);
  if (!v.ok()) return Result<expr::Value>::Error(Where(file, mark) + v.error());
  return v;
}

Result<expr::Value> EvalLiteral(const workflow::Literal& l, const expr::Value& contexts, const std::string& file) {
  using Kind = workflow::Literal::Kind;
  if (!LiteralNeedsEvaluation(l)) return ToValue(l);
  if (l.kind == Kind::kString) return EvalString(l.string, l.mark, contexts, file);
  if (l.kind == Kind::kSequence) {
    std::vector<expr::Value> items;
    for (const auto& item : l.items) {
      Result<expr::Value> v = EvalLiteral(item, contexts, file);
      if (!v.ok()) return v;
      items.push_back(std::move(*v));
    }
    return expr::Value::Array(std::move(items));
  }
  expr::Value obj = expr::Value::Object();
  for (const auto& m : l.members) {
    if (m.key != workflow::kInsertKey) {
      Result<expr::Value> v = EvalLiteral(m.value, contexts, file);
      if (!v.ok()) return v;
      obj.Set(m.key, std::move(*v));
      continue;
    }
    Result<expr::Value> v = EvalString(m.value.string, m.value.mark, contexts, file);
    if (!v.ok()) return v;
    if (v->is_null()) continue;
    if (!v->is_object()) {
      return Result<expr::Value>::Error(Where(file, m.value.mark) +
                                        "the value of '${{ insert }}' must be a mapping, got '" + v->ToDisplayString() +
                                        "'");
    }
    for (const auto& [k, iv] : v->entries()) obj.Set(k, iv);
  }
  return obj;
}

}  // namespace

Result<expr::Value> EvaluateMatrix(const workflow::Strategy& s, const expr::Value& contexts, const std::string& file) {
  if (s.matrix_expression) {
    return EvalString(s.matrix_expression->value, s.matrix_expression->mark, contexts, file);
  }
  expr::Value m = expr::Value::Object();
  for (const auto& [key, values] : s.dimensions) {
    std::vector<expr::Value> items;
    for (const auto& v : values) {
      Result<expr::Value> e = EvalLiteral(v, contexts, file);
      if (!e.ok()) return e;
      items.push_back(std::move(*e));
    }
    m.Set(key, expr::Value::Array(std::move(items)));
  }
  for (const auto* list : {&s.include, &s.exclude}) {
    if (list->empty()) continue;
    std::vector<expr::Value> items;
    for (const auto& v : *list) {
      Result<expr::Value> e = EvalLiteral(v, contexts, file);
      if (!e.ok()) return e;
      items.push_back(std::move(*e));
    }
    m.Set(list == &s.include ? "include" : "exclude", expr::Value::Array(std::move(items)));
  }
  for (const auto& [key, text] : s.dimension_expressions) {
    Result<expr::Value> v = EvalString(text.value, text.mark, contexts, file);
    if (!v.ok()) return v;
    m.Set(key, *v);
  }
  return m;
}

std::optional<expr::Value> StaticMatrix(const workflow::Strategy& s) {
  if (!s.has_matrix || s.matrix_expression || !s.dimension_expressions.empty()) return std::nullopt;
  for (const auto& [key, values] : s.dimensions) {
    for (const auto& v : values) {
      if (LiteralNeedsEvaluation(v)) return std::nullopt;
    }
  }
  for (const auto* list : {&s.include, &s.exclude}) {
    for (const auto& v : *list) {
      if (LiteralNeedsEvaluation(v)) return std::nullopt;
    }
  }
  expr::Value m = expr::Value::Object();
  for (const auto& [key, values] : s.dimensions) {
    std::vector<expr::Value> items;
    for (const auto& v : values) items.push_back(ToValue(v));
    m.Set(key, expr::Value::Array(std::move(items)));
  }
  auto list = [](const std::vector<workflow::Literal>& entries) {
    std::vector<expr::Value> items;
    for (const auto& e : entries) items.push_back(ToValue(e));
    return expr::Value::Array(std::move(items));
  };
  if (!s.include.empty()) m.Set("include", list(s.include));
  if (!s.exclude.empty()) m.Set("exclude", list(s.exclude));
  return m;
}

namespace {

// Keys are compared as written (GitHub matrix keys are case-sensitive in include/exclude).
const expr::Value* Get(const std::vector<std::pair<std::string, expr::Value>>& entries, const std::string& key) {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

struct Combination {
  std::vector<std::pair<std::string, expr::Value>> original;  // from the dimensions
  std::vector<std::pair<std::string, expr::Value>> added;     // from include
};

void SetEntry(std::vector<std::pair<std::string, expr::Value>>& entries, const std::string& key, const expr::Value& v) {
  for (auto& [k, old] : entries) {
    if (k == key) {
      old = v;
      return;
    }
  }
  entries.emplace_back(key, v);
}

}  // namespace

Result<std::vector<expr::Value>> ExpandMatrix(const expr::Value& matrix, size_t limit) {
  if (!matrix.is_object()) return Result<std::vector<expr::Value>>::Error("the matrix must be a mapping");
  std::vector<std::pair<std::string, std::vector<expr::Value>>> dims;
  const expr::Value* include = nullptr;
  const expr::Value* exclude = nullptr;
  for (const auto& [key, value] : matrix.entries()) {
    if (key == "include") {
      include = &value;
    } else if (key == "exclude") {
      exclude = &value;
    } else {
      if (!value.is_array()) {
        return Result<std::vector<expr::Value>>::Error("matrix vector '" + key + "' must be a sequence");
      }
      if (value.size() == 0) {
        return Result<std::vector<expr::Value>>::Error("Matrix vector '" + key + "' does not contain any values");
      }
      dims.emplace_back(key, value.items());
    }
  }
  for (const expr::Value* list : {include, exclude}) {
    if (!list) continue;
    if (!list->is_array()) return Result<std::vector<expr::Value>>::Error("matrix include/exclude must be a sequence");
    for (const auto& e : list->items()) {
      if (!e.is_object()) {
        return Result<std::vector<expr::Value>>::Error("matrix include/exclude entries must be mappings");
      }
    }
  }
  // Cartesian product, first dimension varying slowest (GitHub's order).
  std::vector<Combination> combos;
  if (!dims.empty()) {
    size_t total = 1;
    for (const auto& d : dims) {
      total *= d.second.size();
      if (total > limit) {
        return Result<std::vector<expr::Value>>::Error("the matrix has more than " + std::to_string(limit) +
                                                       " combinations");
      }
    }
    combos.resize(total);
    size_t repeat = total;
    for (const auto& [key, values] : dims) {
      repeat /= values.size();
      for (size_t i = 0; i < total; ++i) combos[i].original.emplace_back(key, values[(i / repeat) % values.size()]);
    }
  }
  if (exclude) {
    std::vector<Combination> kept;
    for (auto& c : combos) {
      bool excluded = false;
      for (const auto& e : exclude->items()) {
        bool all = e.size() > 0;
        for (const auto& [k, v] : e.entries()) {
          const expr::Value* have = Get(c.original, k);
          if (!have || !have->StrictEquals(v)) {
            all = false;
            break;
          }
        }
        if (all) {
          excluded = true;
          break;
        }
      }
      if (!excluded) kept.push_back(std::move(c));
    }
    combos = std::move(kept);
  }
  const size_t product = combos.size();
  if (include) {
    for (const auto& e : include->items()) {
      bool extended = false;
      // Only combinations of the product can be extended; ones added by include cannot.
      for (size_t i = 0; i < product; ++i) {
        Combination& c = combos[i];
        bool compatible = true;
        for (const auto& [k, v] : e.entries()) {
          const expr::Value* orig = Get(c.original, k);
          if (orig && !orig->StrictEquals(v)) {
            compatible = false;
            break;
          }
        }
        if (!compatible) continue;
        extended = true;
        for (const auto& [k, v] : e.entries()) {
          if (!Get(c.original, k)) SetEntry(c.added, k, v);
        }
      }
      if (!extended) {
        Combination c;
        c.original = e.entries();
        combos.push_back(std::move(c));
        if (combos.size() > limit) {
          return Result<std::vector<expr::Value>>::Error("the matrix has more than " + std::to_string(limit) +
                                                         " combinations");
        }
      }
    }
  }
  if (combos.empty()) {
    return Result<std::vector<expr::Value>>::Error("the matrix has no combinations (every one is excluded)");
  }
  std::vector<expr::Value> out;
  for (const auto& c : combos) {
    expr::Value obj = expr::Value::Object();
    for (const auto& [k, v] : c.original) obj.Set(k, v);
    for (const auto& [k, v] : c.added) obj.Set(k, v);
    out.push_back(std::move(obj));
  }
  return out;
}

std::string InstanceName(const workflow::Job& job, const expr::Value& matrix) {
  std::string base = job.name && !job.name->has_expression && !job.name->value.empty() ? job.name->value : job.id;
  if (!matrix.is_object() || matrix.size() == 0) return base;
  // GitHub shows the matrix values unless the name already uses the matrix context.
  if (job.name && job.name->has_expression) return base;
  std::string out = base + " (";
  bool first = true;
  for (const auto& [k, v] : matrix.entries()) {
    if (!first) out += ", ";
    first = false;
    out += v.is_object() || v.is_array() ? v.ToJson(false) : v.ToDisplayString();
  }
  return out + ")";
}

}  // namespace gantry::engine
