// Matrix expansion with GitHub's include/exclude semantics, and instance display names.
#include "engine/engine.h"

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

std::optional<expr::Value> StaticMatrix(const workflow::Strategy& s) {
  if (!s.has_matrix || s.matrix_expression || !s.dimension_expressions.empty()) return std::nullopt;
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
