#include "base/http_client.h"

#include <cstring>

#include "base/http_wire.h"
#include "base/strings.h"

namespace gantry::http {

Result<Url> ParseUrl(std::string_view url) {
  std::string_view s = url;
  if (!StartsWith(s, "http://")) {
    return Result<Url>::Error("unsupported URL '" + std::string(url) + "' (only http:// is supported)");
  }
  s.remove_prefix(7);
  size_t slash = s.find_first_of("/?");
  std::string_view authority = s.substr(0, slash);
  Url out;
  if (slash != std::string_view::npos) {
    out.target = std::string(s.substr(slash));
    if (out.target[0] == '?') out.target = "/" + out.target;
  }
  if (authority.find('@') != std::string_view::npos) {
    return Result<Url>::Error("credentials in URLs are not supported: '" + std::string(url) + "'");
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Result<Url>::Error("invalid IPv6 host in '" + std::string(url) + "'");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Result<Url>::Error("invalid host in '" + std::string(url) + "'");
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Result<Url>::Error("URL without a host: '" + std::string(url) + "'");
  if (!port_text.empty()) {
    if (port_text.size() > 5) return Result<Url>::Error("invalid port in '" + std::string(url) + "'");
    int p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return Result<Url>::Error("invalid port in '" + std::string(url) + "'");
      p = p * 10 + (c - '0');
    }
    if (p == 0 || p > 65535) return Result<Url>::Error("invalid port in '" + std::string(url) + "'");
    out.port = p;
  }
  return out;
}

struct ClientStream::Impl {
  std::unique_ptr<wire::Conn> conn;
  wire::ResponseHead head;
  wire::Limits limits;
  std::unique_ptr<wire::BodyDecoder> body;
  std::string pending;  // read ahead by ReadLine
};

ClientStream::ClientStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientStream::~ClientStream() = default;

Result<std::unique_ptr<ClientStream>> ClientStream::Open(const ClientRequest& request) {
  using R = Result<std::unique_ptr<ClientStream>>;
  auto url = ParseUrl(request.url);
  if (!url.ok()) return R::Error(url.error());
  auto fd = wire::ConnectTcp(url->host, url->port, request.timeout_ms);
  if (!fd.ok()) return R::Error(fd.error());
  auto impl = std::make_unique<Impl>();
  impl->conn = std::make_unique<wire::Conn>(*fd);
  impl->conn->set_timeout_ms(request.timeout_ms);

  std::string host_header = url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
  if (url->port != 80) host_header += ":" + std::to_string(url->port);
  std::string head = request.method + " " + url->target + " HTTP/1.1\r\nHost: " + host_header + "\r\n";
  bool has_ua = false, has_ct = false;
  for (const auto& h : request.headers) {
    if (h.name.find_first_of("\r\n:") != std::string::npos || h.value.find_first_of("\r\n") != std::string::npos) {
      return R::Error("invalid header '" + h.name + "'");
    }
    if (EqualsIgnoreCase(h.name, "Content-Length") || EqualsIgnoreCase(h.name, "Transfer-Encoding") ||
        EqualsIgnoreCase(h.name, "Host") || EqualsIgnoreCase(h.name, "Connection")) {
      continue;
    }
    has_ua |= EqualsIgnoreCase(h.name, "User-Agent");
    has_ct |= EqualsIgnoreCase(h.name, "Content-Type");
    head += h.name + ": " + h.value + "\r\n";
  }
  (void)has_ct;
  if (!has_ua) head += "User-Agent: gantry\r\n";
  head += "Connection: close\r\n";
  bool chunked = false;
  if (request.body_source) {
    if (request.body_length) {
      head += "Content-Length: " + std::to_string(*request.body_length) + "\r\n";
    } else {
      head += "Transfer-Encoding: chunked\r\n";
      chunked = true;
    }
  } else if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
             request.method == "PATCH") {
    head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  head += "\r\n";
  auto& conn = *impl->conn;
  std::string first = head;
  if (!request.body_source && request.body.size() < 64 * 1024) {
    first += request.body;
    if (!conn.WriteAll(first)) return R::Error("connection lost while sending the request to " + request.url);
  } else {
    if (!conn.WriteAll(first)) return R::Error("connection lost while sending the request to " + request.url);
    if (!request.body_source) {
      if (!conn.WriteAll(request.body)) return R::Error("connection lost while sending the body to " + request.url);
    } else {
      char buf[65536];
      for (;;) {
        long long n = request.body_source(buf, sizeof buf);
        if (n < 0) return R::Error("request body source failed");
        if (chunked) {
          char line[32];
          std::snprintf(line, sizeof line, "%llx\r\n", n);
          std::string chunk = line;
          chunk.append(buf, static_cast<size_t>(n));
          chunk += "\r\n";
          if (!conn.WriteAll(chunk)) return R::Error("connection lost while sending the body to " + request.url);
        } else if (n > 0 && !conn.WriteAll(std::string_view(buf, static_cast<size_t>(n)))) {
          return R::Error("connection lost while sending the body to " + request.url);
        }
        if (n == 0) break;
      }
    }
  }
  for (;;) {
    std::string response_head;
    bool eof = false, too_big = false;
    if (!conn.ReadHead(impl->limits.max_head_bytes, &response_head, &eof, &too_big)) {
      return R::Error(too_big ? "response head from " + request.url + " is too large"
                              : "no response from " + request.url);
    }
    impl->head = wire::ResponseHead{};
    wire::HeadError err;
    if (!wire::ParseResponseHead(response_head, request.method, impl->limits, &impl->head, &err)) {
      return R::Error("malformed response from " + request.url + ": " + err.message);
    }
    if (impl->head.status >= 100 && impl->head.status < 200) continue;  // 100 Continue
    break;
  }
  impl->body =
      std::make_unique<wire::BodyDecoder>(&conn, impl->head.body, impl->head.content_length, UINT64_MAX, impl->limits);
  return std::unique_ptr<ClientStream>(new ClientStream(std::move(impl)));
}

int ClientStream::status() const { return impl_->head.status; }
const Headers& ClientStream::headers() const { return impl_->head.headers; }
void ClientStream::set_timeout_ms(int ms) { impl_->conn->set_timeout_ms(ms); }

long long ClientStream::Read(char* buf, size_t n) {
  if (!impl_->pending.empty()) {
    size_t take = std::min(n, impl_->pending.size());
    std::memcpy(buf, impl_->pending.data(), take);
    impl_->pending.erase(0, take);
    return static_cast<long long>(take);
  }
  return impl_->body->Read(buf, n);
}

bool ClientStream::ReadLine(std::string* line, size_t max) {
  for (;;) {
    size_t nl = impl_->pending.find('\n');
    if (nl != std::string::npos) {
      line->assign(impl_->pending, 0, nl);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      impl_->pending.erase(0, nl + 1);
      return true;
    }
    if (impl_->pending.size() > max) return false;
    char buf[16384];
    long long n = impl_->body->Read(buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 && !impl_->pending.empty()) {
        *line = std::move(impl_->pending);
        impl_->pending.clear();
        return true;
      }
      return false;
    }
    impl_->pending.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ClientStream::ReadAll(uint64_t limit) {
  std::string out = std::move(impl_->pending);
  impl_->pending.clear();
  char buf[65536];
  for (;;) {
    if (out.size() > limit) return Result<std::string>::Error("response body larger than " + std::to_string(limit));
    long long n = impl_->body->Read(buf, sizeof buf);
    if (n < 0) return Result<std::string>::Error("connection lost while reading the response body");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > limit) return Result<std::string>::Error("response body larger than " + std::to_string(limit));
  return out;
}

Result<ClientResponse> Fetch(const ClientRequest& request, uint64_t max_body) {
  auto stream = ClientStream::Open(request);
  if (!stream.ok()) return Result<ClientResponse>::Error(stream.error());
  ClientResponse out;
  out.status = (*stream)->status();
  out.headers = (*stream)->headers();
  auto body = (*stream)->ReadAll(max_body);
  if (!body.ok()) return Result<ClientResponse>::Error(request.url + ": " + body.error());
  out.body = std::move(*body);
  return out;
}

}  // namespace gantry::http
