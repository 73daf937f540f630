// The worker's event loop: accept, dispatch edge-triggered events to sessions, keep the
// upstream connection pool, run timers every 100 ms, and pick up new config snapshots.
#include "lb/worker.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <random>

namespace gantry::lb {
namespace {

constexpr uint32_t kEdgeAll = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr int64_t kTickMs = 100;

}  // namespace

Worker::Worker(Shared& shared, int index) : shared_(shared), index_(index) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_.fd, &ev);
  std::random_device rd;
  rng_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(index + 1);
}

Worker::~Worker() {
  Join();
  for (auto& s : sessions_)
    if (s->ep.fd >= 0) close(s->ep.fd);
  for (auto& u : upstreams_)
    if (u->ep.fd >= 0) close(u->ep.fd);
  if (wake_.fd >= 0) close(wake_.fd);
  if (epfd_ >= 0) close(epfd_);
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Wake() {
  uint64_t one = 1;
  ssize_t ignored = write(wake_.fd, &one, sizeof(one));
  (void)ignored;
}

uint64_t Worker::Random() {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

void Worker::NextRequestId(std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  uint64_t a = rng_ ^ (static_cast<uint64_t>(index_) << 56), b = ++request_seq_;
  char buf[32];
  for (int i = 0; i < 16; ++i) buf[i] = kHex[(a >> (60 - 4 * i)) & 15];
  for (int i = 0; i < 16; ++i) buf[16 + i] = kHex[(b >> (60 - 4 * i)) & 15];
  out.append(buf, 32);
}

const std::string& Worker::wall_time() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != wall_time_sec_) {
    wall_time_sec_ = ts.tv_sec;
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
    wall_time_ = buf;
  }
  return wall_time_;
}

void Worker::AccessLog(std::string_view line) {
  log_buf_.append(line);
  if (log_buf_.size() > 32 * 1024) FlushLog();
}

void Worker::FlushLog() {
  if (log_buf_.empty() || shared_.access_log_fd < 0) return;
  // One write per flush on an O_APPEND file keeps lines from different workers whole.
  ssize_t ignored = write(shared_.access_log_fd, log_buf_.data(), log_buf_.size());
  (void)ignored;
  log_buf_.clear();
}

void Worker::Retire(Session* s) {
  retired_.push_back(s);
  // O(1) removal from the active list.
  size_t i = s->active_index;
  if (i < active_.size() && active_[i] == s) {
    active_[i] = active_.back();
    active_[i]->active_index = i;
    active_.pop_back();
  }
}

Upstream* Worker::AcquireUpstream(const std::shared_ptr<TargetRuntime>& target, bool fresh, bool* connected, int* err) {
  if (!fresh) {
    auto it = pool_.find(target.get());
    if (it != pool_.end() && !it->second.empty()) {
      Upstream* u = it->second.back();
      it->second.pop_back();
      u->reused = true;
      u->writable = true;
      *connected = true;
      return u;
    }
  }
  int fd = socket(target->addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, target->addr.get(), target->addr.len) == 0) {
    *connected = true;
  } else if (errno == EINPROGRESS) {
    *connected = false;
  } else {
    *err = errno;
    close(fd);
    return nullptr;
  }
  Upstream* u;
  if (!free_upstreams_.empty()) {
    u = free_upstreams_.back();
    free_upstreams_.pop_back();
  } else {
    upstreams_.push_back(std::make_unique<Upstream>());
    u = upstreams_.back().get();
    u->ep.owner = u;
  }
  u->ep.fd = fd;
  u->target = target;
  u->session = nullptr;
  u->reused = false;
  u->readable = false;
  u->writable = *connected;
  u->hup = false;
  epoll_event ev{};
  ev.events = kEdgeAll;
  ev.data.ptr = &u->ep;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  return u;
}

void Worker::ReleaseUpstream(Upstream* u, bool reusable) {
  const auto& limits = snap_->config.limits;
  if (reusable && !shared_.stopping.load(std::memory_order_relaxed)) {
    auto& v = pool_[u->target.get()];
    if (static_cast<int>(v.size()) < limits.upstream_keepalive) {
      u->idle_since_ms = now_ms_;
      u->readable = false;
      v.push_back(u);
      return;
    }
  }
  CloseUpstream(u);
}

void Worker::CloseUpstream(Upstream* u) {
  if (u->ep.fd >= 0) close(u->ep.fd);
  u->ep.fd = -1;
  u->target.reset();
  u->session = nullptr;
  retired_upstreams_.push_back(u);
}

void Worker::SyncSnapshot() {
  uint64_t gen = shared_.generation.load(std::memory_order_acquire);
  if (gen == gen_ && snap_) return;
  std::shared_ptr<const Snapshot> next = shared_.Load();
  gen_ = gen;
  bool stopping = shared_.stopping.load(std::memory_order_relaxed);
  // Listeners: register new ones, drop the ones that left (or all of them when stopping).
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    bool keep = !stopping && next->FindListener(it->first) != nullptr;
    if (!keep) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  if (!stopping) {
    for (const auto& l : next->listeners) {
      ListenerRuntime* rt = l.runtime.get();
      if (listeners_.count(rt)) continue;
      auto ep = std::make_unique<Endpoint>();
      ep->kind = Endpoint::Kind::kListener;
      ep->fd = rt->fds[static_cast<size_t>(index_) % rt->fds.size()];
      ep->owner = rt;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = ep.get();
      epoll_ctl(epfd_, EPOLL_CTL_ADD, ep->fd, &ev);
      listeners_.emplace(rt, std::move(ep));
    }
  }
  snap_ = std::move(next);
}

void Worker::Accept(ListenerRuntime* l, int listen_fd) {
  const auto& listener = [&]() -> std::shared_ptr<ListenerRuntime> {
    for (const auto& lv : snap_->listeners)
      if (lv.runtime.get() == l) return lv.runtime;
    return nullptr;
  }();
  if (!listener) return;
  for (int i = 0; i < 64; ++i) {
    SockAddr peer;
    peer.len = sizeof(peer.storage);
    int fd = accept4(listen_fd, peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or another worker took it
    if (static_cast<int64_t>(l->active.load(std::memory_order_relaxed)) >= snap_->config.limits.max_connections) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    Session* s;
    if (!free_sessions_.empty()) {
      s = free_sessions_.back();
      free_sessions_.pop_back();
    } else {
      sessions_.push_back(std::make_unique<Session>(this));
      s = sessions_.back().get();
    }
    s->Open(fd, listener, peer);
    s->active_index = active_.size();
    active_.push_back(s);
    epoll_event ev{};
    ev.events = kEdgeAll;
    ev.data.ptr = &s->ep;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Worker::Dispatch(Endpoint* ep, uint32_t events) {
  switch (ep->kind) {
    case Endpoint::Kind::kWake: {
      uint64_t v;
      ssize_t ignored = read(ep->fd, &v, sizeof(v));
      (void)ignored;
      break;
    }
    case Endpoint::Kind::kListener:
      Accept(static_cast<ListenerRuntime*>(ep->owner), ep->fd);
      break;
    case Endpoint::Kind::kClient:
      if (ep->fd >= 0) static_cast<Session*>(ep->owner)->OnClientEvent(events);
      break;
    case Endpoint::Kind::kUpstream: {
      auto* u = static_cast<Upstream*>(ep->owner);
      if (ep->fd < 0) break;
      if (u->session) {
        u->session->OnUpstreamEvent(events);
      } else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // An idle pooled connection: the back end closed it (or sent junk). Drop it.
        auto it = pool_.find(u->target.get());
        if (it != pool_.end()) {
          auto& v = it->second;
          for (size_t i = 0; i < v.size(); ++i)
            if (v[i] == u) {
              v[i] = v.back();
              v.pop_back();
              break;
            }
        }
        CloseUpstream(u);
      }
      break;
    }
  }
}

void Worker::Tick() {
  last_tick_ms_ = now_ms_;
  // Copy: timers may close sessions, which edits active_.
  std::vector<Session*> now_active = active_;
  for (Session* s : now_active)
    if (!s->closed()) s->OnTimer(now_ms_);
  int64_t idle_limit = snap_->config.timeouts.idle_ms;
  for (auto it = pool_.begin(); it != pool_.end();) {
    auto& v = it->second;
    for (size_t i = 0; i < v.size();) {
      Upstream* u = v[i];
      if (u->target->draining.load(std::memory_order_relaxed) || now_ms_ - u->idle_since_ms > idle_limit ||
          shared_.stopping.load(std::memory_order_relaxed)) {
        v[i] = v.back();
        v.pop_back();
        CloseUpstream(u);
      } else {
        ++i;
      }
    }
    it = v.empty() ? pool_.erase(it) : std::next(it);
  }
  FlushLog();
}

void Worker::Run() {
  pthread_setname_np(pthread_self(), ("lb-worker-" + std::to_string(index_)).c_str());
  epoll_event events[256];
  now_ms_ = last_tick_ms_ = NowMs();
  while (true) {
    SyncSnapshot();
    if (shared_.stopping.load(std::memory_order_acquire)) {
      if (!stop_started_) {
        stop_started_ = true;
        std::vector<Session*> now_active = active_;
        for (Session* s : now_active) s->Shutdown();
      }
      if (active_.empty() || now_ms_ >= shared_.stop_deadline_ms.load()) break;
    }
    int n = epoll_wait(epfd_, events, 256, resume_.empty() ? static_cast<int>(kTickMs) : 0);
    now_ms_ = NowMs();
    for (int i = 0; i < n; ++i) Dispatch(static_cast<Endpoint*>(events[i].data.ptr), events[i].events);
    resuming_.swap(resume_);
    for (Session* s : resuming_)
      if (!s->closed()) s->Resume();
    resuming_.clear();
    // Objects closed in this batch are reused only now, so a later event of the same batch
    // never reaches a new owner.
    for (Session* s : retired_) free_sessions_.push_back(s);
    retired_.clear();
    for (Upstream* u : retired_upstreams_) free_upstreams_.push_back(u);
    retired_upstreams_.clear();
    if (now_ms_ - last_tick_ms_ >= kTickMs) Tick();
  }
  // The grace period is over: close what is left.
  while (!active_.empty()) active_.back()->Abort();
  for (auto& [t, v] : pool_)
    for (Upstream* u : v) CloseUpstream(u);
  pool_.clear();
  FlushLog();
}

}  // namespace gantry::lb
