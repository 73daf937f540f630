// A small blocking HTTP/1.1 client (plain http:// only) for CLI commands, webhooks and
// tests: one connection per request, bounded reads, a streaming response body (logs -f,
// Server-Sent Events) and an optional streaming request body.
//
//   auto res = http::Fetch(http::MakeRequest("GET", "http://127.0.0.1:8080/api/v1/projects"));
//   if (!res.ok()) ...;  // could not connect / malformed response: the server is unavailable
//   res->status, res->body
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"
#include "base/status.h"

namespace gantry::http {

struct Url {
  std::string host;  // without brackets for IPv6
  int port = 80;
  std::string target = "/";  // path and query
};
// Parses "http://host[:port][/path][?query]".
Result<Url> ParseUrl(std::string_view url);

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Streaming upload instead of `body`: called until it returns 0 (end) or -1 (abort).
  // Sent with `body_length` as Content-Length when given, chunked otherwise.
  std::function<long long(char*, size_t)> body_source;
  std::optional<uint64_t> body_length;
  int timeout_ms = 30000;  // connect, and each read or write
};

// (Designated initializers trip -Wmissing-field-initializers under GCC; use this.)
inline ClientRequest MakeRequest(std::string method, std::string url, std::string body = {}, Headers headers = {}) {
  ClientRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
};

// Sends the request and reads the whole response; an error when the server cannot be
// reached, the response is malformed, or its body exceeds `max_body` bytes.
Result<ClientResponse> Fetch(const ClientRequest& request, uint64_t max_body = 64ull << 20);

// Sends the request and leaves the response body to be read as it arrives.
class ClientStream {
 public:
  static Result<std::unique_ptr<ClientStream>> Open(const ClientRequest& request);
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  int status() const;
  const Headers& headers() const;
  // Bytes read, 0 at the end of the body, -1 on error.
  long long Read(char* buf, size_t n);
  // One line without its "\n" (and "\r"); false at the end of the body or on error.
  bool ReadLine(std::string* line, size_t max = 1 << 20);
  // Reads the rest of the body (up to `limit` bytes).
  Result<std::string> ReadAll(uint64_t limit);
  // Sets the timeout for subsequent reads (streams that idle longer, like `logs -f`).
  void set_timeout_ms(int ms);

 private:
  struct Impl;
  explicit ClientStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::http
