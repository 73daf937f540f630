// HTTP/1.1 wire format shared by the server (http_server.cc) and the client (http_client.cc):
// a buffered socket with timeouts, strict message-head parsing and body framing
// (Content-Length, chunked, until-close). Strict on purpose: anything ambiguous
// (CL+TE, duplicate Content-Length, obs-fold, bare CR/LF) is refused, so a proxy in
// front of us and we can never disagree about where a request ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"
#include "base/status.h"

namespace gantry::http::wire {

struct Limits {
  size_t max_head_bytes = 64 * 1024;  // request/status line + headers
  size_t max_headers = 100;
  size_t max_target_bytes = 8 * 1024;  // request-target
  size_t max_chunk_line = 1024;        // chunk-size line incl. extensions
  size_t max_trailer_bytes = 16 * 1024;
};

// A parse failure with the HTTP status the server answers with (400, 414, 431, 501).
struct HeadError {
  int status = 400;
  std::string message;
};

enum class BodyKind { kNone, kLength, kChunked, kUntilClose };

struct RequestHead {
  std::string method;
  std::string target;
  std::string path;  // decoded, ".." segments refused
  std::string query;
  int minor_version = 1;  // HTTP/1.x
  Headers headers;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
};

struct ResponseHead {
  int status = 0;
  int minor_version = 1;
  Headers headers;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
};

// `head` is everything up to and including the blank line ("\r\n\r\n").
bool ParseRequestHead(std::string_view head, const Limits& limits, RequestHead* out, HeadError* err);
// `request_method` decides whether a body follows (HEAD, 204, 304 have none).
bool ParseResponseHead(std::string_view head, std::string_view request_method, const Limits& limits, ResponseHead* out,
                       HeadError* err);
// Validates and decodes a request path; refuses "..", NUL and non-origin forms.
bool DecodePath(std::string_view raw_path, std::string* out);

// A blocking socket with an input buffer. Owns the fd.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }
  // Reads up to n bytes (buffered first); 0 at EOF, -1 on error/timeout.
  long long Read(char* buf, size_t n);
  // Reads the message head (through "\r\n\r\n"). Returns false at clean EOF before any
  // byte (`*eof` = true), on timeout/error, or when the head exceeds `max` (`*too_big`).
  bool ReadHead(size_t max, std::string* head, bool* eof, bool* too_big);
  // Reads one CRLF-terminated line (without CRLF), at most `max` bytes.
  bool ReadLine(size_t max, std::string* line);
  bool WriteAll(std::string_view data);
  // True when buffered or socket data is ready within `ms` (for keep-alive idle waits).
  bool WaitReadable(int ms);
  bool has_buffered() const { return pos_ < buf_.size(); }
  void ShutdownBoth();

 private:
  bool Fill();
  int fd_;
  int timeout_ms_ = 30000;
  std::string buf_;
  size_t pos_ = 0;
};

// Decodes one message body from a Conn according to its framing, with a byte limit.
class BodyDecoder {
 public:
  BodyDecoder(Conn* conn, BodyKind kind, uint64_t length, uint64_t limit, const Limits& limits)
      : conn_(conn), kind_(kind), remaining_(length), limit_(limit), limits_(limits) {}
  // Bytes read, 0 at the end of the body, -1 on error (malformed, limit, connection).
  long long Read(char* buf, size_t n);
  bool done() const { return done_ || kind_ == BodyKind::kNone; }
  bool failed() const { return failed_; }
  uint64_t total() const { return total_; }

 private:
  long long Fail() {
    failed_ = true;
    return -1;
  }
  Conn* conn_;
  BodyKind kind_;
  uint64_t remaining_;  // of the content length or of the current chunk
  uint64_t limit_;
  Limits limits_;
  uint64_t total_ = 0;
  bool done_ = false;
  bool failed_ = false;
  bool in_chunk_ = false;
};

// Connects to host:port over TCP (IPv4/IPv6 via getaddrinfo); fd or an error.
Result<int> ConnectTcp(const std::string& host, int port, int timeout_ms);

}  // namespace gantry::http::wire
