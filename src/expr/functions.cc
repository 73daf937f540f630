// The value functions (contains, startsWith, endsWith, format, join, toJSON, fromJSON) and
// the comparison rules they share with the operators.
#include <cmath>

#include "expr/casefold.h"
#include "expr/eval.h"
#include "expr/value_rep.h"

namespace gantry::expr::detail {

namespace {

bool IsPrimitive(const Value& v) { return !v.is_array() && !v.is_object(); }

// Two values after GitHub's type coercion: same kinds stay; number vs string → numbers;
// null and booleans become numbers. A kind mismatch after this compares false.
struct Coerced {
  Kind kind;  // kind of both, or kNull with mismatch=true
  bool mismatch = false;
  double ln = 0, rn = 0;
};

Coerced Coerce(const Value& a, const Value& b) {
  Kind ka = a.kind(), kb = b.kind();
  if (ka == kb)
    return {ka, false, ka == Kind::kNumber ? a.number_value() : 0, kb == Kind::kNumber ? b.number_value() : 0};
  auto numeric = [](Kind k) {
    return k == Kind::kNumber || k == Kind::kString || k == Kind::kNull || k == Kind::kBoolean;
  };
  // Any pair mixing number/string/null/boolean ends up as two numbers; a container on
  // either side is a mismatch (null/boolean vs container: number vs container → mismatch).
  if (numeric(ka) && numeric(kb)) return {Kind::kNumber, false, a.ToNumber(), b.ToNumber()};
  return {Kind::kNull, true};
}

}  // namespace

bool LooseEquals(const Value& a, const Value& b) {
  Coerced c = Coerce(a, b);
  if (c.mismatch) return false;
  switch (c.kind) {
    case Kind::kNull:
      return true;
    case Kind::kNumber:
      return c.ln == c.rn;  // NaN compares unequal
    case Kind::kString:
      return CompareIgnoreCase(a.string_value(), b.string_value()) == 0;
    case Kind::kBoolean:
      return a.bool_value() == b.bool_value();
    case Kind::kArray:
    case Kind::kObject:
      return Access::Identity(a) == Access::Identity(b);
  }
  return false;
}

bool GreaterThan(const Value& a, const Value& b) {
  Coerced c = Coerce(a, b);
  if (c.mismatch) return false;
  switch (c.kind) {
    case Kind::kNumber:
      return c.ln > c.rn;
    case Kind::kString:
      return CompareIgnoreCase(a.string_value(), b.string_value()) > 0;
    case Kind::kBoolean:
      return a.bool_value() && !b.bool_value();
    default:
      return false;
  }
}

bool LessThan(const Value& a, const Value& b) {
  Coerced c = Coerce(a, b);
  if (c.mismatch) return false;
  switch (c.kind) {
    case Kind::kNumber:
      return c.ln < c.rn;
    case Kind::kString:
      return CompareIgnoreCase(a.string_value(), b.string_value()) < 0;
    case Kind::kBoolean:
      return !a.bool_value() && b.bool_value();
    default:
      return false;
  }
}

namespace {

// The display string, without a copy when the value already is a string.
struct Text {
  explicit Text(const Value& v) {
    if (v.is_string()) {
      view = v.string_value();
    } else {
      owned = v.ToDisplayString();
      view = owned;
    }
  }
  std::string owned;
  std::string_view view;
};

}  // namespace

Value Contains(const Value& search, const Value& item) {
  if (IsPrimitive(search)) {
    if (!IsPrimitive(item)) return Value::Bool(false);
    Text s(search), i(item);
    return Value::Bool(FindIgnoreCase(s.view, i.view) != std::string_view::npos);
  }
  if (search.is_array()) {
    for (const Value& v : search.items())
      if (LooseEquals(item, v)) return Value::Bool(true);
  }
  return Value::Bool(false);
}

bool StartsWith(const Value& s, const Value& prefix) {
  if (!IsPrimitive(s) || !IsPrimitive(prefix)) return false;
  Text a(s), b(prefix);
  return b.view.size() <= a.view.size() && CompareIgnoreCase(a.view.substr(0, b.view.size()), b.view) == 0;
}

bool EndsWith(const Value& s, const Value& suffix) {
  if (!IsPrimitive(s) || !IsPrimitive(suffix)) return false;
  Text a(s), b(suffix);
  return b.view.size() <= a.view.size() && CompareIgnoreCase(a.view.substr(a.view.size() - b.view.size()), b.view) == 0;
}

// format('{0} and {{literal}}', x): GitHub's rules, including its errors for a lone brace or
// an index beyond the arguments. Text after the digits up to '}' is ignored, as GitHub does.
Value Format(const std::vector<const Value*>& args, Budget& budget) {
  Text fmt(*args[0]);
  std::string_view fs = fmt.view;
  std::string out;
  size_t index = 0;
  auto invalid = [&]() { throw EvalFailure{"The following format string is invalid: " + std::string(fs)}; };
  auto append = [&](std::string_view s) {
    budget.ChargeString(s.size());
    out += s;
  };
  while (index < fs.size()) {
    size_t lbrace = fs.find('{', index);
    size_t rbrace = fs.find('}', index);
    if (lbrace != std::string_view::npos && (rbrace == std::string_view::npos || rbrace > lbrace)) {
      if (lbrace + 1 < fs.size() && fs[lbrace + 1] == '{') {
        append(fs.substr(index, lbrace - index + 1));
        index = lbrace + 2;
        continue;
      }
      if (rbrace != std::string_view::npos && rbrace > lbrace + 1) {
        size_t d = lbrace + 1;
        double arg = 0;
        while (d < fs.size() && fs[d] >= '0' && fs[d] <= '9') arg = arg * 10 + (fs[d++] - '0');
        if (d > lbrace + 1) {
          if (arg + 1 > static_cast<double>(args.size() - 1))
            throw EvalFailure{"The following format string references more arguments than were supplied: " +
                              std::string(fs)};
          append(fs.substr(index, lbrace - index));
          Text a(*args[1 + static_cast<size_t>(arg)]);
          append(a.view);
          index = rbrace + 1;
          continue;
        }
      }
      invalid();
    } else if (rbrace != std::string_view::npos) {
      if (rbrace + 1 < fs.size() && fs[rbrace + 1] == '}') {
        append(fs.substr(index, rbrace - index + 1));
        index = rbrace + 2;
      } else {
        invalid();
      }
    } else {
      append(fs.substr(index));
      break;
    }
  }
  return Value::String(std::move(out));
}

Value Join(const std::vector<const Value*>& args, Budget& budget) {
  const Value& a = *args[0];
  if (IsPrimitive(a)) return Value::String(a.ToDisplayString());
  if (!a.is_array()) return Value::String("");
  std::string sep = ",";
  if (args.size() > 1 && IsPrimitive(*args[1])) sep = args[1]->ToDisplayString();
  std::string out;
  bool first = true;
  for (const Value& item : a.items()) {
    if (!first) {
      budget.ChargeString(sep.size());
      out += sep;
    }
    first = false;
    Text t(item);
    budget.ChargeString(t.view.size());
    out += t.view;
  }
  return Value::String(std::move(out));
}

Value FromJson(const Value& v, Budget& budget) {
  Text t(v);
  size_t b = 0, e = t.view.size();
  while (b < e && (t.view[b] == ' ' || (t.view[b] >= '\t' && t.view[b] <= '\r'))) ++b;
  while (e > b && (t.view[e - 1] == ' ' || (t.view[e - 1] >= '\t' && t.view[e - 1] <= '\r'))) --e;
  if (b == e) throw EvalFailure{"empty input"};
  budget.ChargeString(t.view.size());
  auto parsed = Value::FromJson(t.view);
  if (!parsed) throw EvalFailure{"Error parsing JSON when evaluating fromJson: " + parsed.error()};
  return std::move(*parsed);
}

Value ToJson(const Value& v, Budget& budget) {
  std::string s = v.ToJson(true);
  budget.ChargeString(s.size());
  return Value::String(std::move(s));
}

}  // namespace gantry::expr::detail
