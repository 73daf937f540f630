// Internal: the shared storage behind string, array and object Values. Only src/expr/*.cc
// include this; other folders use value.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expr/value.h"

namespace gantry::expr::detail {

struct StringRep {
  std::string s;
};

struct ArrayRep {
  std::vector<Value> items;
  // GitHub's "filtered array": the result of a `*` access. Accessing a property of it
  // maps the access over its elements instead of indexing the array itself.
  bool filtered = false;
};

// ASCII case-folded FNV-1a, so lookups need no lowered copy of the key.
inline uint32_t FoldedHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
    h = (h ^ c) * 16777619u;
  }
  return h;
}

inline bool EqualsFolded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

struct ObjectRep {
  std::vector<std::pair<std::string, Value>> entries;
  // Open-addressing index (entry position + 1, 0 = empty) built once an object grows past
  // kLinearLimit entries; small objects are scanned, which is faster than hashing.
  std::vector<uint32_t> table;
  static constexpr size_t kLinearLimit = 8;

  const Value* Find(std::string_view key, uint32_t hash) const {
    if (table.empty()) {
      for (const auto& [k, v] : entries)
        if (EqualsFolded(k, key)) return &v;
      return nullptr;
    }
    size_t mask = table.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      uint32_t slot = table[i];
      if (slot == 0) return nullptr;
      const auto& e = entries[slot - 1];
      if (EqualsFolded(e.first, key)) return &e.second;
    }
  }
  const Value* Find(std::string_view key) const { return Find(key, table.empty() ? 0 : FoldedHash(key)); }
  int IndexOf(std::string_view key) const;
  void Insert(std::string key, Value value);  // key must not be present
  void Rebuild();
};

}  // namespace gantry::expr::detail

namespace gantry::expr::detail {

// Friend of Value: lets the evaluator reach the storage without copies.
struct Access {
  static const StringRep* Str(const Value& v) { return static_cast<const StringRep*>(v.rep_.get()); }
  static const ArrayRep* Arr(const Value& v) {
    return v.kind_ == Kind::kArray ? static_cast<const ArrayRep*>(v.rep_.get()) : nullptr;
  }
  static const ObjectRep* Obj(const Value& v) {
    return v.kind_ == Kind::kObject ? static_cast<const ObjectRep*>(v.rep_.get()) : nullptr;
  }
  static const void* Identity(const Value& v) { return v.rep_.get(); }
  static Value FilteredArray(std::vector<Value> items) {
    Value v = Value::Array(std::move(items));
    static_cast<ArrayRep*>(v.rep_.get())->filtered = true;
    return v;
  }
  static bool IsFiltered(const Value& v) {
    const ArrayRep* a = Arr(v);
    return a && a->filtered;
  }
};

}  // namespace gantry::expr::detail
