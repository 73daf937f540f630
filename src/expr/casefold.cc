// Case-insensitive comparison for expression strings (see casefold.h).
#include "expr/casefold.h"

namespace gantry::expr::detail {

uint32_t UpperCodePoint(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;  // à..þ
  if (c == 0xFF) return 0x178;                             // ÿ
  if (c == 0xB5) return 0x39C;                             // µ
  if (c >= 0x100 && c <= 0x17F) {                          // Latin Extended-A pairs
    if (c == 0x131) return c;                              // dotless ı stays (GitHub's exception)
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 0) ? c - 1 : c;
    if (c == 0x17F) return 'S';
    if (c >= 0x100 && c <= 0x137) return (c % 2 == 1) ? c - 1 : c;
    if (c >= 0x14A && c <= 0x177) return (c % 2 == 1) ? c - 1 : c;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;  // α..ω, final ς → Σ
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c >= 0x430 && c <= 0x44F) return c - 32;  // а..я
  if (c >= 0x450 && c <= 0x45F) return c - 80;  // ѐ..џ
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
    return (c % 2 == 1) ? c - 1 : c;
  return c;
}

namespace {

// Decodes one UTF-8 sequence at s[i]; invalid bytes decode as themselves (one byte).
uint32_t Next(std::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len <= 1 || i + len > s.size()) {
    ++i;
    return len == 1 ? c : 0xDC00 + c;  // keep invalid bytes distinct from real characters
  }
  uint32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xDC00 + c;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

}  // namespace

int CompareIgnoreCase(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[j]);
    uint32_t cx, cy;
    if ((x | y) < 0x80) {
      cx = (x >= 'a' && x <= 'z') ? x - 32u : x;
      cy = (y >= 'a' && y <= 'z') ? y - 32u : y;
      ++i, ++j;
    } else {
      cx = UpperCodePoint(Next(a, i));
      cy = UpperCodePoint(Next(b, j));
    }
    if (cx != cy) return cx < cy ? -1 : 1;
  }
  if (i == a.size() && j == b.size()) return 0;
  return i == a.size() ? -1 : 1;
}

size_t FindIgnoreCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return 0;
  for (size_t start = 0; start + needle.size() <= hay.size() || start < hay.size();) {
    size_t i = start, j = 0;
    while (i < hay.size() && j < needle.size()) {
      size_t i0 = i, j0 = j;
      uint32_t x = UpperCodePoint(Next(hay, i)), y = UpperCodePoint(Next(needle, j));
      (void)i0, (void)j0;
      if (x != y) break;
    }
    if (j == needle.size()) return start;
    // Advance by one character.
    size_t k = start;
    Next(hay, k);
    start = k;
    if (start >= hay.size()) break;
  }
  return std::string_view::npos;
}

}  // namespace gantry::expr::detail
