// Fuzzes the HTTP request-head parser and the chunked body decoder used by the server.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  gantry::http::wire::Limits limits;
  gantry::http::wire::RequestHead head;
  gantry::http::wire::HeadError err;
  size_t end = input.find("\r\n\r\n");
  std::string_view head_text = end == std::string_view::npos ? input : input.substr(0, end + 4);
  gantry::http::wire::ParseRequestHead(head_text, limits, &head, &err);
  gantry::http::wire::ResponseHead response;
  gantry::http::wire::ParseResponseHead(head_text, "GET", limits, &response, &err);
  if (end == std::string_view::npos || size > 65536) return 0;
  // Feed the rest as a chunked body through a socketpair.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
  std::string_view rest = input.substr(end + 4);
  if (!rest.empty()) [[maybe_unused]]
    auto n = ::write(fds[1], rest.data(), rest.size());
  ::close(fds[1]);
  gantry::http::wire::Conn conn(fds[0]);
  conn.set_timeout_ms(10);
  gantry::http::wire::BodyDecoder body(&conn, gantry::http::wire::BodyKind::kChunked, 0, 1 << 20, limits);
  char buf[512];
  while (body.Read(buf, sizeof buf) > 0) {
  }
  return 0;
}
