#include "base/http_wire.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace gantry::http::wire {
namespace {

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool Fail(HeadError* err, int status, std::string message) {
  err->status = status;
  err->message = std::move(message);
  return false;
}

// Parses "1.1" style versions from "HTTP/1.x"; only HTTP/1.0 and 1.1 are spoken.
bool ParseVersion(std::string_view v, int* minor) {
  if (v == "HTTP/1.1") {
    *minor = 1;
    return true;
  }
  if (v == "HTTP/1.0") {
    *minor = 0;
    return true;
  }
  return false;
}

// Splits the head into lines (CRLF only) and parses header fields after the first line.
bool ParseFields(std::string_view head, const Limits& limits, std::string_view* first_line, Headers* headers,
                 HeadError* err) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return Fail(err, 400, "message head does not end with an empty line");
  }
  head.remove_suffix(2);  // keep the last header's CRLF
  size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return Fail(err, 400, "line without CRLF");
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    for (char c : line) {
      if (c == '\r' || c == '\n' || c == '\0') return Fail(err, 400, "bare CR, LF or NUL in the message head");
    }
    if (first) {
      *first_line = line;
      first = false;
      continue;
    }
    if (line.empty()) return Fail(err, 400, "empty header line");
    if (line[0] == ' ' || line[0] == '\t') return Fail(err, 400, "obsolete header line folding is not accepted");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(err, 400, "header line without ':'");
    std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) return Fail(err, 400, "invalid header name '" + std::string(name.substr(0, 64)) + "'");
    std::string_view value = Trim(line.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Fail(err, 400, "control character in a header value");
    }
    if (headers->size() >= limits.max_headers) return Fail(err, 431, "too many header fields");
    headers->push_back({std::string(name), std::string(value)});
  }
  if (first) return Fail(err, 400, "empty message head");
  return true;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

bool HasToken(std::string_view list, std::string_view token) {
  for (const auto& part : Split(list, ',')) {
    if (EqualsIgnoreCase(Trim(part), token)) return true;
  }
  return false;
}

// Decides body framing from Content-Length / Transfer-Encoding, refusing ambiguity.
bool Framing(const Headers& headers, bool is_request, BodyKind* kind, uint64_t* length, HeadError* err) {
  int cl_count = 0, te_count = 0;
  std::string_view cl, te;
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, "Content-Length")) {
      ++cl_count;
      cl = h.value;
    } else if (EqualsIgnoreCase(h.name, "Transfer-Encoding")) {
      ++te_count;
      te = h.value;
    }
  }
  if (cl_count > 0 && te_count > 0) return Fail(err, 400, "both Content-Length and Transfer-Encoding");
  if (cl_count > 1) return Fail(err, 400, "more than one Content-Length");
  if (te_count > 1) return Fail(err, 400, "more than one Transfer-Encoding");
  if (te_count == 1) {
    if (!EqualsIgnoreCase(Trim(te), "chunked")) {
      return Fail(err, is_request ? 501 : 400, "unsupported Transfer-Encoding '" + std::string(te) + "'");
    }
    *kind = BodyKind::kChunked;
    return true;
  }
  if (cl_count == 1) {
    if (!ParseDecimal(cl, length)) return Fail(err, 400, "invalid Content-Length '" + std::string(cl) + "'");
    *kind = *length == 0 ? BodyKind::kNone : BodyKind::kLength;
    return true;
  }
  *kind = is_request ? BodyKind::kNone : BodyKind::kUntilClose;
  return true;
}

}  // namespace

bool DecodePath(std::string_view raw_path, std::string* out) {
  if (raw_path.empty() || raw_path[0] != '/') return false;
  auto decoded = PercentDecode(raw_path);
  if (!decoded) return false;
  for (char c : *decoded) {
    if (c == '\0' || c == '\\') return false;
  }
  for (const auto& seg : Split(*decoded, '/')) {
    if (seg == "..") return false;
  }
  *out = std::move(*decoded);
  return true;
}

bool ParseRequestHead(std::string_view head, const Limits& limits, RequestHead* out, HeadError* err) {
  if (head.size() > limits.max_head_bytes) return Fail(err, 431, "request head too large");
  std::string_view line;
  if (!ParseFields(head, limits, &line, &out->headers, err)) return false;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(err, 400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(err, 400, "invalid method");
  if (!ParseVersion(version, &out->minor_version)) return Fail(err, 400, "unsupported HTTP version");
  if (target.size() > limits.max_target_bytes) return Fail(err, 414, "request-target too long");
  if (target.empty() || target[0] != '/') return Fail(err, 400, "request-target must be an absolute path");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Fail(err, 400, "invalid character in the request-target");
  }
  out->method = std::string(method);
  out->target = std::string(target);
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) out->query = std::string(target.substr(q + 1));
  size_t hash = out->query.find('#');
  if (hash != std::string::npos) out->query.resize(hash);
  if (!DecodePath(raw_path, &out->path)) return Fail(err, 400, "invalid path (bad escape or '..' segment)");
  if (!Framing(out->headers, true, &out->body, &out->content_length, err)) return false;
  std::string_view connection = FindHeader(out->headers, "Connection");
  if (out->minor_version == 0) {
    out->keep_alive = HasToken(connection, "keep-alive");
  } else {
    out->keep_alive = !HasToken(connection, "close");
  }
  out->expect_continue = EqualsIgnoreCase(FindHeader(out->headers, "Expect"), "100-continue");
  if (out->minor_version == 1 && FindHeader(out->headers, "Host").empty()) {
    bool has_host = false;
    for (const auto& h : out->headers) has_host |= EqualsIgnoreCase(h.name, "Host");
    if (!has_host) return Fail(err, 400, "HTTP/1.1 request without Host");
  }
  return true;
}

bool ParseResponseHead(std::string_view head, std::string_view request_method, const Limits& limits, ResponseHead* out,
                       HeadError* err) {
  if (head.size() > limits.max_head_bytes) return Fail(err, 400, "response head too large");
  std::string_view line;
  if (!ParseFields(head, limits, &line, &out->headers, err)) return false;
  if (line.size() < 12 || !ParseVersion(line.substr(0, 8), &out->minor_version) || line[8] != ' ') {
    return Fail(err, 400, "malformed status line");
  }
  uint64_t status = 0;
  if (!ParseDecimal(line.substr(9, 3), &status) || status < 100 || status > 999) {
    return Fail(err, 400, "malformed status code");
  }
  out->status = static_cast<int>(status);
  if (request_method == "HEAD" || status == 204 || status == 304 || status < 200) {
    out->body = BodyKind::kNone;
  } else if (!Framing(out->headers, false, &out->body, &out->content_length, err)) {
    return false;
  }
  std::string_view connection = FindHeader(out->headers, "Connection");
  out->keep_alive = out->minor_version == 1 ? !HasToken(connection, "close") : HasToken(connection, "keep-alive");
  if (out->body == BodyKind::kUntilClose) out->keep_alive = false;
  return true;
}

Conn::~Conn() {
  if (fd_ >= 0) ::close(fd_);
}

void Conn::ShutdownBoth() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Conn::LingerClose(size_t max_bytes, int ms) {
  if (fd_ < 0) return;
  ::shutdown(fd_, SHUT_WR);
  char buf[16384];
  size_t total = 0;
  while (total < max_bytes) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) break;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
}

bool Conn::WaitReadable(int ms) {
  if (has_buffered()) return true;
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

bool Conn::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  if (!WaitReadable(timeout_ms_)) return false;
  char tmp[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
}

long long Conn::Read(char* buf, size_t n) {
  if (!has_buffered()) {
    if (pos_ > 0) {
      buf_.clear();
      pos_ = 0;
    }
    // Large reads bypass the buffer.
    if (!WaitReadable(timeout_ms_)) return -1;
    for (;;) {
      ssize_t r = ::recv(fd_, buf, n, 0);
      if (r < 0 && errno == EINTR) continue;
      return r < 0 ? -1 : r;
    }
  }
  size_t take = std::min(n, buf_.size() - pos_);
  std::memcpy(buf, buf_.data() + pos_, take);
  pos_ += take;
  return static_cast<long long>(take);
}

bool Conn::ReadHead(size_t max, std::string* head, bool* eof, bool* too_big) {
  *eof = false;
  *too_big = false;
  size_t scanned = pos_;
  for (;;) {
    size_t start = scanned >= pos_ + 3 ? scanned - 3 : pos_;
    size_t end = buf_.find("\r\n\r\n", start);
    if (end != std::string::npos) {
      size_t len = end + 4 - pos_;
      if (len > max) {
        *too_big = true;
        return false;
      }
      head->assign(buf_, pos_, len);
      pos_ += len;
      return true;
    }
    scanned = buf_.size();
    if (buf_.size() - pos_ > max) {
      *too_big = true;
      return false;
    }
    size_t before = buf_.size() - pos_;
    if (!Fill()) {
      *eof = before == 0;
      return false;
    }
    // Fill() may have dropped a fully consumed buffer (pos_ back to 0): rescan from what is
    // still unread, or the next request on a keep-alive connection is never found.
    scanned = pos_ + before;
    // A TLS handshake record (0x16) is not HTTP: close at once so clients that try https
    // first (skopeo, docker with insecure registries) fall back without waiting for a timeout.
    if (buf_.size() > pos_ && static_cast<unsigned char>(buf_[pos_]) == 0x16) return false;
  }
}

bool Conn::ReadLine(size_t max, std::string* line) {
  for (;;) {
    size_t end = buf_.find("\r\n", pos_);
    if (end != std::string::npos) {
      if (end - pos_ > max) return false;
      line->assign(buf_, pos_, end - pos_);
      pos_ = end + 2;
      return true;
    }
    if (buf_.size() - pos_ > max + 1) return false;
    if (!Fill()) return false;
  }
}

bool Conn::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms_) <= 0) return false;
      continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

long long BodyDecoder::Read(char* buf, size_t n) {
  if (failed_) return -1;
  if (done() || n == 0) return 0;
  if (kind_ == BodyKind::kLength || kind_ == BodyKind::kUntilClose) {
    if (kind_ == BodyKind::kLength && remaining_ == 0) {
      done_ = true;
      return 0;
    }
    size_t want = kind_ == BodyKind::kLength ? static_cast<size_t>(std::min<uint64_t>(n, remaining_)) : n;
    long long r = conn_->Read(buf, want);
    if (r == 0 && kind_ == BodyKind::kUntilClose) {
      done_ = true;
      return 0;
    }
    if (r <= 0) return Fail();
    if (kind_ == BodyKind::kLength) remaining_ -= static_cast<uint64_t>(r);
    total_ += static_cast<uint64_t>(r);
    if (total_ > limit_) return Fail();
    if (kind_ == BodyKind::kLength && remaining_ == 0) done_ = true;
    return r;
  }
  // Chunked.
  while (!in_chunk_ || remaining_ == 0) {
    std::string line;
    if (in_chunk_) {
      // End of a chunk's data: expect CRLF.
      if (!conn_->ReadLine(0, &line) || !line.empty()) return Fail();
      in_chunk_ = false;
    }
    if (!conn_->ReadLine(limits_.max_chunk_line, &line)) return Fail();
    std::string_view size_text = line;
    size_t semi = size_text.find(';');
    if (semi != std::string_view::npos) size_text = size_text.substr(0, semi);
    size_text = Trim(size_text);
    if (size_text.empty() || size_text.size() > 15) return Fail();
    uint64_t size = 0;
    for (char c : size_text) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return Fail();
      size = size * 16 + static_cast<uint64_t>(d);
    }
    if (size == 0) {
      // Trailers, discarded, then the final CRLF.
      size_t trailer_bytes = 0;
      for (;;) {
        if (!conn_->ReadLine(limits_.max_trailer_bytes, &line)) return Fail();
        if (line.empty()) break;
        trailer_bytes += line.size();
        if (trailer_bytes > limits_.max_trailer_bytes) return Fail();
      }
      done_ = true;
      return 0;
    }
    if (total_ + size > limit_) return Fail();
    remaining_ = size;
    in_chunk_ = true;
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
  long long r = conn_->Read(buf, want);
  if (r <= 0) return Fail();
  remaining_ -= static_cast<uint64_t>(r);
  total_ += static_cast<uint64_t>(r);
  return r;
}

Result<int> ConnectTcp(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) return Result<int>::Error("cannot resolve " + host + ": " + gai_strerror(rc));
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      r = ::poll(&p, 1, timeout_ms) > 0 ? 0 : -1;
      int soerr = r == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof soerr;
      if (r == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (soerr != 0) {
        errno = soerr;
        r = -1;
      }
    }
    if (r == 0) {
      int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return Result<int>::Error("cannot connect to " + host + ":" + port_text + ": " + last_error);
  return fd;
}

}  // namespace gantry::http::wire
