// gantry::expr::Value — the data model of GitHub Actions expressions and contexts:
// null | boolean | number (double) | string | array | object.
//
// Values are cheap to copy: strings, arrays and objects live in shared, reference-counted
// storage. A container is mutable only while its storage is not shared (Set/Push on a value
// being built); once copied, the copies share it and a later Set/Push clones first.
// Object keys keep their original case, but Find() matches them case-insensitively (ASCII),
// as GitHub does for context names and properties.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gantry::expr {

enum class Kind { kNull, kBoolean, kNumber, kString, kArray, kObject };

// "Null", "Boolean", "Number", "String", "Array", "Object" (GitHub's names).
std::string_view KindName(Kind kind);

// Limits for reading JSON from outside (contexts files, fromJSON()).
struct JsonLimits {
  size_t max_bytes = 16u << 20;  // input size
  size_t max_depth = 100;        // nesting of arrays/objects
};

class Value;
namespace detail {
struct StringRep;
struct ArrayRep;
struct ObjectRep;
struct Access;
}  // namespace detail

class Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Number(double n);
  static Value String(std::string s);
  static Value String(std::string_view s) { return String(std::string(s)); }
  static Value String(const char* s) { return String(std::string(s)); }
  static Value Array(std::vector<Value> items = {});
  static Value Object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBoolean; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // Raw accessors; each returns a neutral value (false, 0, "", empty) for other kinds.
  bool bool_value() const { return kind_ == Kind::kBoolean && bool_; }
  double number_value() const { return kind_ == Kind::kNumber ? number_ : 0.0; }
  const std::string& string_value() const;
  const std::vector<Value>& items() const;                            // array elements
  const std::vector<std::pair<std::string, Value>>& entries() const;  // object, insertion order
  size_t size() const;  // elements of an array, entries of an object, else 0

  // Object property by name, ASCII case-insensitive; nullptr if absent or not an object.
  const Value* Find(std::string_view key) const;
  // Array element; nullptr if out of range or not an array.
  const Value* At(size_t index) const;

  // Building (only on a value of the matching kind; clones shared storage first).
  // Set replaces an existing key that matches case-insensitively (keeping its position).
  void Set(std::string key, Value value);
  void Push(Value value);

  // GitHub's coercions.
  bool Truthy() const;      // false for null, false, 0, NaN, ""; true otherwise
  double ToNumber() const;  // null→0, bool→0/1, string→parsed (''→0, bad→NaN), array/object→NaN
  // The string form used by interpolation and format(): null→'', true/false, numbers with up to
  // 15 significant digits (-0 → '0'), strings as is, arrays 'Array', objects 'Object'.
  std::string ToDisplayString() const;

  // JSON as toJSON() prints it (pretty: two-space indent, like GitHub). Numbers use the display
  // form; NaN/Infinity print as the display form too (GitHub does the same).
  std::string ToJson(bool pretty = true) const;
  // Parses JSON (as fromJSON() does); refuses input over the limits with a clear message.
  static Result<Value> FromJson(std::string_view json, const JsonLimits& limits = {});

  // Structural equality with case-sensitive strings (for tests and caches; not the `==` of
  // expressions, which coerces — see expr.h).
  bool StrictEquals(const Value& other) const;

 private:
  friend struct detail::Access;
  Kind kind_ = Kind::kNull;
  union {
    bool bool_;
    double number_ = 0.0;
  };
  // StringRep, ArrayRep or ObjectRep depending on kind_.
  std::shared_ptr<void> rep_;
};

// Formats a number as GitHub does: 15 significant digits, no exponent for ordinary
// magnitudes, '-0' as '0', 'NaN', 'Infinity', '-Infinity'.
std::string NumberToString(double n);
// Parses a number as GitHub's string→number coercion does (trimmed; '' → 0; hex 0x..,
// octal 0o.., exponent, Infinity/-Infinity; anything else → NaN).
double StringToNumber(std::string_view s);

}  // namespace gantry::expr
