// One client connection of a worker: reads request heads, routes them, streams the request
// to a pooled upstream connection and the response back, then waits for the next request.
// No exceptions and no allocation on the steady path: buffers and strings are reused.
#include <arpa/inet.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include "base/http.h"
#include "base/strings.h"
#include "lb/worker.h"

namespace gantry::lb {
namespace {

constexpr size_t kMinBuffer = 16 * 1024;

bool IsHopByHop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return EqualsIgnoreCase(n, "te");
    case 7:
      return EqualsIgnoreCase(n, "upgrade") || EqualsIgnoreCase(n, "trailer");
    case 10:
      return EqualsIgnoreCase(n, "connection") || EqualsIgnoreCase(n, "keep-alive");
    case 16:
      return EqualsIgnoreCase(n, "proxy-connection");
    default:
      return false;
  }
}

class RequestHeaders : public HeaderLookup {
 public:
  explicit RequestHeaders(const http1::RequestHead& r) : r_(r) {}
  std::string_view Get(std::string_view name) const override {
    for (int i = 0; i < r_.num_headers; ++i)
      if (EqualsIgnoreCase(r_.headers[i].name, name)) return r_.headers[i].value;
    return {};
  }

 private:
  const http1::RequestHead& r_;
};

// The value of cookie `name` in the request's Cookie headers.
std::string_view FindCookie(const http1::RequestHead& r, std::string_view name) {
  for (int i = 0; i < r.num_headers; ++i) {
    if (!EqualsIgnoreCase(r.headers[i].name, "cookie")) continue;
    std::string_view v = r.headers[i].value;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view item = Trim(v.substr(0, semi));
      if (item.size() > name.size() && item.substr(0, name.size()) == name && item[name.size()] == '=')
        return item.substr(name.size() + 1);
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
  }
  return {};
}

void AppendHex(std::string& out, uint64_t v) {
  char buf[17];
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
  out.append(buf, 16);
}

}  // namespace

void Session::Open(int fd, std::shared_ptr<ListenerRuntime> listener, const SockAddr& peer) {
  ep.fd = fd;
  listener_ = std::move(listener);
  peer_ip_ = IpString(peer);
  const Snapshot& s = *worker_->snapshot();
  size_t cap = std::max<size_t>(kMinBuffer, s.config.limits.max_header_bytes);
  in_.Ensure(cap);
  if (rbuf_.cap < cap) rbuf_.Ensure(cap);
  rbuf_.r = rbuf_.w = 0;
  client_readable_ = client_writable_ = false;
  client_eof_ = false;
  out_.clear();
  out_pos_ = 0;
  phase_ = Phase::kHead;
  scan_ = 0;
  phase_start_ms_ = last_active_ms_ = worker_->now_ms();
  listener_->active.fetch_add(1, std::memory_order_relaxed);
  listener_->total.fetch_add(1, std::memory_order_relaxed);
}

void Session::OnClientEvent(uint32_t events) {
  if (phase_ == Phase::kClosed) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) client_writable_ = true;
  Pump();
}

void Session::OnUpstreamEvent(uint32_t events) {
  if (phase_ == Phase::kClosed || up_ == nullptr) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) up_->readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) up_->writable = true;
  if (phase_ == Phase::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(up_->ep.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      OnConnectFailed(false);
      Pump();
      return;
    }
    if (!(events & EPOLLOUT)) return;
    phase_ = Phase::kExchange;
    phase_start_ms_ = worker_->now_ms();
  }
  Pump();
}

void Session::Pump() {
  // Bounded so one busy connection cannot starve the others; the worker resumes it after
  // the current batch of events (edge-triggered sockets would not signal it again).
  for (int guard = 0; guard < 64; ++guard) {
    bool progress = false;
    switch (phase_) {
      case Phase::kHead:
        progress = StepHead();
        break;
      case Phase::kExchange:
        progress = StepExchange();
        break;
      case Phase::kTunnel:
        progress = StepTunnel();
        break;
      case Phase::kReply:
        progress = StepReply();
        break;
      case Phase::kConnecting:
      case Phase::kClosed:
        return;
    }
    if (!progress) return;
  }
  worker_->ResumeLater(this);
}

// Reads what is available; a short read means the socket is drained (edge-triggered).
bool Session::ReadInto(int fd, Buffer& b, bool& readable, bool* eof, bool* failed) {
  if (!readable || b.space() == 0) return false;
  ssize_t n = read(fd, b.data.get() + b.w, b.space());
  if (n > 0) {
    if (static_cast<size_t>(n) < b.space()) readable = false;
    b.w += static_cast<size_t>(n);
    last_active_ms_ = worker_->now_ms();
    return true;
  }
  if (n == 0) {
    *eof = true;
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    readable = false;
    return false;
  }
  if (errno == EINTR) return true;
  *failed = true;
  return true;
}

bool Session::StepHead() {
  if (in_.w > 0) {
    size_t head_len = http1::FindHeadEnd(in_.data.get(), in_.w, &scan_);
    if (head_len > worker_->snapshot()->config.limits.max_header_bytes) {
      SendError(431, true);
      return true;
    }
    if (head_len > 0) {
      StartRequest(head_len);
      return true;
    }
    if (in_.space() == 0 || in_.w >= worker_->snapshot()->config.limits.max_header_bytes) {
      SendError(431, true);
      return true;
    }
  }
  bool eof = false, failed = false;
  if (!ReadInto(ep.fd, in_, client_readable_, &eof, &failed)) return false;
  if (eof || failed) {
    if (in_.w > 0 && !failed) Record(400);
    Close();
  }
  return true;
}

void Session::StartRequest(size_t head_len) {
  start_us_ = NowUs();
  phase_start_ms_ = last_active_ms_ = worker_->now_ms();
  status_ = 0;
  rsp_bytes_ = 0;
  rsp_head_done_ = rsp_started_ = rsp_eof_ = up_eof_ = stale_retried_ = set_cookie_ = false;
  attempts_ = 0;
  group_ = nullptr;
  target_.reset();
  req_body_.Reset(http1::Framing::kNone);
  if (!http1::ParseRequestHead(in_.data.get(), head_len, &req_)) {
    SendError(req_.error_status, true);
    return;
  }
  in_.r = body_end_ = head_len;
  req_body_.Reset(req_.framing, req_.content_length);
  is_head_ = req_.method == "HEAD";
  upgrade_ = req_.upgrade;
  client_keep_alive_ = req_.keep_alive && !worker_->shared().stopping.load(std::memory_order_relaxed);
  snap_ = worker_->snapshot();
  const Config& cfg = snap_->config;
  if (cfg.limits.max_body_bytes > 0 && req_.framing == http1::Framing::kLength &&
      req_.content_length > cfg.limits.max_body_bytes) {
    SendError(413, true);
    return;
  }
  std::string_view target = req_.target;
  std::string_view host = req_.host;
  if (target.size() > 7 && (StartsWith(target, "http://") || StartsWith(target, "HTTP://"))) {
    // absolute-form: the authority replaces Host (RFC 9112 3.2.2)
    std::string_view rest = target.substr(7);
    size_t slash = rest.find('/');
    host = rest.substr(0, slash);
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  } else if (target[0] != '/' && !(target == "*" && req_.method == "OPTIONS")) {
    SendError(400, true);
    return;
  }
  std::string_view path = target.substr(0, target.find('?'));
  const ListenerView* lv = snap_->FindListener(listener_.get());
  const RuleView* rule = lv ? MatchRule(*lv, host, path, RequestHeaders(req_)) : nullptr;
  if (rule == nullptr) {
    SendError(404, req_.framing != http1::Framing::kNone);
    return;
  }
  group_ = PickGroup(*rule, worker_->Random());
  if (group_ == nullptr) {
    SendError(503, req_.framing != http1::Framing::kNone);
    return;
  }
  BuildUpstreamHead(target);
  // Stickiness: a valid cookie pins the request to its target while that one is eligible.
  if (group_->config.stickiness.enabled) {
    std::string_view v = FindCookie(req_, group_->config.stickiness.cookie);
    uint64_t id = 0;
    bool found = false;
    if (v.size() == 16) {
      for (char c : v) id = id * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
      for (const auto& t : group_->targets)
        if (t->id == id && t->Eligible(worker_->now_ms())) {
          target_ = t;
          found = true;
        }
    }
    set_cookie_ = !found;
  }
  Connect();
}

void Session::BuildUpstreamHead(std::string_view target) {
  std::string& h = up_head_;
  h.clear();
  up_head_pos_ = 0;
  h.append(req_.method).append(" ").append(target).append(req_.minor_version == 1 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  std::string_view xff, request_id;
  for (int i = 0; i < req_.num_headers; ++i) {
    const auto& hd = req_.headers[i];
    if (IsHopByHop(hd.name)) continue;
    if (hd.name.size() == 15 && EqualsIgnoreCase(hd.name, "x-forwarded-for")) {
      xff = hd.value;
      continue;
    }
    if (hd.name.size() >= 16 && EqualsIgnoreCase(hd.name.substr(0, 12), "x-forwarded-")) continue;
    if (hd.name.size() == 12 && EqualsIgnoreCase(hd.name, "x-request-id")) request_id = hd.value;
    h.append(hd.name).append(": ").append(hd.value).append("\r\n");
  }
  h.append("X-Forwarded-For: ");
  if (!xff.empty()) h.append(xff).append(", ");
  h.append(peer_ip_).append("\r\nX-Forwarded-Proto: http\r\n");
  if (!req_.host.empty()) h.append("X-Forwarded-Host: ").append(req_.host).append("\r\n");
  h.append("X-Forwarded-Port: ").append(std::to_string(listener_->port)).append("\r\n");
  if (request_id.empty()) {
    h.append("X-Request-Id: ");
    worker_->NextRequestId(h);
    h.append("\r\n");
  }
  if (upgrade_) {
    for (int i = 0; i < req_.num_headers; ++i)
      if (EqualsIgnoreCase(req_.headers[i].name, "upgrade"))
        h.append("Upgrade: ").append(req_.headers[i].value).append("\r\n");
    h.append("Connection: upgrade\r\n");
  } else if (req_.minor_version == 0) {
    h.append("Connection: close\r\n");
  }
  h.append("\r\n");
}

bool Session::Connect() {
  int64_t now = worker_->now_ms();
  while (attempts_ < 3) {
    TargetRuntime* t = target_ ? target_.get() : PickTarget(*group_, worker_->Random(), now, tried_, attempts_);
    if (t == nullptr) break;
    if (!target_)
      for (const auto& sp : group_->targets)
        if (sp.get() == t) target_ = sp;
    tried_[attempts_++] = t;
    bool connected = false;
    int err = 0;
    up_ = worker_->AcquireUpstream(target_, false, &connected, &err);
    if (up_ == nullptr) {
      t->connect_errors.fetch_add(1, std::memory_order_relaxed);
      t->RecordOutcome(true, group_->config.outlier, now);
      target_.reset();
      continue;
    }
    up_->session = this;
    t->outstanding.fetch_add(1, std::memory_order_relaxed);
    up_head_pos_ = 0;
    phase_ = connected ? Phase::kExchange : Phase::kConnecting;
    phase_start_ms_ = now;
    return true;
  }
  SendError(attempts_ > 0 ? 502 : 503, req_.framing != http1::Framing::kNone);
  return false;
}

void Session::OnConnectFailed(bool timeout) {
  target_->connect_errors.fetch_add(1, std::memory_order_relaxed);
  target_->RecordOutcome(true, group_->config.outlier, worker_->now_ms());
  ReleaseUpstream(false);
  target_.reset();
  if (timeout) {
    SendError(504, true);
    return;
  }
  Connect();
}

void Session::ReleaseUpstream(bool reusable) {
  if (up_ == nullptr) return;
  up_->target->outstanding.fetch_sub(1, std::memory_order_relaxed);
  up_->session = nullptr;
  worker_->ReleaseUpstream(up_, reusable);
  up_ = nullptr;
}

// The upstream connection ended or failed before the response was complete.
void Session::UpstreamFailed(bool eof) {
  if (eof && rsp_head_done_ && rsp_body_.framing() == http1::Framing::kUntilClose) {
    rsp_eof_ = true;  // the body ends with the connection
    return;
  }
  // A reused keep-alive connection the back end closed meanwhile: retry once on a fresh one.
  if (rsp_bytes_ == 0 && up_->reused && !stale_retried_ && req_.framing == http1::Framing::kNone &&
      (http1::IsIdempotent(req_.method) || up_head_pos_ == 0)) {
    stale_retried_ = true;
    ReleaseUpstream(false);
    bool connected = false;
    int err = 0;
    up_ = worker_->AcquireUpstream(target_, true, &connected, &err);
    if (up_ != nullptr) {
      up_->session = this;
      target_->outstanding.fetch_add(1, std::memory_order_relaxed);
      up_head_pos_ = 0;
      phase_ = connected ? Phase::kExchange : Phase::kConnecting;
      return;
    }
    target_.reset();
    Connect();
    return;
  }
  target_->RecordOutcome(true, group_->config.outlier, worker_->now_ms());
  ReleaseUpstream(false);
  if (!rsp_started_) {
    SendError(502, true);
  } else {
    Close();
  }
}

bool Session::StepExchange() {
  bool progress = false;
  const Limits& limits = snap_->config.limits;
  // Frame the buffered request body so only its own bytes go upstream.
  if (!req_body_.done() && body_end_ < in_.w) {
    size_t n = req_body_.Consume(in_.data.get() + body_end_, in_.w - body_end_);
    body_end_ += n;
    bool too_big = limits.max_body_bytes > 0 && req_body_.body_bytes() > limits.max_body_bytes;
    if (req_body_.error() || too_big) {
      ReleaseUpstream(false);
      if (!rsp_started_) {
        SendError(too_big ? 413 : 400, true);
      } else {
        Close();
      }
      return true;
    }
    progress = n > 0;
  }
  size_t head_left = up_head_.size() - up_head_pos_;
  size_t body_left = body_end_ - in_.r;
  if (up_->writable && head_left + body_left > 0) {
    iovec iov[2];
    int cnt = 0;
    if (head_left) iov[cnt++] = {up_head_.data() + up_head_pos_, head_left};
    if (body_left) iov[cnt++] = {in_.data.get() + in_.r, body_left};
    ssize_t n = writev(up_->ep.fd, iov, cnt);
    if (n >= 0) {
      size_t k = static_cast<size_t>(n), h = std::min(k, head_left);
      up_head_pos_ += h;
      in_.r += k - h;
      if (k < head_left + body_left) up_->writable = false;
      last_active_ms_ = worker_->now_ms();
      progress = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      up_->writable = false;
    } else if (errno != EINTR) {
      UpstreamFailed(false);
      return true;
    }
  }
  // Everything buffered went out: read more of the request body from the client.
  if (!req_body_.done() && in_.r == body_end_ && up_head_pos_ == up_head_.size()) {
    in_.r = in_.w = body_end_ = 0;
    bool eof = false, failed = false;
    if (ReadInto(ep.fd, in_, client_readable_, &eof, &failed)) {
      if (eof || failed) {
        ReleaseUpstream(false);
        Record(400);
        Close();
        return true;
      }
      progress = true;
    }
  }
  if (up_->readable && !rsp_eof_) {
    if (rbuf_.space() == 0 && rbuf_.r > 0 && !rsp_head_done_) {
      std::memmove(rbuf_.data.get(), rbuf_.data.get() + rbuf_.r, rbuf_.w - rbuf_.r);
      rbuf_.w -= rbuf_.r;
      rbuf_.r = 0;
      rscan_ = 0;
    }
    size_t before = rbuf_.w;
    bool eof = false, failed = false;
    if (ReadInto(up_->ep.fd, rbuf_, up_->readable, &eof, &failed)) {
      rsp_bytes_ += rbuf_.w - before;
      if (eof || failed) {
        UpstreamFailed(eof && !failed);
        return true;
      }
      progress = true;
    }
  }
  while (!rsp_head_done_ && rbuf_.w > rbuf_.r) {
    const char* base = rbuf_.data.get() + rbuf_.r;
    size_t len = http1::FindHeadEnd(base, rbuf_.w - rbuf_.r, &rscan_);
    if (len == 0) {
      if (rbuf_.space() == 0 && rbuf_.r == 0) {
        target_->RecordOutcome(true, group_->config.outlier, worker_->now_ms());
        ReleaseUpstream(false);
        SendError(502, true);
        return true;
      }
      break;
    }
    rscan_ = 0;
    if (!http1::ParseResponseHead(base, len, is_head_, &rsp_) || (rsp_.status == 101 && !upgrade_)) {
      target_->RecordOutcome(true, group_->config.outlier, worker_->now_ms());
      ReleaseUpstream(false);
      SendError(502, true);
      return true;
    }
    if (rsp_.status == 101) {
      out_.append(base, len);
      rbuf_.r += len;
      rbody_end_ = rbuf_.w;
      status_ = 101;
      rsp_started_ = true;
      Record(101);
      phase_ = Phase::kTunnel;
      return true;
    }
    if (rsp_.status < 200) {  // interim (100 Continue): pass it on, the final head follows
      out_.append(base, len);
      rbuf_.r += len;
      progress = true;
      continue;
    }
    status_ = rsp_.status;
    BuildClientHead();
    rbuf_.r += len;
    rbody_end_ = rbuf_.r;
    rsp_body_.Reset(rsp_.framing, rsp_.content_length);
    rsp_head_done_ = rsp_started_ = true;
    progress = true;
  }
  if (rsp_head_done_ && !rsp_body_.done() && rbody_end_ < rbuf_.w) {
    size_t n = rsp_body_.Consume(rbuf_.data.get() + rbody_end_, rbuf_.w - rbody_end_);
    rbody_end_ += n;
    if (rsp_body_.error()) {
      target_->RecordOutcome(true, group_->config.outlier, worker_->now_ms());
      Record(502);
      Close();
      return true;
    }
    progress = progress || n > 0;
  }
  if (WriteClient()) progress = true;
  if (phase_ != Phase::kExchange) return true;
  if (rsp_head_done_ && (rsp_body_.done() || rsp_eof_) && out_pos_ == out_.size() && rbuf_.r == rbody_end_) {
    FinishExchange();
    return true;
  }
  return progress;
}

bool Session::WriteClient() {
  size_t head_left = out_.size() - out_pos_;
  size_t body_left = rbody_end_ > rbuf_.r ? rbody_end_ - rbuf_.r : 0;
  if (!client_writable_ || head_left + body_left == 0) return false;
  iovec iov[2];
  int cnt = 0;
  if (head_left) iov[cnt++] = {out_.data() + out_pos_, head_left};
  if (body_left) iov[cnt++] = {rbuf_.data.get() + rbuf_.r, body_left};
  ssize_t n = writev(ep.fd, iov, cnt);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      client_writable_ = false;
      return false;
    }
    if (errno == EINTR) return true;
    ReleaseUpstream(false);
    Close();
    return true;
  }
  size_t k = static_cast<size_t>(n), h = std::min(k, head_left);
  out_pos_ += h;
  rbuf_.r += k - h;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  if (rbuf_.r == rbuf_.w && rbody_end_ == rbuf_.w) rbuf_.r = rbuf_.w = rbody_end_ = 0;
  if (k < head_left + body_left) client_writable_ = false;
  last_active_ms_ = worker_->now_ms();
  return true;
}

void Session::BuildClientHead() {
  char code[4] = {static_cast<char>('0' + rsp_.status / 100), static_cast<char>('0' + rsp_.status / 10 % 10),
                  static_cast<char>('0' + rsp_.status % 10), 0};
  out_.append("HTTP/1.1 ").append(code, 3).append(" ").append(rsp_.reason).append("\r\n");
  for (int i = 0; i < rsp_.num_headers; ++i) {
    const auto& hd = rsp_.headers[i];
    if (IsHopByHop(hd.name)) continue;
    out_.append(hd.name).append(": ").append(hd.value).append("\r\n");
  }
  if (set_cookie_ && target_) {
    const Stickiness& st = group_->config.stickiness;
    out_.append("Set-Cookie: ").append(st.cookie).append("=");
    AppendHex(out_, target_->id);
    out_.append("; Path=/; Max-Age=").append(std::to_string(st.duration_ms / 1000)).append("; HttpOnly\r\n");
  }
  if (rsp_.framing == http1::Framing::kUntilClose) client_keep_alive_ = false;
  if (!client_keep_alive_) {
    out_.append("Connection: close\r\n");
  } else if (req_.minor_version == 0) {
    out_.append("Connection: keep-alive\r\n");
  }
  out_.append("\r\n");
}

void Session::FinishExchange() {
  Record(status_);
  target_->RecordOutcome(status_ >= 500, group_->config.outlier, worker_->now_ms());
  bool reusable = !rsp_eof_ && rsp_.keep_alive && req_body_.done() && rbuf_.r == rbuf_.w &&
                  !target_->draining.load(std::memory_order_relaxed);
  ReleaseUpstream(reusable);
  if (!client_keep_alive_ || !req_body_.done()) {
    Close();
    return;
  }
  ResetForNextRequest();
}

void Session::ResetForNextRequest() {
  size_t left = in_.w - body_end_;
  if (left > 0 && body_end_ > 0) std::memmove(in_.data.get(), in_.data.get() + body_end_, left);
  in_.r = 0;
  in_.w = left;
  body_end_ = 0;
  scan_ = 0;
  rbuf_.r = rbuf_.w = rbody_end_ = 0;
  rscan_ = 0;
  snap_.reset();
  target_.reset();
  group_ = nullptr;
  phase_ = Phase::kHead;
  phase_start_ms_ = worker_->now_ms();
}

}  // namespace gantry::lb
