// The files a step writes to talk back to the runner: GITHUB_ENV and GITHUB_OUTPUT
// (`NAME=value` lines or the heredoc form `NAME<<DELIM` ... `DELIM`), GITHUB_PATH (one
// directory per line) and GITHUB_STATE (like GITHUB_ENV).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gantry::runner {

// Limits for what a step may hand back (the files are written by untrusted scripts).
inline constexpr size_t kMaxEnvFileBytes = 8u << 20;

using NameValues = std::vector<std::pair<std::string, std::string>>;

// Parses GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE content. `file` names the file in errors
// ("GITHUB_ENV:3:1: ..."). Values keep inner newlines of the heredoc form (without the last).
Result<NameValues> ParseEnvFile(std::string_view content, std::string_view file);

// Parses GITHUB_PATH content: non-empty lines, in the order written.
std::vector<std::string> ParsePathFile(std::string_view content);

// Parses a dotenv file (`--secret-file`): `NAME=value` lines, `#` comments, blank lines, an
// optional `export ` prefix, values in single quotes (literal) or double quotes (backslash escapes
// for n, t, r, quote and backslash; may span lines). Errors are "file:line:col: message".
Result<NameValues> ParseDotenv(std::string_view content, std::string_view file);

}  // namespace gantry::runner
