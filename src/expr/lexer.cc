// The expression lexer (see lexer.h for the rules it follows).
#include "expr/lexer.h"

#include <cmath>

namespace gantry::expr::detail {

size_t PositionOf(std::string_view source, size_t byte_offset) {
  size_t units = 0;
  for (size_t i = 0; i < byte_offset && i < source.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(source[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += (c >= 0xF0) ? 2 : 1;      // astral characters are two UTF-16 units
  }
  return units + 1;
}

std::string Located(std::string_view what, std::string_view source, size_t byte_offset) {
  std::string msg(what);
  msg += ". Located at position ";
  msg += std::to_string(PositionOf(source, byte_offset));
  msg += " within expression: ";
  msg += source;
  return msg;
}

namespace {

bool IsSpace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Characters that end a number or identifier.
bool IsBoundary(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  switch (c) {
    case '(':
    case '[':
    case ')':
    case ']':
    case ',':
    case '.':
    case '!':
    case '>':
    case '<':
    case '=':
    case '&':
    case '|':
      return true;
    default:
      break;
  }
  if (IsSpace(c)) return true;
  // U+00A0 (no-break space) is whitespace to JavaScript's \s.
  return c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0;
}

bool IsLegalIdentifier(std::string_view s) {
  if (s.empty()) return false;
  char f = s[0];
  if (!((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || f == '_')) return false;
  for (char c : s.substr(1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  }
  return true;
}

class Lexer {
 public:
  Lexer(std::string_view src, Diagnostic* diag) : src_(src), diag_(diag) {}

  Result<std::vector<Token>> Run() {
    while (pos_ < src_.size()) {
      start_ = pos_;
      char c = src_[pos_++];
      switch (c) {
        case '(':
          Add(TokenType::kLeftParen);
          break;
        case ')':
          Add(TokenType::kRightParen);
          break;
        case '[':
          Add(TokenType::kLeftBracket);
          break;
        case ']':
          Add(TokenType::kRightBracket);
          break;
        case ',':
          Add(TokenType::kComma);
          break;
        case '.': {
          TokenType p = Previous();
          if (p != TokenType::kIdentifier && p != TokenType::kRightBracket && p != TokenType::kRightParen &&
              p != TokenType::kStar) {
            if (!Number()) return Fail();
          } else {
            Add(TokenType::kDot);
          }
          break;
        }
        case '-':
        case '+':
          if (!Number()) return Fail();
          break;
        case '!':
          Add(Match('=') ? TokenType::kNotEqual : TokenType::kBang);
          break;
        case '<':
          Add(Match('=') ? TokenType::kLessEqual : TokenType::kLess);
          break;
        case '>':
          Add(Match('=') ? TokenType::kGreaterEqual : TokenType::kGreater);
          break;
        case '=':
          if (!Match('=')) return Illegal();
          Add(TokenType::kEqual);
          break;
        case '&':
          if (!Match('&')) return Illegal();
          Add(TokenType::kAnd);
          break;
        case '|':
          if (!Match('|')) return Illegal();
          Add(TokenType::kOr);
          break;
        case '*':
          Add(TokenType::kStar);
          break;
        case ' ':
        case '\r':
        case '\t':
        case '\n':
          break;
        case '\'':
          if (!String()) return Fail();
          break;
        default:
          if (c >= '0' && c <= '9') {
            if (!Number()) return Fail();
          } else if (!Identifier()) {
            return Fail();
          }
      }
    }
    start_ = pos_;
    Add(TokenType::kEof);
    return std::move(tokens_);
  }

 private:
  TokenType Previous() const { return tokens_.empty() ? TokenType::kEof : tokens_.back().type; }
  bool Match(char c) {
    if (pos_ < src_.size() && src_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  Token& Add(TokenType t) {
    tokens_.push_back(Token{t, static_cast<uint32_t>(start_), static_cast<uint32_t>(pos_), 0, {}});
    return tokens_.back();
  }
  bool Error(std::string_view lexeme) {
    error_ = Located("Unexpected symbol: '" + std::string(lexeme) + "'", src_, start_);
    return false;
  }
  Result<std::vector<Token>> Fail() {
    if (diag_) *diag_ = Diagnostic{ErrorKind::kLexing, PositionOf(src_, start_), error_};
    return Result<std::vector<Token>>::Error(error_);
  }
  Result<std::vector<Token>> Illegal() {
    // GitHub reads on to the next boundary and reports the whole run.
    while (pos_ < src_.size() && !IsBoundary(src_, pos_)) ++pos_;
    Error(src_.substr(start_, pos_ - start_));
    return Fail();
  }
  bool Number() {
    while (pos_ < src_.size() && (!IsBoundary(src_, pos_) || src_[pos_] == '.')) ++pos_;
    std::string_view lexeme = src_.substr(start_, pos_ - start_);
    double v = StringToNumber(lexeme);
    // Number(" 1") would trim; a lexeme never holds spaces, but an empty one must not be 0.
    if (std::isnan(v) || lexeme.empty()) return Error(lexeme);
    Add(TokenType::kNumber).number = v;
    return true;
  }
  bool String() {
    std::string value;
    while (pos_ < src_.size()) {
      if (src_[pos_] == '\'') {
        if (pos_ + 1 < src_.size() && src_[pos_ + 1] == '\'') {
          value += '\'';  // '' is an escaped quote (every one, as the runner does)
          pos_ += 2;
          continue;
        }
        ++pos_;
        Add(TokenType::kString).text = std::move(value);
        return true;
      }
      value += src_[pos_++];
    }
    return Error(src_.substr(start_));
  }
  bool Identifier() {
    while (pos_ < src_.size() && !IsBoundary(src_, pos_)) ++pos_;
    std::string_view lexeme = src_.substr(start_, pos_ - start_);
    TokenType type = TokenType::kIdentifier;
    double number = 0;
    if (Previous() != TokenType::kDot) {
      if (lexeme == "true")
        type = TokenType::kTrue;
      else if (lexeme == "false")
        type = TokenType::kFalse;
      else if (lexeme == "null")
        type = TokenType::kNull;
      else if (lexeme == "NaN")
        type = TokenType::kNumber, number = std::nan("");
      else if (lexeme == "Infinity")
        type = TokenType::kNumber, number = INFINITY;
    }
    if (!IsLegalIdentifier(lexeme)) return Error(lexeme);
    Add(type).number = number;
    return true;
  }

  std::string_view src_;
  Diagnostic* diag_;
  size_t pos_ = 0, start_ = 0;
  std::vector<Token> tokens_;
  std::string error_;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view source, const Limits& limits, Diagnostic* diag) {
  if (source.size() > limits.max_length) {
    std::string msg = "Exceeded max expression length " + std::to_string(limits.max_length);
    if (diag) *diag = Diagnostic{ErrorKind::kLexing, 0, msg};
    return Result<std::vector<Token>>::Error(msg);
  }
  return Lexer(source, diag).Run();
}

}  // namespace gantry::expr::detail
