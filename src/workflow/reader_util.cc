// The reader's shared accessors: shapes, keys, scalars, texts and literals with limits.
#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "base/strings.h"
#include "expr/expr.h"
#include "workflow/reader_internal.h"

namespace gantry::workflow::internal {
namespace {

constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (auto o : options) {
    if (s == o) return true;
  }
  return false;
}

// `${{ insert }}` (GitHub's directive to merge a mapping into the one around it).
bool IsInsertDirective(std::string_view s) {
  s = Trim(s);
  if (!StartsWith(s, "${{") || !EndsWith(s, "}}")) return false;
  return Trim(s.substr(3, s.size() - 5)) == "insert";
}

// True if one of the ${{ }} segments of a longer string is the insert directive.
bool EmbedsInsertDirective(std::string_view s) {
  for (size_t open = s.find("${{"); open != std::string_view::npos; open = s.find("${{", open + 3)) {
    size_t close = s.find("}}", open + 3);
    if (close == std::string_view::npos) return false;
    if (Trim(s.substr(open + 3, close - open - 3)) == "insert") return true;
  }
  return false;
}

bool MatchesInt(const std::string& s) {
  static const std::regex re("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  return std::regex_match(s, re);
}

bool MatchesFloat(const std::string& s) {
  static const std::regex re(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  return std::regex_match(s, re);
}

double ParseNumber(const std::string& s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return static_cast<double>(std::stoull(s.substr(2), nullptr, 16));
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return static_cast<double>(std::stoull(s.substr(2), nullptr, 8));
  std::string_view v = s;
  double sign = 1;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    if (v[0] == '-') sign = -1;
    v.remove_prefix(1);
  }
  if (v == ".inf" || v == ".Inf" || v == ".INF") return sign * INFINITY;
  if (v == ".nan" || v == ".NaN" || v == ".NAN") return NAN;
  return std::strtod(s.c_str(), nullptr);
}

}  // namespace

ScalarType ResolveScalar(const YAML::Node& node) {
  if (node.IsNull()) return ScalarType::kNull;
  const std::string& tag = node.Tag();
  const std::string& s = node.Scalar();
  if (tag == "!") return ScalarType::kString;  // quoted or block scalar
  if (tag.rfind(kCoreTag, 0) == 0) {
    std::string_view t = std::string_view(tag).substr(kCoreTag.size());
    if (t == "str") return ScalarType::kString;
    if (t == "null") return ScalarType::kNull;
    if (t == "bool") return ScalarType::kBool;
    if (t == "int") return ScalarType::kInt;
    if (t == "float") return ScalarType::kFloat;
  }
  if (IsOneOf(s, {"", "~", "null", "Null", "NULL"})) return ScalarType::kNull;
  if (IsOneOf(s, {"true", "True", "TRUE", "false", "False", "FALSE"})) return ScalarType::kBool;
  if (MatchesInt(s)) return ScalarType::kInt;
  if (MatchesFloat(s)) return ScalarType::kFloat;
  return ScalarType::kString;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() >= 100) return false;
  if (!(std::isalpha(static_cast<unsigned char>(id[0])) || id[0] == '_')) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

Mark Reader::MarkOf(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return {};
  return Mark{m.line + 1, m.column + 1};
}

void Reader::Error(Mark mark, std::string message) { errors_.push_back(Diagnostic{file_, mark, std::move(message)}); }

bool Reader::IsNull(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull() || (node.IsScalar() && ResolveScalar(node) == ScalarType::kNull);
}

bool Reader::CountNode(const YAML::Node& node) {
  if (++nodes_ <= options_.max_nodes) return true;
  if (!node_limit_reported_) {
    node_limit_reported_ = true;
    Error(node, "Maximum object size exceeded (more than " + std::to_string(options_.max_nodes) + " YAML nodes)");
  }
  return false;
}

bool Reader::ExpectMap(const YAML::Node& node) {
  if (node.IsMap()) return true;
  if (node.IsSequence()) {
    Error(node, "A sequence was not expected");
  } else if (node.IsScalar() && !node.Scalar().empty()) {
    Error(node, "Unexpected value '" + node.Scalar() + "'");
  } else {
    Error(node, "A mapping was expected");
  }
  return false;
}

bool Reader::ExpectSeq(const YAML::Node& node) {
  if (node.IsSequence()) return true;
  if (node.IsMap()) {
    Error(node, "A mapping was not expected");
  } else {
    Error(node, "A sequence was expected");
  }
  return false;
}

bool Reader::ExpectScalar(const YAML::Node& node) {
  if (node.IsScalar() || node.IsNull()) return true;
  Error(node, node.IsMap() ? "A mapping was not expected" : "A sequence was not expected");
  return false;
}

void Reader::ForEachKey(const YAML::Node& map, const std::vector<std::string_view>& known, const KeyFn& fn,
                        const KeyFn* on_insert) {
  if (!map.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!CountNode(kv.second)) return;
    const YAML::Node& key_node = kv.first;
    if (!key_node.IsScalar()) {
      Error(key_node, "A mapping key must be a string");
      continue;
    }
    const std::string& key = key_node.Scalar();
    if (IsInsertDirective(key)) {
      if (on_insert != nullptr) {
        (*on_insert)(key, key_node, kv.second);
      } else {
        Error(key_node, "The directive 'insert' is not allowed in this context");
      }
      continue;
    }
    if (expr::ContainsExpression(key)) {
      Error(key_node, "A template expression is not allowed in this context");
      continue;
    }
    if (!seen.insert(key).second) {
      Error(key_node, "'" + key + "' is already defined");
      continue;
    }
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      Error(key_node, "Unexpected value '" + key + "'");
      continue;
    }
    fn(key, key_node, kv.second);
  }
}

bool Reader::Require(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return false;
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
  }
  Error(map, "Required property is missing: " + std::string(key));
  return false;
}

std::optional<std::string> Reader::String(const YAML::Node& node) {
  if (!ExpectScalar(node)) return std::nullopt;
  if (ResolveScalar(node) == ScalarType::kNull) return std::string();
  return node.Scalar();
}

std::optional<Text> Reader::ReadText(const YAML::Node& node, std::string_view key, ExprUse use) {
  std::optional<std::string> s = String(node);
  if (!s) return std::nullopt;
  Text text{std::move(*s), MarkOf(node), false};
  if (text.value.size() > options_.max_expression_bytes) {
    Error(text.mark,
          "The string exceeds the maximum length of " + std::to_string(options_.max_expression_bytes) + " characters");
    return std::nullopt;
  }
  switch (use) {
    case ExprUse::kNone:
      if (expr::ContainsExpression(text.value)) {
        Error(text.mark, "A template expression is not allowed in this context");
        return std::nullopt;
      }
      break;
    case ExprUse::kTemplate:
      text.has_expression = expr::ContainsExpression(text.value);
      if (text.has_expression) CheckTemplate(text, key);
      break;
    case ExprUse::kCondition:
      text.has_expression = true;
      CheckCondition(text, key);
      break;
  }
  return text;
}

std::optional<Text> Reader::ReadBoolOrExpr(const YAML::Node& node, std::string_view key) {
  if (!ExpectScalar(node)) return std::nullopt;
  ScalarType t = ResolveScalar(node);
  if (t == ScalarType::kBool)
    return Text{node.Scalar() == "true" || node.Scalar() == "True" || node.Scalar() == "TRUE" ? "true" : "false",
                MarkOf(node), false};
  if (t == ScalarType::kString && expr::ContainsExpression(node.Scalar())) {
    return ReadText(node, key, ExprUse::kTemplate);
  }
  Error(node, "Unexpected value '" + node.Scalar() + "'");
  return std::nullopt;
}

std::optional<Text> Reader::ReadNumberOrExpr(const YAML::Node& node, std::string_view key) {
  if (!ExpectScalar(node)) return std::nullopt;
  ScalarType t = ResolveScalar(node);
  if (t == ScalarType::kInt || t == ScalarType::kFloat) return Text{node.Scalar(), MarkOf(node), false};
  if (t == ScalarType::kString && expr::ContainsExpression(node.Scalar())) {
    return ReadText(node, key, ExprUse::kTemplate);
  }
  Error(node, "Unexpected value '" + node.Scalar() + "'");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::StringList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!CountNode(item)) return std::nullopt;
      std::optional<Text> t = ReadText(item, "", ExprUse::kNone);
      if (!t) return std::nullopt;
      out.push_back(std::move(t->value));
    }
    return out;
  }
  std::optional<Text> t = ReadText(node, "", ExprUse::kNone);
  if (!t) return std::nullopt;
  out.push_back(std::move(t->value));
  return out;
}

TextMap Reader::ReadTextMap(const YAML::Node& node, std::string_view key) {
  TextMap out;
  if (IsNull(node)) return out;
  if (node.IsScalar() && expr::ContainsExpression(node.Scalar())) {
    // A whole-mapping expression (`env: ${{ fromJSON(...) }}`) works like one insert.
    if (std::optional<Text> t = ReadText(node, key, ExprUse::kTemplate)) out.emplace_back(kInsertKey, std::move(*t));
    return out;
  }
  if (!ExpectMap(node)) return out;
  KeyFn insert = [&](const std::string&, const YAML::Node&, const YAML::Node& value) {
    if (value.IsMap()) {
      TextMap inner = ReadTextMap(value, key);
      out.insert(out.end(), inner.begin(), inner.end());
    } else if (value.IsScalar() && expr::ContainsExpression(value.Scalar())) {
      if (std::optional<Text> t = ReadText(value, key, ExprUse::kTemplate)) out.emplace_back(kInsertKey, std::move(*t));
    } else {
      Error(value, "The value of '${{ insert }}' must be a mapping or an expression");
    }
  };
  ForEachKey(
      node, {},
      [&](const std::string& name, const YAML::Node&, const YAML::Node& value) {
        if (std::optional<Text> t = ReadText(value, key, ExprUse::kTemplate)) out.emplace_back(name, std::move(*t));
      },
      &insert);
  return out;
}

std::optional<Literal> Reader::ReadLiteral(const YAML::Node& node, int depth, std::string_view expr_key) {
  if (!CountNode(node)) return std::nullopt;
  if (depth > options_.max_depth) {
    Error(node, "Maximum object depth exceeded (" + std::to_string(options_.max_depth) + ")");
    return std::nullopt;
  }
  Literal lit;
  lit.mark = MarkOf(node);
  if (node.IsSequence()) {
    lit.kind = Literal::Kind::kSequence;
    for (const auto& item : node) {
      std::optional<Literal> v = ReadLiteral(item, depth + 1, expr_key);
      if (!v) return std::nullopt;
      lit.items.push_back(std::move(*v));
    }
    return lit;
  }
  if (node.IsMap()) {
    lit.kind = Literal::Kind::kMapping;
    bool ok = true;
    auto set = [&](const std::string& key, Literal v) {
      for (auto& m : lit.members) {
        if (m.key == key && key != kInsertKey) {
          m.value = std::move(v);
          return;
        }
      }
      lit.members.push_back(LiteralMember{key, std::move(v)});
    };
    KeyFn insert = [&](const std::string&, const YAML::Node& key_node, const YAML::Node& value) {
      if (!ok) return;
      if (value.IsMap()) {
        std::optional<Literal> inner = ReadLiteral(value, depth + 1, expr_key);
        if (!inner) {
          ok = false;
          return;
        }
        for (auto& m : inner->members) set(m.key, std::move(m.value));
      } else if (value.IsScalar() && ResolveScalar(value) == ScalarType::kString &&
                 expr::ContainsExpression(value.Scalar())) {
        std::optional<Text> t = ReadText(value, expr_key, ExprUse::kTemplate);
        if (!t) return;
        Literal e;
        e.kind = Literal::Kind::kString;
        e.string = t->value;
        e.mark = t->mark;
        lit.members.push_back(LiteralMember{kInsertKey, std::move(e)});
      } else {
        Error(key_node, "The value of '${{ insert }}' must be a mapping or an expression");
      }
    };
    ForEachKey(
        node, {},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
          if (!ok) return;
          std::optional<Literal> v = ReadLiteral(value, depth + 1, expr_key);
          if (!v) {
            ok = false;
            return;
          }
          set(key, std::move(*v));
        },
        expr_key.empty() ? nullptr : &insert);
    if (!ok) return std::nullopt;
    return lit;
  }
  switch (ResolveScalar(node)) {
    case ScalarType::kNull:
      lit.kind = Literal::Kind::kNull;
      break;
    case ScalarType::kBool: {
      const std::string& s = node.Scalar();
      if (!IsOneOf(s, {"true", "True", "TRUE", "false", "False", "FALSE"})) {
        Error(node, "The value '" + s + "' is invalid for the type 'tag:yaml.org,2002:bool'");
        return std::nullopt;
      }
      lit.kind = Literal::Kind::kBool;
      lit.boolean = s[0] == 't' || s[0] == 'T';
      break;
    }
    case ScalarType::kInt:
    case ScalarType::kFloat: {
      const std::string& s = node.Scalar();
      if (!MatchesInt(s) && !MatchesFloat(s)) {
        Error(node, "The value '" + s + "' is invalid for the type 'tag:yaml.org,2002:float'");
        return std::nullopt;
      }
      lit.kind = Literal::Kind::kNumber;
      lit.number = ParseNumber(s);
      lit.string = s;
      break;
    }
    case ScalarType::kString:
      lit.kind = Literal::Kind::kString;
      lit.string = node.Scalar();
      if (!expr_key.empty() && expr::ContainsExpression(lit.string)) {
        if (!ReadText(node, expr_key, ExprUse::kTemplate)) return std::nullopt;
      }
      break;
  }
  return lit;
}

void Reader::CheckTemplate(const Text& text, std::string_view key) {
  if (EmbedsInsertDirective(text.value)) {
    Error(text.mark,
          "The directive 'insert' is not allowed in this context. Directives are not supported for expressions that "
          "are embedded within a string. Directives are only supported when the entire value is an expression.");
    return;
  }
  expr::ParseOptions opts = key.empty() ? expr::ParseOptions{} : expr::OptionsForKey(key);
  Result<expr::Template> t = expr::ParseTemplate(text.value, opts);
  if (!t.ok()) Error(text.mark, t.error());
}

void Reader::CheckCondition(const Text& text, std::string_view key) {
  expr::ParseOptions opts = expr::OptionsForKey(key);
  Result<expr::Expression> e = expr::ParseCondition(text.value, opts);
  if (!e.ok()) Error(text.mark, e.error());
}

}  // namespace gantry::workflow::internal
