#include "base/http_auth.h"

#include "base/base64.h"
#include "base/strings.h"

namespace gantry::http {

bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password) {
  if (header.size() < 6 || !EqualsIgnoreCase(header.substr(0, 6), "basic ")) return false;
  std::string_view b64 = Trim(header.substr(6));
  if (b64.empty() || b64.size() > 4096 || b64.size() % 4 != 0) return false;
  std::optional<std::string> decoded = Base64UrlDecode(b64);
  if (!decoded) return false;
  const std::string& out = *decoded;
  size_t colon = out.find(':');
  if (colon == std::string::npos) return false;
  *user = out.substr(0, colon);
  *password = out.substr(colon + 1);
  return true;
}

std::string_view BearerToken(std::string_view header) {
  if (header.size() < 7 || !EqualsIgnoreCase(header.substr(0, 7), "bearer ")) return {};
  return Trim(header.substr(7));
}

std::string PresentedToken(std::string_view header) {
  std::string token(BearerToken(header));
  std::string user, password;
  if (token.empty() && ParseBasicAuth(header, &user, &password)) token = password;
  return token;
}

}  // namespace gantry::http
