#include "server/json_body.h"

#include "base/strings.h"

namespace gantry::server {
namespace {

std::string Position(std::string_view text, size_t offset) { return TextPosition("body", text, offset); }

}  // namespace

Result<nlohmann::json> ParseJsonBody(std::string_view text, int max_depth) {
  using R = Result<nlohmann::json>;
  // Depth check first: nlohmann recurses per level.
  int depth = 0;
  bool in_string = false, escape = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return R::Error(Position(text, i) + ": nesting deeper than " + std::to_string(max_depth));
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    size_t colon = what.rfind(": ");
    return R::Error(Position(text, e.byte == 0 ? 0 : e.byte - 1) +
                    ": invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    return R::Error(Position(text, 0) + ": invalid JSON: " + e.what());
  }
}

Result<std::string> StringField(const nlohmann::json& j, const char* name, const std::string& fallback) {
  if (!j.is_object()) return Result<std::string>::Error("body: expected a JSON object");
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return Result<std::string>::Error(std::string("body: '") + name + "' must be a string");
  return it->get<std::string>();
}

}  // namespace gantry::server
