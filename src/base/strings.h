// Small string helpers used across the tree (ASCII only, no locale).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gantry {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);
std::string_view Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// Replaces every occurrence of `from` (non-empty) with `to`.
std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to);
// "name:line:col" (1-based) of byte `offset` in `text`, for errors that point at the bad spot.
std::string TextPosition(std::string_view name, std::string_view text, size_t offset);
// Quotes a string for a POSIX shell: 'it'\''s'.
std::string ShellQuote(std::string_view s);
// Parses "10s", "5m", "250ms", "1h" into milliseconds; -1 if malformed.
long long ParseDurationMs(std::string_view s);

}  // namespace gantry
