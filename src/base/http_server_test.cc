// The HTTP server and client over real loopback sockets.
#include "base/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "base/http_client.h"
#include "base/http_wire.h"

namespace gantry::http {
namespace {

// Sends raw bytes and returns everything the server answers until it closes (or 2 s idle).
std::string RawExchange(int port, std::string_view bytes, bool half_close = true) {
  auto fd = wire::ConnectTcp("127.0.0.1", port, 5000);
  EXPECT_TRUE(fd.ok()) << fd.error();
  wire::Conn conn(*fd);
  conn.set_timeout_ms(2000);
  conn.WriteAll(bytes);
  if (half_close) ::shutdown(*fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    long long n = conn.Read(buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Mount("GET", "/hello", [](Request& req, Response& res) {
      res.Send(200, "text/plain", "hello " + req.rest + " " + req.query);
    });
    router_.Mount("POST", "/echo", [](Request& req, Response& res) {
      auto body = req.ReadAll(1 << 20);
      if (!body.ok()) {
        res.Send(413, "text/plain", body.error());
        return;
      }
      res.Send(200, "application/octet-stream", *body);
    });
    router_.Mount("GET", "/stream", [](Request&, Response& res) {
      res.Start(200, {{"Content-Type", "text/event-stream"}}, std::nullopt);
      for (int i = 0; i < 3; ++i) {
        res.Write("data: " + std::to_string(i) + "\n\n");
        res.Flush();
      }
    });
    router_.Mount("", "/api/", [](Request& req, Response& res) { res.Send(200, "text/plain", "api:" + req.rest); });
    ServerOptions options;
    options.max_body_bytes = 1 << 20;
    options.max_head_bytes = 4096;
    options.stop_grace_ms = 2000;
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->Start(router_.AsHandler()).ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  Router router_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(HttpServerTest, RoutesByPrefixAndMethod) {
  auto r = Fetch(MakeRequest("GET", base_ + "/hello/world?x=1"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /world x=1");
  auto api = Fetch(MakeRequest("DELETE", base_ + "/api/v1/x"));
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->body, "api:v1/x");
  auto missing = Fetch(MakeRequest("GET", base_ + "/nothing"));
  EXPECT_EQ(missing->status, 404);
  auto wrong = Fetch(MakeRequest("POST", base_ + "/hello"));
  EXPECT_EQ(wrong->status, 405);
  auto prefix_only = Fetch(MakeRequest("GET", base_ + "/helloworld"));
  EXPECT_EQ(prefix_only->status, 404);
}

TEST_F(HttpServerTest, EchoesContentLengthAndChunkedBodies) {
  std::string big(300000, 'x');
  auto r = Fetch(MakeRequest("POST", base_ + "/echo", big));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->body, big);
  int calls = 0;
  ClientRequest chunked = MakeRequest("POST", base_ + "/echo");
  chunked.body_source = [&](char* buf, size_t n) -> long long {
    if (calls++ == 3) return 0;
    std::memset(buf, 'a' + calls, 1000);
    return 1000;
  };
  auto c = Fetch(chunked);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->body.size(), 3000u);
  EXPECT_EQ(c->body.substr(0, 1), "b");
}

TEST_F(HttpServerTest, StreamsChunkedResponse) {
  auto s = ClientStream::Open(MakeRequest("GET", base_ + "/stream"));
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(FindHeader((*s)->headers(), "Transfer-Encoding"), "chunked");
  std::string line;
  std::vector<std::string> lines;
  while ((*s)->ReadLine(&line)) lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string>{"data: 0", "", "data: 1", "", "data: 2", ""}));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string two =
      "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = RawExchange(server_->port(), two);
  EXPECT_NE(out.find("hello /a"), std::string::npos) << out;
  EXPECT_NE(out.find("hello /b"), std::string::npos) << out;
}

// A browser's way: one request, wait for the answer, then a shorter request on the same
// connection. (The server once kept scanning from the first head's end and never answered.)
TEST_F(HttpServerTest, KeepAliveServesSequentialRequestsOfShrinkingSize) {
  auto fd = wire::ConnectTcp("127.0.0.1", server_->port(), 5000);
  ASSERT_TRUE(fd.ok()) << fd.error();
  wire::Conn conn(*fd);
  conn.set_timeout_ms(3000);
  const std::string requests[] = {
      "GET /hello/first HTTP/1.1\r\nHost: x\r\nUser-Agent: a-rather-long-user-agent-string\r\n\r\n",
      "GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n", "GET /hello/c HTTP/1.1\r\nHost: x\r\n\r\n"};
  for (const auto& r : requests) {
    ASSERT_TRUE(conn.WriteAll(r));
    std::string head;
    bool eof = false, too_big = false;
    ASSERT_TRUE(conn.ReadHead(1 << 16, &head, &eof, &too_big)) << "no answer to " << r;
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    auto at = head.find("Content-Length: ");
    ASSERT_NE(at, std::string::npos) << head;
    std::string body(std::stoul(head.substr(at + 16)), '\0');
    size_t got = 0;
    while (got < body.size()) {
      long long n = conn.Read(body.data() + got, body.size() - got);
      ASSERT_GT(n, 0);
      got += static_cast<size_t>(n);
    }
    EXPECT_EQ(body.rfind("hello /", 0), 0u) << body;
  }
}

TEST_F(HttpServerTest, RefusesSmugglingShapes) {
  auto both = RawExchange(server_->port(),
                          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\n\r\n");
  EXPECT_EQ(both.substr(0, 12), "HTTP/1.1 400");
  auto dup = RawExchange(server_->port(),
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(dup.substr(0, 12), "HTTP/1.1 400");
  auto fold = RawExchange(server_->port(), "GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n");
  EXPECT_EQ(fold.substr(0, 12), "HTTP/1.1 400");
  auto bad_cl = RawExchange(server_->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc");
  EXPECT_EQ(bad_cl.substr(0, 12), "HTTP/1.1 400");
  auto te = RawExchange(server_->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_EQ(te.substr(0, 12), "HTTP/1.1 501");
  auto bare_lf = RawExchange(server_->port(), "GET /hello HTTP/1.1\nHost: x\r\n\r\n");
  EXPECT_EQ(bare_lf.substr(0, 12), "HTTP/1.1 400");
}

TEST_F(HttpServerTest, RefusesDotDotPathsAndBadEscapes) {
  EXPECT_EQ(RawExchange(server_->port(), "GET /api/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 400");
  EXPECT_EQ(RawExchange(server_->port(), "GET /api/%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 400");
  EXPECT_EQ(RawExchange(server_->port(), "GET /api/%zz HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(RawExchange(server_->port(), "GET http://x/api HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
}

TEST_F(HttpServerTest, EnforcesHeadAndBodyLimits) {
  std::string huge = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n";
  EXPECT_EQ(RawExchange(server_->port(), huge).substr(0, 12), "HTTP/1.1 431");
  auto too_long = RawExchange(server_->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n");
  EXPECT_EQ(too_long.substr(0, 12), "HTTP/1.1 413");
  // A chunked body over the limit fails ReadBody; the handler answers.
  ClientRequest chunked = MakeRequest("POST", base_ + "/echo");
  int sent = 0;
  chunked.body_source = [&](char* buf, size_t n) -> long long {
    if (sent > (2 << 20)) return 0;
    std::memset(buf, 'z', n);
    sent += static_cast<int>(n);
    return static_cast<long long>(n);
  };
  auto r = Fetch(chunked);
  if (r.ok()) {
    EXPECT_EQ(r->status, 413);  // or the server closed while we were still sending
  }
  auto no_host = RawExchange(server_->port(), "GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(no_host.substr(0, 12), "HTTP/1.1 400");
}

TEST_F(HttpServerTest, HeadRequestHasNoBody) {
  auto out = RawExchange(server_->port(), "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(HttpServer, StopEndsLongStreamsAndIdleConnections) {
  Router router;
  std::atomic<bool> writing{false};
  router.Mount("GET", "/forever", [&](Request&, Response& res) {
    res.Start(200, {}, std::nullopt);
    writing = true;
    while (res.Write("tick\n") && res.Flush()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  ServerOptions options;
  options.stop_grace_ms = 100;
  Server server(options);
  ASSERT_TRUE(server.Start(router.AsHandler()).ok());
  auto idle = wire::ConnectTcp("127.0.0.1", server.port(), 1000);
  ASSERT_TRUE(idle.ok());
  auto s = ClientStream::Open(MakeRequest("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/forever"));
  ASSERT_TRUE(s.ok());
  std::string line;
  ASSERT_TRUE((*s)->ReadLine(&line));
  EXPECT_EQ(line, "tick");
  server.Stop();
  EXPECT_EQ(server.active_connections(), 0u);
  ::close(*idle);
  EXPECT_FALSE(wire::ConnectTcp("127.0.0.1", server.port(), 1000).ok());
}

TEST(HttpClient, ReportsUnreachableServersAndBadUrls) {
  // Bind then close to get a port nobody listens on.
  Server probe;
  ASSERT_TRUE(probe.Start([](Request&, Response& r) { r.Send(200, "", ""); }).ok());
  int port = probe.port();
  probe.Stop();
  auto req = MakeRequest("GET", "http://127.0.0.1:" + std::to_string(port) + "/");
  req.timeout_ms = 1000;
  auto r = Fetch(req);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(ParseUrl("https://x/").ok());
  EXPECT_FALSE(ParseUrl("http://:80/").ok());
  auto u = ParseUrl("http://[::1]:8080/a?b=c");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a?b=c");
}

TEST(HttpServer, ParsesListenAddresses) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListenAddress("x:99999", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("x:ab", &host, &port).ok());
}

}  // namespace
}  // namespace gantry::http
