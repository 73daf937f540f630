// Internal: the expression lexer. Follows GitHub's token rules (identifiers may contain '-',
// '.' starts a number unless it follows a property-like token, keywords are case-sensitive).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "expr/expr.h"

namespace gantry::expr::detail {

enum class TokenType {
  kLeftParen,
  kRightParen,
  kLeftBracket,
  kRightBracket,
  kComma,
  kDot,
  kBang,
  kNotEqual,
  kEqual,
  kGreater,
  kGreaterEqual,
  kLess,
  kLessEqual,
  kAnd,
  kOr,
  kStar,
  kNumber,
  kString,
  kIdentifier,
  kTrue,
  kFalse,
  kNull,
  kEof
};

struct Token {
  TokenType type;
  uint32_t start;  // byte offsets into the source
  uint32_t end;
  double number = 0;  // kNumber
  std::string text;   // kString: the unescaped value
};

// 1-based position as GitHub reports it (UTF-16 code units before the byte offset, plus one).
size_t PositionOf(std::string_view source, size_t byte_offset);

// "<what>. Located at position N within expression: <source>"
std::string Located(std::string_view what, std::string_view source, size_t byte_offset);

// Tokenizes `source`; the last token is kEof. Fills diag on a lexing error.
Result<std::vector<Token>> Lex(std::string_view source, const Limits& limits, Diagnostic* diag);

}  // namespace gantry::expr::detail
