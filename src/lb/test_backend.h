// Test helpers for src/lb: a small real HTTP/1.1 back end on 127.0.0.1 (port 0) and a
// keep-alive client, both over plain sockets. Header-only; used by *_test.cc only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lb/http_parser.h"

namespace gantry::lb::testing {

// Loopback of either family: 127.0.0.1 or ::1.
struct Loopback {
  sockaddr_storage ss{};
  socklen_t len;
  explicit Loopback(bool v6, uint16_t port = 0) {
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6, a->sin6_port = htons(port), a->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET, a->sin_port = htons(port), a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    }
  }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
  uint16_t port() const {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  }
};

inline int ConnectTo(uint16_t port, bool v6 = false) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Loopback a(v6, port);
  if (connect(fd, a.get(), a.len) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung test fails instead of hanging
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A port nobody listens on.
inline uint16_t DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Reply {
  int status = 0;  // 0: connection failed or closed
  std::string head;
  std::string body;  // raw (chunk framing kept)
};

// Reads one response from `fd`, keeping extra bytes in `buf`.
inline Reply ReadReply(int fd, std::string& buf, bool head_request = false) {
  Reply r;
  char tmp[16384];
  size_t scan = 0, head_len = 0;
  while ((head_len = http1::FindHeadEnd(buf.data(), buf.size(), &scan)) == 0) {
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return r;
    buf.append(tmp, static_cast<size_t>(n));
  }
  http1::ResponseHead h;
  if (!http1::ParseResponseHead(buf.data(), head_len, head_request, &h)) return r;
  r.head = buf.substr(0, head_len);
  buf.erase(0, head_len);
  if (h.status < 200 && h.status != 101) {
    r.status = h.status;
    return r;
  }
  http1::BodyFramer f;
  f.Reset(h.framing, h.content_length);
  while (true) {
    size_t used = f.Consume(buf.data(), buf.size());
    r.body.append(buf, 0, used);
    buf.erase(0, used);
    if (f.done() || f.error() || h.status == 101) break;
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      if (h.framing == http1::Framing::kUntilClose) break;
      return r;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
  r.status = f.error() ? 0 : h.status;
  return r;
}

// A keep-alive client that reconnects when the server closed.
class Client {
 public:
  explicit Client(uint16_t port, bool v6 = false) : port_(port), v6_(v6) {}
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  Reply Get(const std::string& path, const std::string& extra_headers = "") {
    return Send("GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n");
  }
  Reply Send(const std::string& raw) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = fd_ < 0;
      if (fd_ < 0) {
        fd_ = ConnectTo(port_, v6_);
        buf_.clear();
        if (fd_ < 0) return {};
      }
      if (SendAll(fd_, raw)) {
        Reply r = ReadReply(fd_, buf_, raw.rfind("HEAD ", 0) == 0);
        if (r.status != 0) {
          if (r.head.find("Connection: close") != std::string::npos) Reset();
          return r;
        }
      }
      Reset();
      if (fresh) break;
    }
    return {};
  }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  int fd() const { return fd_; }

 private:
  uint16_t port_;
  bool v6_;
  int fd_ = -1;
  std::string buf_;
};

// Paths: /health (status from `health_status`), /slow?ms=N, /big?bytes=N, /headers (echoes the request
// head), /echo (replies with the body byte count), /chunked, /ws (101 then echoes bytes);
// anything else answers `name` with `status`.
class TestBackend {
 public:
  explicit TestBackend(std::string name, bool v6 = false) : name_(std::move(name)), v6_(v6) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    Loopback a(v6);
    bind(fd_, a.get(), a.len);
    listen(fd_, 512);
    getsockname(fd_, a.get(), &a.len);
    port_ = a.port();
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestBackend() {
    stop_ = true;
    thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : conns_) shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int fd : conns_) close(fd);
    close(fd_);
  }
  std::string address() const { return (v6_ ? "[::1]:" : "127.0.0.1:") + std::to_string(port_); }
  uint16_t port() const { return port_; }
  std::atomic<int> health_status{200};
  std::atomic<int> status{200};
  std::atomic<int> requests{0};

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      conns_.push_back(c);
      workers_.emplace_back([this, c] { Serve(c); });
    }
  }

  void Serve(int fd) {
    std::string buf;
    char tmp[16384];
    while (!stop_) {
      size_t scan = 0, head_len;
      while ((head_len = http1::FindHeadEnd(buf.data(), buf.size(), &scan)) == 0) {
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0) return Done(fd);
        buf.append(tmp, static_cast<size_t>(n));
      }
      http1::RequestHead req;
      if (!http1::ParseRequestHead(buf.data(), head_len, &req)) return Done(fd);
      std::string head = buf.substr(0, head_len);
      std::string target(req.target);
      bool expect = req.expect_continue;
      http1::BodyFramer f;
      f.Reset(req.framing, req.content_length);
      buf.erase(0, head_len);
      if (expect) SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
      uint64_t body = 0;
      while (true) {
        size_t used = f.Consume(buf.data(), buf.size());
        buf.erase(0, used);
        if (f.done() || f.error()) break;
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0) return Done(fd);
        buf.append(tmp, static_cast<size_t>(n));
      }
      body = f.body_bytes();
      ++requests;
      if (target == "/ws") {
        SendAll(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        if (!buf.empty()) SendAll(fd, buf);
        while (true) {
          ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
          if (n <= 0) return Done(fd);
          SendAll(fd, std::string_view(tmp, static_cast<size_t>(n)));
        }
      }
      int st = status.load();
      std::string out;
      if (target == "/health") {
        st = health_status.load();
        out = "health";
      } else if (target.rfind("/slow?ms=", 0) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(target.substr(9))));
        out = name_;
      } else if (target.rfind("/big?bytes=", 0) == 0) {
        out.assign(std::stoul(target.substr(11)), 'z');
      } else if (target == "/headers") {
        out = head;
      } else if (target == "/echo") {
        out = "got " + std::to_string(body);
      } else if (target == "/chunked") {
        SendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        continue;
      } else {
        out = name_;
      }
      std::string resp = "HTTP/1.1 " + std::to_string(st) + " X\r\nContent-Length: " + std::to_string(out.size()) +
                         "\r\nX-Backend: " + name_ + "\r\n\r\n" + out;
      if (!SendAll(fd, resp)) return Done(fd);
    }
    Done(fd);
  }
  void Done(int fd) { shutdown(fd, SHUT_RDWR); }

  std::string name_;
  bool v6_ = false;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

}  // namespace gantry::lb::testing
