// Internal: case-insensitive string comparison as GitHub does it (upper-casing both sides,
// except the dotless ı). ASCII takes a fast path; Latin-1, Latin Extended-A, Greek and
// Cyrillic letters are upper-cased; other scripts compare as they are.
#pragma once

#include <cstdint>
#include <string_view>

namespace gantry::expr::detail {

uint32_t UpperCodePoint(uint32_t c);
// <0, 0, >0 comparing the upper-cased strings code point by code point.
int CompareIgnoreCase(std::string_view a, std::string_view b);
// Byte offset of the first case-insensitive occurrence of `needle` in `hay`, or npos.
size_t FindIgnoreCase(std::string_view hay, std::string_view needle);

}  // namespace gantry::expr::detail
