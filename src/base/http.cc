#include "base/http.h"

#include "base/strings.h"

namespace gantry::http {

std::string_view FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

const char* StatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  for (const auto& part : Split(query, '&')) {
    auto eq = part.find('=');
    std::string_view key = std::string_view(part).substr(0, eq);
    auto dkey = PercentDecode(key, true);
    if (!dkey || *dkey != name) continue;
    if (eq == std::string::npos) return std::string();
    auto value = PercentDecode(std::string_view(part).substr(eq + 1), true);
    if (value) return value;
  }
  return std::nullopt;
}

Result<std::string> Request::ReadAll(uint64_t limit) {
  if (content_length && *content_length > limit) {
    return Result<std::string>::Error("request body of " + std::to_string(*content_length) +
                                      " bytes is larger than the limit of " + std::to_string(limit));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    long long n = ReadBody(buf, sizeof buf);
    if (n < 0) return Result<std::string>::Error("request body could not be read");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      return Result<std::string>::Error("request body is larger than the limit of " + std::to_string(limit));
    }
  }
  return out;
}

void Response::Send(int status, std::string_view content_type, std::string_view body, const Headers& extra) {
  Headers headers = extra;
  if (!content_type.empty()) headers.push_back({"Content-Type", std::string(content_type)});
  if (!Start(status, headers, body.size())) return;
  if (!body.empty()) Write(body);
  Finish();
}

}  // namespace gantry::http
