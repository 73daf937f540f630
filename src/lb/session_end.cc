// The ends of a client session: replies the load balancer writes itself (errors), the
// WebSocket tunnel after a 101, metrics and access log records, timeouts and closing.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/http.h"
#include "lb/worker.h"

namespace gantry::lb {

void Session::SendError(int status, bool close) {
  ReleaseUpstream(false);
  status_ = status;
  Record(status);
  rbuf_.r = rbuf_.w = rbody_end_ = 0;
  out_.clear();
  out_pos_ = 0;
  const char* text = http::StatusText(status);
  std::string body = std::to_string(status) + " " + text + "\n";
  out_.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(text);
  out_.append("\r\nServer: gantry-lb\r\nContent-Type: text/plain\r\nContent-Length: ")
      .append(std::to_string(body.size()));
  reply_keep_ = !close && client_keep_alive_;
  out_.append(reply_keep_ ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n").append(body);
  phase_ = Phase::kReply;
  phase_start_ms_ = worker_->now_ms();
}

bool Session::StepReply() {
  bool progress = WriteClient();
  if (phase_ != Phase::kReply) return true;
  if (out_pos_ != out_.size() || !out_.empty()) return progress;
  if (reply_keep_) {
    ResetForNextRequest();
  } else {
    shutdown(ep.fd, SHUT_WR);
    Close();
  }
  return true;
}

bool Session::StepTunnel() {
  bool progress = false;
  if (in_.r < in_.w && up_->writable) {
    ssize_t n = write(up_->ep.fd, in_.data.get() + in_.r, in_.w - in_.r);
    if (n > 0) {
      in_.r += static_cast<size_t>(n);
      if (in_.r < in_.w) up_->writable = false;
      progress = true;
      last_active_ms_ = worker_->now_ms();
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      up_->writable = false;
    } else if (!(n < 0 && errno == EINTR)) {
      Close();
      return true;
    }
  }
  if (in_.r == in_.w) in_.r = in_.w = 0;
  bool eof = false, failed = false;
  if (!client_eof_ && ReadInto(ep.fd, in_, client_readable_, &eof, &failed)) {
    progress = true;
    if (eof || failed) client_eof_ = true;
  }
  rbody_end_ = rbuf_.w;
  if (WriteClient()) progress = true;
  if (phase_ != Phase::kTunnel) return true;
  eof = failed = false;
  if (!up_eof_ && ReadInto(up_->ep.fd, rbuf_, up_->readable, &eof, &failed)) {
    progress = true;
    if (eof || failed) up_eof_ = true;
    rbody_end_ = rbuf_.w;
  }
  if ((client_eof_ && in_.r == in_.w) || (up_eof_ && rbuf_.r == rbuf_.w && out_.empty())) {
    Close();
    return true;
  }
  return progress;
}

void Session::Record(int status) {
  int64_t latency = NowUs() - start_us_;
  int shard = worker_->index();
  if (listener_) listener_->counters.Record(status, latency, shard);
  if (group_) group_->runtime->counters.Record(status, latency, shard);
  if (target_) target_->counters.Record(status, latency, shard);
  if (worker_->shared().access_log_fd >= 0) {
    std::string line;
    line.reserve(160);
    line.append(worker_->wall_time()).append(" ").append(peer_ip_).append(" ");
    line.append(std::to_string(status)).append(" ").append(std::to_string(latency)).append("us ");
    line.append(group_ ? group_->config.name : "-").append(" ").append(target_ ? target_->address : "-").append("\n");
    worker_->AccessLog(line);
  }
}

void Session::Close() {
  if (phase_ == Phase::kClosed) return;
  ReleaseUpstream(false);
  if (ep.fd >= 0) {
    close(ep.fd);
    ep.fd = -1;
  }
  if (listener_) listener_->active.fetch_sub(1, std::memory_order_relaxed);
  listener_.reset();
  snap_.reset();
  target_.reset();
  group_ = nullptr;
  phase_ = Phase::kClosed;
  worker_->Retire(this);
}

void Session::OnTimer(int64_t now) {
  const Timeouts& t = worker_->snapshot()->config.timeouts;
  switch (phase_) {
    case Phase::kHead:
      if (now - phase_start_ms_ > (in_.w == 0 ? t.idle_ms : t.header_ms)) {
        if (in_.w == 0) {
          Close();
        } else {
          SendError(408, true);
          Pump();
        }
      }
      break;
    case Phase::kConnecting:
      if (now - phase_start_ms_ > t.connect_ms) {
        OnConnectFailed(true);
        Pump();
      }
      break;
    case Phase::kExchange:
      if (now - last_active_ms_ > t.idle_ms || now - phase_start_ms_ > t.request_ms) {
        if (!rsp_started_) {
          target_->RecordOutcome(true, group_->config.outlier, now);
          SendError(504, true);
          Pump();
        } else {
          Record(504);
          Close();
        }
      }
      break;
    case Phase::kTunnel:
    case Phase::kReply:
      if (now - last_active_ms_ > t.idle_ms) Close();
      break;
    case Phase::kClosed:
      break;
  }
}

void Session::Shutdown() {
  if (phase_ == Phase::kHead && in_.w == 0) {
    Close();
  } else {
    client_keep_alive_ = false;
  }
}

}  // namespace gantry::lb
