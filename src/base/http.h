// The HTTP handler contract shared by everything the server mounts (REST API, git smart
// HTTP, the OCI registry, artifacts, /metrics, the dashboard). Handlers are synchronous and
// stream bodies in both directions with bounded memory; the server implementation
// (src/server) owns sockets, parsing, limits and threads. The load balancer's data path
// (src/lb) is separate and does not use this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// Case-insensitive lookup; empty when absent.
std::string_view FindHeader(const Headers& headers, std::string_view name);
// Decodes %XX (and '+' as space when `plus_is_space`); nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);
std::string PercentEncode(std::string_view s);
const char* StatusText(int status);

class Request {
 public:
  virtual ~Request() = default;

  std::string method;  // "GET"
  std::string target;  // the raw request-target, e.g. "/v2/x/blobs/uploads/?digest=sha256:..."
  std::string path;    // percent-decoded path without the query; the server refuses ".." segments
  std::string query;   // raw query string, without '?'
  Headers headers;
  std::string remote_addr;                 // "127.0.0.1:53422"
  std::optional<uint64_t> content_length;  // nullopt when the body is chunked
  // Filled by routers: the part of `path` after the mounted prefix, and named captures.
  std::string rest;

  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
  // The first value of a query parameter, decoded; nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const;

  // Streams the body: bytes read, 0 at its end, -1 on error (client gone, limit exceeded).
  virtual long long ReadBody(char* buf, size_t n) = 0;
  // Reads the whole body; an error if it is longer than `limit` bytes.
  Result<std::string> ReadAll(uint64_t limit);
};

class Response {
 public:
  virtual ~Response() = default;
  // Sends the status line and headers. Without a content length the body is chunked
  // (streams, Server-Sent Events).
  virtual bool Start(int status, const Headers& headers, std::optional<uint64_t> content_length) = 0;
  // False when the client went away; handlers then stop writing.
  virtual bool Write(std::string_view data) = 0;
  virtual bool Flush() = 0;
  // Sends `length` bytes of file `fd` from `offset` as body bytes: zero-copy (sendfile) where
  // the server can, else pread + Write (http_file.cc). False when the client went away.
  virtual bool WriteFile(int fd, uint64_t offset, uint64_t length);
  // Ends the body (the last chunk for chunked responses). Called by the server if the
  // handler did not.
  virtual void Finish() = 0;
  virtual bool started() const = 0;

  // Whole response in one call.
  void Send(int status, std::string_view content_type, std::string_view body, const Headers& extra = {});
};

using Handler = std::function<void(Request&, Response&)>;

}  // namespace gantry::http
