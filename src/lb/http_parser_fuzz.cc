// libFuzzer target for the load balancer's request parser and body framer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lb/http_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gantry::lb::http1;
  const char* p = reinterpret_cast<const char*>(data);
  size_t scan = 0;
  // Feed in two pieces to exercise the incremental scan.
  size_t half = size / 2;
  size_t len = FindHeadEnd(p, half, &scan);
  if (len == 0) len = FindHeadEnd(p, size, &scan);
  if (len == 0) return 0;
  RequestHead req;
  if (ParseRequestHead(p, len, &req)) {
    BodyFramer f;
    f.Reset(req.framing == Framing::kNone ? Framing::kChunked : req.framing, req.content_length);
    size_t off = len;
    while (off < size && !f.done() && !f.error()) {
      size_t step = (size - off) > 7 ? 7 : size - off;
      size_t used = f.Consume(p + off, step);
      if (used == 0 && !f.done() && !f.error()) __builtin_trap();  // must make progress
      off += used;
    }
  }
  ResponseHead rsp;
  ParseResponseHead(p, len, size & 1, &rsp);
  return 0;
}
