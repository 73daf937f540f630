// Credentials in an Authorization header, shared by the API, git, and the registry.
#pragma once

#include <string>
#include <string_view>

namespace gantry::http {

// "Basic base64(user:password)" → user and password. False when the scheme is not Basic, the
// base64 is malformed or longer than 4 KiB, or the decoded text has no colon (RFC 7617).
bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password);

// "Bearer TOKEN" → TOKEN (scheme case-insensitive, blanks trimmed); empty otherwise.
std::string_view BearerToken(std::string_view header);

// The token a client presents: a bearer token, or the password of Basic auth, which is how
// git (`https://user:TOKEN@host`) and `docker login -p TOKEN` send it. Empty when neither.
std::string PresentedToken(std::string_view header);

}  // namespace gantry::http
