// JSON request bodies (API and webhooks): size and nesting limits before nlohmann parses,
// errors as "body:line:col: what is wrong". Internal to src/server (nlohmann stays here).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace gantry::server {

inline constexpr int kMaxJsonDepth = 64;

Result<nlohmann::json> ParseJsonBody(std::string_view text, int max_depth = kMaxJsonDepth);
// A string member or `fallback`; an error when present with another type.
Result<std::string> StringField(const nlohmann::json& j, const char* name, const std::string& fallback = "");

}  // namespace gantry::server
