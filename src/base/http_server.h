// An HTTP/1.1 server for the handler contract in base/http.h: one thread per connection
// (capped), keep-alive, streamed request bodies (Content-Length or chunked) with limits,
// chunked responses for streams and Server-Sent Events, strict parsing (request smuggling
// shapes, oversized heads and ".." paths are refused with 4xx before a handler runs), and
// a graceful stop. Handlers are synchronous: block freely, the thread is theirs.
//
//   http::Router router;
//   router.Mount("GET", "/api/v1/", [](http::Request& req, http::Response& res) {...});
//   http::Server server({.listen = "127.0.0.1:0"});
//   if (auto st = server.Start(router.AsHandler()); !st.ok()) ...;
//   server.port();  // the bound port
//   server.Stop();
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/http.h"
#include "base/status.h"

namespace gantry::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";    // "ADDR:PORT"; "[::1]:8080" for IPv6; port 0 = any free port
  size_t max_connections = 256;          // concurrent connections (each has a thread); more wait in backlog
  size_t max_head_bytes = 64 * 1024;     // request line + headers → 431
  size_t max_headers = 100;              // → 431
  size_t max_target_bytes = 8 * 1024;    // → 414
  uint64_t max_body_bytes = 1ull << 30;  // a request body longer than this fails ReadBody (and → 413)
  int read_timeout_ms = 30000;           // per read while a request is in progress
  int idle_timeout_ms = 60000;           // keep-alive wait for the next request
  int stop_grace_ms = 10000;             // Stop(): how long in-flight requests may continue
};

// Mounts handlers by method and path prefix; the longest matching prefix wins. A prefix
// ending in '/' matches everything under it; otherwise it matches the exact path or the
// path followed by '/'. Sets Request::rest to the part after the prefix. Method "" or "*"
// matches any method. A path with a handler for another method gets 405, none 404.
class Router {
 public:
  void Mount(std::string method, std::string prefix, Handler handler);
  // Dispatches; answers 404/405 itself when nothing matches.
  void Handle(Request& request, Response& response) const;
  // A Handler that dispatches through this router (the router must outlive it).
  Handler AsHandler() const;

 private:
  struct Route {
    std::string method;
    std::string prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts accepting in the background.
  Status Start(Handler handler);
  // The bound port (after Start) and "host:port".
  int port() const;
  std::string address() const;
  // Stops accepting, closes idle keep-alive connections, waits up to stop_grace_ms for
  // in-flight requests, then closes the rest and joins every thread. Idempotent.
  void Stop();
  size_t active_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "ADDR:PORT" / "[v6]:PORT" / ":PORT" / "PORT" into host and port.
Status ParseListenAddress(const std::string& listen, std::string* host, int* port);

}  // namespace gantry::http
