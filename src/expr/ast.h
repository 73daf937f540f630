// Internal: the parsed tree. Chains (a.b[c].*, a == b != c, a && b && c) are flat lists so
// that evaluating them needs no recursion beyond the nesting the parser already limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expr/value.h"

namespace gantry::expr::detail {

enum class NodeKind { kLiteral, kContext, kAccess, kNot, kAnd, kOr, kCompare, kCall };
enum class CompareOp { kEqual, kNotEqual, kGreater, kGreaterEqual, kLess, kLessEqual };
enum class Function {
  kContains,
  kStartsWith,
  kEndsWith,
  kFormat,
  kJoin,
  kToJson,
  kFromJson,
  kHashFiles,
  kCase,
  kSuccess,
  kAlways,
  kFailure,
  kCancelled
};

struct Node;

struct Accessor {
  enum class Type { kProperty, kStar, kIndex } type;
  std::string property;         // kProperty (a .name access)
  uint32_t hash = 0;            // FoldedHash(property)
  std::unique_ptr<Node> index;  // kIndex
};

struct Node {
  NodeKind kind;
  uint32_t position = 0;  // byte offset of the node's first token
  Value literal;          // kLiteral
  std::string name;       // kContext: the name as written; kCall: the function name as written
  uint32_t hash = 0;      // kContext: FoldedHash(name)
  Function function = Function::kContains;
  std::vector<std::unique_ptr<Node>> children;  // operands / arguments / access base
  std::vector<CompareOp> ops;                   // kCompare: ops[i] joins children[i], children[i+1]
  std::vector<Accessor> accessors;              // kAccess
};

// Canonical text of a tree (for tests and debugging).
std::string NodeToString(const Node& n);

}  // namespace gantry::expr::detail
