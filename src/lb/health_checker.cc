#include "lb/health_checker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace gantry::lb {
namespace {

struct Check {
  std::shared_ptr<TargetRuntime> target;
  HealthCheck config;
  int fd = -1;
  int64_t deadline_ms = 0;
  std::string request;
  size_t sent = 0;
  char reply[16] = {};
  size_t got = 0;
  bool connected = false;
};

void Finish(Check& c, bool ok, int64_t now) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  TargetRuntime& t = *c.target;
  int health = t.health.load();
  if (ok) {
    t.fail_streak = 0;
    if (++t.ok_streak >= c.config.healthy_threshold && health != static_cast<int>(TargetState::kHealthy)) {
      t.healthy_since_ms.store(now);
      t.health.store(static_cast<int>(TargetState::kHealthy));
    }
  } else {
    t.ok_streak = 0;
    if (++t.fail_streak >= c.config.unhealthy_threshold && health != static_cast<int>(TargetState::kUnhealthy))
      t.health.store(static_cast<int>(TargetState::kUnhealthy));
  }
}

bool StartCheck(Check& c, int64_t now) {
  c.fd = socket(c.target->addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return false;
  c.deadline_ms = now + c.config.timeout_ms;
  c.request = "GET " + c.config.path + " HTTP/1.1\r\nHost: " + c.target->address +
              "\r\nUser-Agent: gantry-lb-health-check\r\nConnection: close\r\n\r\n";
  int r = connect(c.fd, c.target->addr.get(), c.target->addr.len);
  if (r == 0)
    c.connected = true;
  else if (errno != EINPROGRESS)
    return false;
  return true;
}

// Advances one check; returns true when it finished (and was recorded).
bool Step(Check& c, short revents, int64_t now) {
  if (!c.connected) {
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return Finish(c, false, now), true;
    c.connected = true;
  }
  if (c.sent < c.request.size()) {
    ssize_t n = send(c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0)
      c.sent += static_cast<size_t>(n);
    else if (n < 0 && errno != EAGAIN)
      return Finish(c, false, now), true;
    return false;
  }
  if (!(revents & (POLLIN | POLLERR | POLLHUP))) return false;
  ssize_t n = recv(c.fd, c.reply + c.got, sizeof(c.reply) - c.got, 0);
  if (n < 0 && errno == EAGAIN) return false;
  if (n <= 0) return Finish(c, false, now), true;
  c.got += static_cast<size_t>(n);
  if (c.got < 12) return false;
  std::string_view line(c.reply, c.got);
  bool ok = false;
  if (line.substr(0, 7) == "HTTP/1." && line[8] == ' ') {
    int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    ok = status >= c.config.matcher_low && status <= c.config.matcher_high;
  }
  Finish(c, ok, now);
  return true;
}

}  // namespace

HealthChecker::HealthChecker(const Shared& shared, std::function<void(int64_t)> housekeeping)
    : shared_(shared), housekeeping_(std::move(housekeeping)) {}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HealthChecker::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::Run() {
  pthread_setname_np(pthread_self(), "lb-health");
  std::vector<Check> checks;
  std::vector<pollfd> fds;
  int64_t last_housekeeping = 0;
  while (!stop_) {
    int64_t now = NowMs();
    std::shared_ptr<const Snapshot> snap = shared_.Load();
    for (const auto& g : snap->groups) {
      if (!g.config.health_check.enabled) continue;
      for (const auto& t : g.targets) {
        if (t->draining.load() || now < t->next_check_ms) continue;
        t->next_check_ms = now + g.config.health_check.interval_ms;
        Check c;
        c.target = t;
        c.config = g.config.health_check;
        if (!StartCheck(c, now)) {
          Finish(c, false, now);
          continue;
        }
        checks.push_back(std::move(c));
      }
    }
    fds.clear();
    for (const auto& c : checks)
      fds.push_back({c.fd, static_cast<short>(!c.connected || c.sent < c.request.size() ? POLLOUT : POLLIN), 0});
    poll(fds.data(), fds.size(), 10);
    now = NowMs();
    for (size_t i = checks.size(); i-- > 0;) {
      Check& c = checks[i];
      bool done = Step(c, fds[i].revents, now);
      if (!done && now >= c.deadline_ms) {
        Finish(c, false, now);
        done = true;
      }
      if (done) {
        checks[i] = std::move(checks.back());
        checks.pop_back();
      }
    }
    if (now - last_housekeeping >= 50) {
      last_housekeeping = now;
      housekeeping_(now);
    }
  }
  for (auto& c : checks)
    if (c.fd >= 0) close(c.fd);
}

}  // namespace gantry::lb
