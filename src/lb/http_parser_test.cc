#include "lb/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace gantry::lb::http1 {
namespace {

bool Parse(const std::string& s, RequestHead* h) {
  size_t scan = 0;
  size_t len = FindHeadEnd(s.data(), s.size(), &scan);
  if (len == 0) return false;
  return ParseRequestHead(s.data(), len, h);
}

TEST(LbHttpParser, FindsHeadEndIncrementally) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
  size_t scan = 0;
  for (size_t n = 1; n < 27; ++n) EXPECT_EQ(FindHeadEnd(s.data(), n, &scan), 0u) << n;
  EXPECT_EQ(FindHeadEnd(s.data(), s.size(), &scan), 27u);
}

TEST(LbHttpParser, ParsesARequest) {
  RequestHead h;
  const std::string text = "POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 12\r\nX-Y:  v  \r\n\r\n";
  ASSERT_TRUE(Parse(text, &h));
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/a?b=c");
  EXPECT_EQ(h.host, "example.com");
  EXPECT_EQ(h.framing, Framing::kLength);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.headers[2].value, "v");
  ASSERT_TRUE(Parse("GET / HTTP/1.0\r\n\r\n", &h));
  EXPECT_FALSE(h.keep_alive);
  ASSERT_TRUE(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &h));
  EXPECT_TRUE(h.upgrade);
  ASSERT_TRUE(Parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", &h));
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.framing, Framing::kChunked);
  ASSERT_TRUE(Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &h));
}

TEST(LbHttpParser, RefusesSmugglingAndMalformedHeads) {
  const char* bad[] = {
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfold\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
  };
  for (const char* s : bad) {
    RequestHead h;
    EXPECT_FALSE(Parse(s, &h)) << s;
    EXPECT_NE(h.error, nullptr);
  }
  RequestHead h;
  EXPECT_FALSE(Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", &h));
  EXPECT_EQ(h.error_status, 501);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < kMaxHeaders + 1; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_FALSE(Parse(many + "\r\n", &h));
  EXPECT_EQ(h.error_status, 431);
}

TEST(LbHttpParser, FramesChunkedBodies) {
  BodyFramer f;
  f.Reset(Framing::kChunked);
  std::string body = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  // Byte by byte: the framer is incremental.
  size_t used = 0;
  for (size_t i = 0; i < body.size() && !f.done(); ++i) used += f.Consume(body.data() + i, 1);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(used, body.size() - 4);
  EXPECT_EQ(f.body_bytes(), 9u);
  const char* bad[] = {"x\r\n", "\r\n", "4\r\nWikiXX", "4\nWiki\r\n", "fffffffffffffffff\r\n", "4 \r\n", "0\r\n\n"};
  for (const char* b : bad) {
    f.Reset(Framing::kChunked);
    f.Consume(b, strlen(b));
    EXPECT_TRUE(f.error()) << b;
  }
}

TEST(LbHttpParser, ParsesResponses) {
  std::string s = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
  ResponseHead r;
  ASSERT_TRUE(ParseResponseHead(s.data(), s.size(), false, &r));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.framing, Framing::kNone);
  s = "HTTP/1.1 200 OK\r\n\r\n";
  ASSERT_TRUE(ParseResponseHead(s.data(), s.size(), false, &r));
  EXPECT_EQ(r.framing, Framing::kUntilClose);
  EXPECT_FALSE(r.keep_alive);
  s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  ASSERT_TRUE(ParseResponseHead(s.data(), s.size(), true, &r));
  EXPECT_EQ(r.framing, Framing::kNone);
  s = "HTTP/1.1 2000 OK\r\n\r\n";
  EXPECT_FALSE(ParseResponseHead(s.data(), s.size(), false, &r));
  s = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_FALSE(ParseResponseHead(s.data(), s.size(), false, &r));
}

}  // namespace
}  // namespace gantry::lb::http1
