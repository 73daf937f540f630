// Base64 (RFC 4648) in the URL-safe alphabet without padding, as JWTs use it, and the
// standard one (Azure block ids). Decoders accept either padding style and refuse other bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gantry {

std::string Base64Url(std::string_view data);
std::string Base64(std::string_view data);
// Decodes either alphabet, with or without '=' padding; nullopt on any other character.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace gantry
