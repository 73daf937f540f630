// Value: construction, lookup, coercions and number formatting (GitHub's rules).
#include "expr/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "expr/value_rep.h"

namespace gantry::expr {

using detail::ArrayRep;
using detail::ObjectRep;
using detail::StringRep;

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "Null";
    case Kind::kBoolean:
      return "Boolean";
    case Kind::kNumber:
      return "Number";
    case Kind::kString:
      return "String";
    case Kind::kArray:
      return "Array";
    case Kind::kObject:
      return "Object";
  }
  return "Null";
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBoolean;
  v.bool_ = b;
  return v;
}

Value Value::Number(double n) {
  Value v;
  v.kind_ = Kind::kNumber;
  v.number_ = n;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.rep_ = std::make_shared<StringRep>(StringRep{std::move(s)});
  return v;
}

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kArray;
  auto rep = std::make_shared<ArrayRep>();
  rep->items = std::move(items);
  v.rep_ = std::move(rep);
  return v;
}

Value Value::Object() {
  Value v;
  v.kind_ = Kind::kObject;
  v.rep_ = std::make_shared<ObjectRep>();
  return v;
}

const std::string& Value::string_value() const {
  static const std::string kEmpty;
  return kind_ == Kind::kString ? static_cast<const StringRep*>(rep_.get())->s : kEmpty;
}

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  return kind_ == Kind::kArray ? static_cast<const ArrayRep*>(rep_.get())->items : kEmpty;
}

const std::vector<std::pair<std::string, Value>>& Value::entries() const {
  static const std::vector<std::pair<std::string, Value>> kEmpty;
  return kind_ == Kind::kObject ? static_cast<const ObjectRep*>(rep_.get())->entries : kEmpty;
}

size_t Value::size() const {
  if (kind_ == Kind::kArray) return static_cast<const ArrayRep*>(rep_.get())->items.size();
  if (kind_ == Kind::kObject) return static_cast<const ObjectRep*>(rep_.get())->entries.size();
  return 0;
}

const Value* Value::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  return static_cast<const ObjectRep*>(rep_.get())->Find(key);
}

const Value* Value::At(size_t index) const {
  if (kind_ != Kind::kArray) return nullptr;
  const auto& items = static_cast<const ArrayRep*>(rep_.get())->items;
  return index < items.size() ? &items[index] : nullptr;
}

namespace detail {

int ObjectRep::IndexOf(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return -1;
  for (size_t i = 0; i < entries.size(); ++i)
    if (&entries[i].second == v) return static_cast<int>(i);
  return -1;
}

void ObjectRep::Rebuild() {
  size_t cap = 16;
  while (cap < entries.size() * 2) cap *= 2;
  table.assign(cap, 0);
  size_t mask = cap - 1;
  for (size_t e = 0; e < entries.size(); ++e) {
    size_t i = FoldedHash(entries[e].first) & mask;
    while (table[i] != 0) i = (i + 1) & mask;
    table[i] = static_cast<uint32_t>(e + 1);
  }
}

void ObjectRep::Insert(std::string key, Value value) {
  entries.emplace_back(std::move(key), std::move(value));
  if (entries.size() <= kLinearLimit) return;
  if (table.empty() || entries.size() * 2 > table.size()) {
    Rebuild();
    return;
  }
  size_t mask = table.size() - 1;
  size_t i = FoldedHash(entries.back().first) & mask;
  while (table[i] != 0) i = (i + 1) & mask;
  table[i] = static_cast<uint32_t>(entries.size());
}

}  // namespace detail

void Value::Set(std::string key, Value value) {
  if (kind_ != Kind::kObject) return;
  if (rep_.use_count() > 1) rep_ = std::make_shared<ObjectRep>(*static_cast<ObjectRep*>(rep_.get()));
  auto* obj = static_cast<ObjectRep*>(rep_.get());
  int at = obj->IndexOf(key);
  if (at >= 0) {
    obj->entries[at].second = std::move(value);
    return;
  }
  obj->Insert(std::move(key), std::move(value));
}

void Value::Push(Value value) {
  if (kind_ != Kind::kArray) return;
  if (rep_.use_count() > 1) rep_ = std::make_shared<ArrayRep>(*static_cast<ArrayRep*>(rep_.get()));
  static_cast<ArrayRep*>(rep_.get())->items.push_back(std::move(value));
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kNull:
      return false;
    case Kind::kBoolean:
      return bool_;
    case Kind::kNumber:
      return !(number_ == 0 || std::isnan(number_));
    case Kind::kString:
      return !static_cast<const StringRep*>(rep_.get())->s.empty();
    default:
      return true;
  }
}

double Value::ToNumber() const {
  switch (kind_) {
    case Kind::kNull:
      return 0;
    case Kind::kBoolean:
      return bool_ ? 1 : 0;
    case Kind::kNumber:
      return number_;
    case Kind::kString:
      return StringToNumber(static_cast<const StringRep*>(rep_.get())->s);
    default:
      return std::nan("");
  }
}

std::string Value::ToDisplayString() const {
  switch (kind_) {
    case Kind::kNull:
      return "";
    case Kind::kBoolean:
      return bool_ ? "true" : "false";
    case Kind::kNumber:
      return NumberToString(number_);
    case Kind::kString:
      return static_cast<const StringRep*>(rep_.get())->s;
    case Kind::kArray:
      return "Array";
    case Kind::kObject:
      return "Object";
  }
  return "";
}

bool Value::StrictEquals(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBoolean:
      return bool_ == other.bool_;
    case Kind::kNumber:
      return number_ == other.number_ || (std::isnan(number_) && std::isnan(other.number_));
    case Kind::kString:
      return string_value() == other.string_value();
    case Kind::kArray: {
      const auto &a = items(), &b = other.items();
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!a[i].StrictEquals(b[i])) return false;
      return true;
    }
    case Kind::kObject: {
      const auto &a = entries(), &b = other.entries();
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (a[i].first != b[i].first || !a[i].second.StrictEquals(b[i].second)) return false;
      return true;
    }
  }
  return false;
}

// The runner formats numbers with .NET's "G15": 15 significant digits, scientific notation
// when the exponent is < -5 or >= 15 ("1E+15", "1E-05"); C's %.15G follows the same rules.
std::string NumberToString(double n) {
  if (std::isnan(n)) return "NaN";
  if (std::isinf(n)) return n > 0 ? "Infinity" : "-Infinity";
  if (n == 0) return "0";
  char buf[64];
  int len = std::snprintf(buf, sizeof buf, "%.15G", n);
  return std::string(buf, len > 0 ? static_cast<size_t>(len) : 0);
}

namespace {

bool IsJsSpace(std::string_view s, size_t i, size_t* width) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) {
    *width = 1;
    return true;
  }
  // U+00A0 and U+FEFF, the non-ASCII spaces most likely to appear in data.
  if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) {
    *width = 2;
    return true;
  }
  if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBB &&
      static_cast<unsigned char>(s[i + 2]) == 0xBF) {
    *width = 3;
    return true;
  }
  return false;
}

double ParseRadix(std::string_view digits, int radix) {
  if (digits.empty()) return std::nan("");
  double v = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nan("");
    if (d >= radix) return std::nan("");
    v = v * radix + d;
  }
  return v;
}

}  // namespace

// JavaScript's Number(string), which GitHub's evaluator uses for string→number coercion.
double StringToNumber(std::string_view s) {
  size_t b = 0, e = s.size(), w = 0;
  while (b < e && IsJsSpace(s, b, &w)) b += w;
  while (e > b) {
    size_t k = e - 1;
    // Step back over a possibly multi-byte space.
    while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    if (!IsJsSpace(s, k, &w) || k + w != e) break;
    e = k;
  }
  std::string_view t = s.substr(b, e - b);
  if (t.empty()) return 0;
  if (t.size() > 2 && t[0] == '0') {
    char p = t[1];
    if (p == 'x' || p == 'X') return ParseRadix(t.substr(2), 16);
    if (p == 'o' || p == 'O') return ParseRadix(t.substr(2), 8);
    if (p == 'b' || p == 'B') return ParseRadix(t.substr(2), 2);
  }
  bool negative = false;
  std::string_view u = t;
  if (u[0] == '+' || u[0] == '-') {
    negative = u[0] == '-';
    u.remove_prefix(1);
  }
  if (u == "Infinity") return negative ? -INFINITY : INFINITY;
  // StrUnsignedDecimalLiteral: digits [. digits] [e[+-]digits], at least one mantissa digit.
  size_t i = 0, mant = 0;
  while (i < u.size() && u[i] >= '0' && u[i] <= '9') ++i, ++mant;
  if (i < u.size() && u[i] == '.') {
    ++i;
    while (i < u.size() && u[i] >= '0' && u[i] <= '9') ++i, ++mant;
  }
  if (mant == 0) return std::nan("");
  if (i < u.size() && (u[i] == 'e' || u[i] == 'E')) {
    ++i;
    if (i < u.size() && (u[i] == '+' || u[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < u.size() && u[i] >= '0' && u[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return std::nan("");
  }
  if (i != u.size()) return std::nan("");
  double v = 0;
  // from_chars does not take "5." or ".5" forms in every library; normalise through a buffer.
  std::string buf(u);
  if (buf[0] == '.') buf.insert(buf.begin(), '0');
  auto [ptr, ec] = std::from_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // Overflow → Infinity, underflow → 0, as JavaScript does.
    bool big = buf.find_first_of("eE") == std::string::npos || buf[buf.find_first_of("eE") + 1] != '-';
    v = big ? INFINITY : 0.0;
  } else if (ec != std::errc() || ptr != buf.data() + buf.size()) {
    // "5." is accepted by JavaScript; from_chars stops before a trailing '.'.
    if (ptr == buf.data() + buf.size() - 1 && buf.back() == '.') {
    } else {
      return std::nan("");
    }
  }
  return negative ? -v : v;
}

}  // namespace gantry::expr
