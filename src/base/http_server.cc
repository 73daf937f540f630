#include "base/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/http_wire.h"
#include "base/strings.h"

namespace gantry::http {
namespace {

using wire::BodyKind;
using wire::Conn;

std::string PeerAddress(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unknown";
}

class ServerRequest : public Request {
 public:
  ServerRequest(Conn* conn, wire::BodyDecoder* body, bool expect_continue)
      : conn_(conn), body_(body), expect_continue_(expect_continue) {}

  long long ReadBody(char* buf, size_t n) override {
    if (expect_continue_ && !body_->done()) {
      expect_continue_ = false;
      if (!conn_->WriteAll("HTTP/1.1 100 Continue\r\n\r\n")) return -1;
    }
    return body_->Read(buf, n);
  }

 private:
  Conn* conn_;
  wire::BodyDecoder* body_;
  bool expect_continue_;
};

class ServerResponse : public Response {
 public:
  ServerResponse(Conn* conn, bool head_request, int minor_version, bool keep_alive)
      : conn_(conn), head_request_(head_request), minor_version_(minor_version), keep_alive_(keep_alive) {}

  bool Start(int status, const Headers& headers, std::optional<uint64_t> content_length) override {
    if (started_) return false;
    started_ = true;
    status_ = status;
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) + "\r\n";
    for (const auto& h : headers) {
      if (EqualsIgnoreCase(h.name, "Content-Length") || EqualsIgnoreCase(h.name, "Transfer-Encoding")) continue;
      if (EqualsIgnoreCase(h.name, "Connection")) {
        if (EqualsIgnoreCase(h.value, "close")) keep_alive_ = false;
        continue;
      }
      // Header injection guard: values come from handlers that may echo user input.
      if (h.name.find_first_of("\r\n:") != std::string::npos || h.value.find_first_of("\r\n") != std::string::npos) {
        continue;
      }
      head += h.name + ": " + h.value + "\r\n";
    }
    if (no_body) {
      declared_ = 0;
    } else if (content_length) {
      declared_ = *content_length;
      head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
    } else if (minor_version_ == 1) {
      chunked_ = !head_request_;
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      keep_alive_ = false;  // HTTP/1.0: the body ends when the connection closes
    }
    if (!keep_alive_) head += "Connection: close\r\n";
    head += "\r\n";
    out_ = std::move(head);
    if (head_request_ || no_body) skip_body_ = true;
    return true;
  }

  bool Write(std::string_view data) override {
    if (!started_ || finished_ || failed_) return false;
    if (data.empty()) return true;
    if (skip_body_) return true;
    written_ += data.size();
    if (declared_ && written_ > *declared_) {
      failed_ = true;  // the handler broke its own Content-Length; the connection cannot continue
      keep_alive_ = false;
      return false;
    }
    if (chunked_) {
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
      out_ += size_line;
    }
    if (data.size() >= 32 * 1024) {
      if (!SendOut()) return false;
      if (!conn_->WriteAll(data)) return Failed();
    } else {
      out_.append(data);
    }
    if (chunked_) out_ += "\r\n";
    if (out_.size() >= 64 * 1024) return SendOut();
    return true;
  }

  bool Flush() override {
    if (!started_ || failed_) return false;
    return SendOut();
  }

  // Zero-copy bodies (registry blobs, artifacts): sendfile straight from the page cache.
  bool WriteFile(int fd, uint64_t offset, uint64_t length) override {
    if (!started_ || finished_ || failed_ || chunked_ || skip_body_) return Response::WriteFile(fd, offset, length);
    written_ += length;
    if (declared_ && written_ > *declared_) return Failed();
    if (!SendOut()) return false;
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      ssize_t n = ::sendfile(conn_->fd(), fd, &off, static_cast<size_t>(std::min<uint64_t>(length, 1 << 30)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{conn_->fd(), POLLOUT, 0};
        if (::poll(&p, 1, 30000) <= 0) return Failed();
        continue;
      }
      if (n <= 0) return Failed();
      length -= static_cast<uint64_t>(n);
    }
    return true;
  }

  void Finish() override {
    if (finished_) return;
    if (!started_) Start(500, {}, 0);
    finished_ = true;
    if (failed_) return;
    if (chunked_) out_ += "0\r\n\r\n";
    if (!skip_body_ && declared_ && written_ < *declared_) keep_alive_ = false;
    SendOut();
  }

  bool started() const override { return started_; }
  bool keep_alive() const { return keep_alive_ && !failed_; }
  bool failed() const { return failed_; }
  int status() const { return status_; }

 private:
  bool Failed() {
    failed_ = true;
    keep_alive_ = false;
    return false;
  }
  bool SendOut() {
    if (out_.empty()) return true;
    bool ok = conn_->WriteAll(out_);
    out_.clear();
    return ok ? true : Failed();
  }

  Conn* conn_;
  bool head_request_;
  int minor_version_;
  bool keep_alive_;
  bool started_ = false, finished_ = false, failed_ = false, chunked_ = false, skip_body_ = false;
  int status_ = 0;
  std::optional<uint64_t> declared_;
  uint64_t written_ = 0;
  std::string out_;
};

void SendError(Conn& conn, int status, std::string_view message) {
  std::string body = std::string(message) + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
  conn.WriteAll(out);
}

bool PathMatches(std::string_view path, std::string_view prefix, std::string* rest) {
  if (!StartsWith(path, prefix)) return false;
  std::string_view tail = path.substr(prefix.size());
  if (!prefix.empty() && prefix.back() == '/') {
    *rest = std::string(tail);
    return true;
  }
  if (tail.empty() || tail[0] == '/') {
    *rest = std::string(tail);
    return true;
  }
  return false;
}

}  // namespace

void Router::Mount(std::string method, std::string prefix, Handler handler) {
  if (method == "*") method.clear();
  routes_.push_back({std::move(method), std::move(prefix), std::move(handler)});
}

void Router::Handle(Request& request, Response& response) const {
  const Route* best = nullptr;
  std::string best_rest;
  std::string allow;
  for (const auto& route : routes_) {
    std::string rest;
    if (!PathMatches(request.path, route.prefix, &rest)) continue;
    bool method_ok =
        route.method.empty() || route.method == request.method || (request.method == "HEAD" && route.method == "GET");
    if (!method_ok) {
      if (allow.find(route.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + route.method;
      continue;
    }
    if (best == nullptr || route.prefix.size() > best->prefix.size()) {
      best = &route;
      best_rest = std::move(rest);
    }
  }
  if (best == nullptr) {
    if (!allow.empty()) {
      response.Send(405, "application/json", R"({"error":"method not allowed"})", {{"Allow", allow}});
    } else {
      response.Send(404, "application/json", R"({"error":"not found"})");
    }
    return;
  }
  request.rest = std::move(best_rest);
  best->handler(request, response);
}

Handler Router::AsHandler() const {
  return [this](Request& request, Response& response) { Handle(request, response); };
}

Status ParseListenAddress(const std::string& listen, std::string* host, int* port) {
  std::string_view s = listen;
  std::string_view port_text;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Status::Error("invalid listen address '" + listen + "', expected [ADDR]:PORT");
    }
    *host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      *host = "127.0.0.1";
      port_text = s;
    } else {
      *host = std::string(s.substr(0, colon));
      if (host->empty()) *host = "0.0.0.0";
      port_text = s.substr(colon + 1);
    }
  }
  if (port_text.empty() || port_text.size() > 5)
    return Status::Error("invalid port in listen address '" + listen + "'");
  int p = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return Status::Error("invalid port in listen address '" + listen + "'");
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return Status::Error("port out of range in listen address '" + listen + "'");
  *port = p;
  return Status::Ok();
}

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  wire::Limits limits;
  int listen_fd = -1;
  int wake_pipe[2] = {-1, -1};
  int bound_port = 0;
  std::string host;
  std::thread acceptor;

  mutable std::mutex mu;
  std::condition_variable cv;
  struct Connection {
    Conn* conn;
    bool busy = false;
  };
  std::map<uint64_t, Connection> connections;  // guarded by mu
  uint64_t next_id = 0;
  bool stopping = false;
  bool started = false;

  void AcceptLoop();
  void Serve(uint64_t id, int fd, std::string peer);
  bool ServeOne(Conn& conn, const std::string& peer);
  void SetBusy(uint64_t id, bool busy) {
    std::lock_guard lock(mu);
    connections[id].busy = busy;
  }
};

void Server::Impl::AcceptLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || connections.size() < options.max_connections; });
      if (stopping) return;
    }
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (fds[1].revents != 0) return;
    if (r <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu);
    uint64_t id = next_id++;
    connections[id] = Connection{nullptr, false};
    std::thread(&Impl::Serve, this, id, fd, PeerAddress(ss)).detach();
  }
}

void Server::Impl::Serve(uint64_t id, int fd, std::string peer) {
  {
    Conn conn(fd);
    {
      std::lock_guard lock(mu);
      connections[id].conn = &conn;
      if (stopping) conn.ShutdownBoth();
    }
    for (;;) {
      conn.set_timeout_ms(options.idle_timeout_ms);
      if (!conn.WaitReadable(options.idle_timeout_ms)) break;
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        connections[id].busy = true;
      }
      conn.set_timeout_ms(options.read_timeout_ms);
      bool keep = ServeOne(conn, peer);
      SetBusy(id, false);
      if (!keep) {
        conn.LingerClose(8u << 20, 500);
        break;
      }
    }
    std::lock_guard lock(mu);
    connections[id].conn = nullptr;
  }  // closes the socket
  // Notify under the lock: Stop() may destroy this Impl as soon as the table is empty.
  std::lock_guard lock(mu);
  connections.erase(id);
  cv.notify_all();
}

bool Server::Impl::ServeOne(Conn& conn, const std::string& peer) {
  std::string head;
  bool eof = false, too_big = false;
  if (!conn.ReadHead(options.max_head_bytes, &head, &eof, &too_big)) {
    if (too_big) SendError(conn, 431, "request head too large");
    return false;
  }
  wire::RequestHead parsed;
  wire::HeadError err;
  if (!wire::ParseRequestHead(head, limits, &parsed, &err)) {
    SendError(conn, err.status, err.message);
    return false;
  }
  if (parsed.body == BodyKind::kLength && parsed.content_length > options.max_body_bytes) {
    SendError(conn, 413,
              "request body of " + std::to_string(parsed.content_length) + " bytes is over the limit of " +
                  std::to_string(options.max_body_bytes));
    return false;
  }
  wire::BodyDecoder body(&conn, parsed.body, parsed.content_length, options.max_body_bytes, limits);
  ServerRequest request(&conn, &body, parsed.expect_continue && parsed.minor_version == 1);
  request.method = std::move(parsed.method);
  request.target = std::move(parsed.target);
  request.path = std::move(parsed.path);
  request.query = std::move(parsed.query);
  request.headers = std::move(parsed.headers);
  request.remote_addr = peer;
  if (parsed.body == BodyKind::kLength) request.content_length = parsed.content_length;
  if (parsed.body == BodyKind::kNone) request.content_length = 0;
  ServerResponse response(&conn, request.method == "HEAD", parsed.minor_version, parsed.keep_alive);
  try {
    handler(request, response);
  } catch (const std::exception& e) {
    if (!response.started()) response.Send(500, "text/plain", std::string("internal error: ") + e.what() + "\n");
  }
  if (!response.started()) {
    if (body.failed() && body.total() > options.max_body_bytes) {
      response.Send(413, "text/plain", "request body too large\n", {{"Connection", "close"}});
    } else {
      response.Send(500, "text/plain", "handler sent no response\n");
    }
  }
  response.Finish();
  if (!response.keep_alive() || body.failed()) return false;
  if (!body.done()) {
    // Drain a small unread remainder so the connection stays usable; close otherwise.
    char buf[16384];
    uint64_t drained = 0;
    while (!body.done() && drained < 256 * 1024) {
      long long n = body.Read(buf, sizeof buf);
      if (n <= 0) break;
      drained += static_cast<uint64_t>(n);
    }
    if (!body.done() || body.failed()) return false;
  }
  std::lock_guard lock(mu);
  return !stopping;
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->limits.max_head_bytes = impl_->options.max_head_bytes;
  impl_->limits.max_headers = impl_->options.max_headers;
  impl_->limits.max_target_bytes = impl_->options.max_target_bytes;
}

Server::~Server() { Stop(); }

Status Server::Start(Handler handler) {
  if (impl_->started) return Status::Error("server already started");
  impl_->handler = std::move(handler);
  int port = 0;
  if (auto st = ParseListenAddress(impl_->options.listen, &impl_->host, &port); !st.ok()) return st;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(impl_->host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) return Status::Error("cannot resolve listen address " + impl_->host + ": " + gai_strerror(rc));
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::Error(std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
    std::string msg = std::strerror(errno);
    ::freeaddrinfo(res);
    ::close(fd);
    return Status::Error("cannot listen on " + impl_->options.listen + ": " + msg);
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  impl_->bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                               : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (::pipe2(impl_->wake_pipe, O_CLOEXEC) != 0) {
    ::close(fd);
    return Status::Error(std::string("pipe: ") + std::strerror(errno));
  }
  impl_->listen_fd = fd;
  impl_->started = true;
  impl_->acceptor = std::thread(&Impl::AcceptLoop, impl_.get());
  return Status::Ok();
}

int Server::port() const { return impl_->bound_port; }

std::string Server::address() const {
  std::string host = impl_->host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(impl_->bound_port);
}

size_t Server::active_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections.size();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping && s.listen_fd < 0) return;
    s.stopping = true;
    // Idle keep-alive connections go now; busy ones finish their request.
    for (auto& [id, c] : s.connections) {
      if (c.conn != nullptr && !c.busy) c.conn->ShutdownBoth();
    }
  }
  s.cv.notify_all();
  char byte = 1;
  [[maybe_unused]] ssize_t ignored = ::write(s.wake_pipe[1], &byte, 1);
  if (s.acceptor.joinable()) s.acceptor.join();
  ::close(s.listen_fd);
  s.listen_fd = -1;
  ::close(s.wake_pipe[0]);
  ::close(s.wake_pipe[1]);
  std::unique_lock lock(s.mu);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.options.stop_grace_ms);
  s.cv.wait_until(lock, deadline, [&] { return s.connections.empty(); });
  // Past the grace period: cut the remaining connections; their handlers see Write fail.
  for (auto& [id, c] : s.connections) {
    if (c.conn != nullptr) c.conn->ShutdownBoth();
  }
  s.cv.wait(lock, [&] { return s.connections.empty(); });
}

}  // namespace gantry::http
