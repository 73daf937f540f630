// A strict, allocation-free HTTP/1.1 head parser and body framer for the proxy data path.
// Heads are parsed in place (string_views into the caller's buffer) once FindHeadEnd has
// seen the blank line; bodies are framed incrementally (content-length, chunked, until
// close) so they stream through with bounded memory. Anything a back end could read
// differently from us (request smuggling) is an error: CL+TE, differing Content-Length,
// obs-fold, bare CR/LF, bad chunk sizes, space before a colon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gantry::lb::http1 {

inline constexpr int kMaxHeaders = 100;

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

enum class Framing { kNone, kLength, kChunked, kUntilClose };

struct RequestHead {
  std::string_view method;
  std::string_view target;
  int minor_version = 1;
  HeaderView headers[kMaxHeaders];
  int num_headers = 0;
  size_t head_bytes = 0;  // including the blank line
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool upgrade = false;  // "Connection: upgrade" with an Upgrade header
  bool expect_continue = false;
  std::string_view host;
  const char* error = nullptr;  // set when parsing failed
  int error_status = 400;       // 400, 431 (too many headers), 501 (unknown transfer coding)
};

struct ResponseHead {
  int status = 0;
  int minor_version = 1;
  std::string_view reason;
  HeaderView headers[kMaxHeaders];
  int num_headers = 0;
  size_t head_bytes = 0;
  Framing framing = Framing::kUntilClose;
  uint64_t content_length = 0;
  bool keep_alive = true;
  const char* error = nullptr;
};

// Looks for the end of a head ("\r\n\r\n") in data[0, len), resuming at *scan (updated).
// Returns the head length, or 0 when it is not complete yet.
size_t FindHeadEnd(const char* data, size_t len, size_t* scan);

// Parse a complete head of `len` bytes (as returned by FindHeadEnd). False on error (see ->error).
bool ParseRequestHead(const char* data, size_t len, RequestHead* out);
// `request_was_head` and the status decide whether a body follows.
bool ParseResponseHead(const char* data, size_t len, bool request_was_head, ResponseHead* out);

// Finds where a message body ends in a byte stream, without copying it.
class BodyFramer {
 public:
  void Reset(Framing framing, uint64_t length = 0);
  // Consumes up to n bytes belonging to the body; returns how many. done() once the body
  // (including the chunked terminator and trailers) is complete; error() on bad framing.
  size_t Consume(const char* p, size_t n);
  bool done() const { return state_ == State::kDone; }
  bool error() const { return state_ == State::kError; }
  Framing framing() const { return framing_; }
  uint64_t body_bytes() const { return body_bytes_; }  // payload bytes seen (excluding chunk framing)

 private:
  enum class State {
    kLength,
    kSize,
    kExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailer,
    kTrailerLf,
    kFinalLf,
    kUntilClose,
    kDone,
    kError
  };
  Framing framing_ = Framing::kNone;
  State state_ = State::kDone;
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  int digits_ = 0;
  size_t aux_ = 0;  // extension / trailer bytes seen, bounded
};

bool IsIdempotent(std::string_view method);

}  // namespace gantry::lb::http1
