// The control side of the load balancer: binds listeners, turns each Config into an
// immutable Snapshot (reusing the runtime state of listeners, groups and targets that
// stay), publishes it to the workers, tracks draining targets and reads metrics.
#include "lb/load_balancer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <thread>

#include "lb/health_checker.h"
#include "lb/worker.h"

namespace gantry::lb {

struct LoadBalancer::Impl {
  Shared shared;
  mutable std::mutex mu;  // serialises changes and metric reads
  Config config;
  std::vector<std::shared_ptr<ListenerRuntime>> listeners;  // in config order
  std::map<std::string, std::shared_ptr<GroupRuntime>> groups;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<TargetRuntime>> targets;  // registered
  std::vector<std::pair<std::string, std::shared_ptr<TargetRuntime>>> draining;           // group name, target
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<HealthChecker> health;
  bool stopped = false;
  int num_workers = 1;

  Status Publish(Config c);
  void Housekeeping(int64_t now);
};

namespace {

// "host:port", "[v6]:port" or "v6-literal:port" is not accepted (the config reader asks for
// brackets); names resolve with getaddrinfo, IPv4 first so "localhost" means 127.0.0.1.
Result<SockAddr> Resolve(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Result<SockAddr>::Error("address must be host:port: " + address);
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  uint16_t p = htons(static_cast<uint16_t>(std::stoi(port)));
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET, v4->sin_port = p, a.len = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6, v6->sin6_port = p, a.len = sizeof(sockaddr_in6);
    return a;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
    return Result<SockAddr>::Error("cannot resolve " + address);
  const addrinfo* pick = res;
  for (const addrinfo* r = res; r; r = r->ai_next)
    if (r->ai_family == AF_INET) {
      pick = r;
      break;
    }
  std::memcpy(&a.storage, pick->ai_addr, pick->ai_addrlen);
  a.len = pick->ai_addrlen;
  if (a.family() == AF_INET)
    v4->sin_port = p;
  else
    v6->sin6_port = p;
  freeaddrinfo(res);
  return a;
}

Result<std::shared_ptr<ListenerRuntime>> Bind(const std::string& address, int sockets) {
  auto addr = Resolve(address);
  if (!addr.ok()) return addr.status();
  auto l = std::make_shared<ListenerRuntime>();
  l->listen = address;
  SockAddr a = *addr;
  const bool any_port = a.family() == AF_INET ? reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port == 0
                                              : reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port == 0;
  if (!any_port) {
    // SO_REUSEPORT would let a second gantry join a port already in use; probe without it
    // first so a taken port is an error, as users expect.
    int probe = socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool taken = bind(probe, a.get(), a.len) != 0;
    int err = errno;
    close(probe);
    if (taken)
      return Result<std::shared_ptr<ListenerRuntime>>::Error("cannot listen on " + address + ": " + strerror(err));
  }
  for (int i = 0; i < sockets; ++i) {
    int fd = socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Result<std::shared_ptr<ListenerRuntime>>::Error("socket: " + std::string(strerror(errno)));
    l->fds.push_back(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, a.get(), a.len) != 0 || listen(fd, 4096) != 0)
      return Result<std::shared_ptr<ListenerRuntime>>::Error("cannot listen on " + address + ": " + strerror(errno));
    if (i == 0) {  // port 0: the other sockets join the port the first one got
      a.len = sizeof(a.storage);
      getsockname(fd, a.get(), &a.len);
    }
  }
  l->bound = AddressString(a);
  l->port = std::stoi(l->bound.substr(l->bound.rfind(':') + 1));
  return l;
}

}  // namespace

Status LoadBalancer::Impl::Publish(Config c) {
  if (Status s = Validate(c); !s.ok()) return s;
  // Resolve everything first so an error leaves the running configuration untouched.
  std::vector<std::shared_ptr<ListenerRuntime>> next_listeners;
  for (const auto& l : c.listeners) {
    std::shared_ptr<ListenerRuntime> rt;
    for (const auto& old : listeners)
      if (old->listen == l.listen) rt = old;
    if (!rt) {
      auto bound = Bind(l.listen, num_workers);
      if (!bound.ok()) return bound.status();
      rt = *bound;
    }
    next_listeners.push_back(rt);
  }
  std::map<std::pair<std::string, std::string>, SockAddr> addrs;
  for (const auto& g : c.target_groups)
    for (const auto& t : g.targets) {
      auto a = Resolve(t);
      if (!a.ok()) return a.status();
      addrs[{g.name, t}] = *a;
    }

  auto snap = std::make_shared<Snapshot>();
  snap->config = c;
  snap->groups.reserve(c.target_groups.size());
  std::map<std::pair<std::string, std::string>, std::shared_ptr<TargetRuntime>> next_targets;
  int64_t now = NowMs();
  for (const auto& g : c.target_groups) {
    GroupView gv;
    auto& grt = groups[g.name];
    if (!grt) {
      grt = std::make_shared<GroupRuntime>();
      grt->name = g.name;
    }
    gv.runtime = grt;
    gv.config = g;
    for (const auto& addr : g.targets) {
      std::pair<std::string, std::string> key{g.name, addr};
      std::shared_ptr<TargetRuntime> t;
      if (auto it = targets.find(key); it != targets.end()) t = it->second;
      for (size_t i = 0; !t && i < draining.size(); ++i)
        if (draining[i].first == g.name && draining[i].second->address == addr) {
          t = draining[i].second;  // registered again while draining: it serves again
          t->draining = false;
          draining.erase(draining.begin() + static_cast<long>(i));
        }
      if (!t) {
        t = std::make_shared<TargetRuntime>();
        t->address = addr;
        t->addr = addrs[key];
        t->id = TargetId(g.name, addr);
        if (!g.health_check.enabled) {
          t->health = static_cast<int>(TargetState::kHealthy);
          t->healthy_since_ms = now;
        }
      }
      if (!g.health_check.enabled && t->health.load() != static_cast<int>(TargetState::kHealthy)) {
        t->health = static_cast<int>(TargetState::kHealthy);
        t->healthy_since_ms = now;
      }
      gv.targets.push_back(t);
      next_targets[key] = t;
    }
    snap->groups.push_back(std::move(gv));
  }
  // Targets that left: drain for the deregistration delay of their (old) group.
  for (auto& [key, t] : targets) {
    if (next_targets.count(key)) continue;
    long long delay = 300'000;
    if (const TargetGroup* g = c.FindGroup(key.first))
      delay = g->deregistration_delay_ms;
    else if (const TargetGroup* og = config.FindGroup(key.first))
      delay = og->deregistration_delay_ms;
    t->drain_deadline_ms = now + delay;
    t->draining = true;
    draining.emplace_back(key.first, t);
  }
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    ListenerView lv;
    lv.runtime = next_listeners[i];
    for (const auto& r : c.listeners[i].rules) {
      RuleView rv;
      rv.config = r;
      for (const auto& wg : r.forward) {
        for (const auto& gv : snap->groups)
          if (gv.config.name == wg.target_group) rv.forward.emplace_back(&gv, wg.weight);
        rv.total_weight += wg.weight;
      }
      lv.rules.push_back(std::move(rv));
    }
    snap->listeners.push_back(std::move(lv));
  }
  for (auto it = groups.begin(); it != groups.end();) it = c.FindGroup(it->first) ? std::next(it) : groups.erase(it);
  targets = std::move(next_targets);
  listeners = std::move(next_listeners);
  config = std::move(c);
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.snapshot = std::move(snap);
    shared.generation.fetch_add(1, std::memory_order_release);
  }
  for (auto& w : workers) w->Wake();
  return Status::Ok();
}

void LoadBalancer::Impl::Housekeeping(int64_t now) {
  std::lock_guard<std::mutex> lock(mu);
  // ALB semantics: a draining target becomes unused once its in-flight requests are done
  // or the deregistration delay ran out, whichever comes first.
  for (size_t i = 0; i < draining.size();) {
    auto& t = draining[i].second;
    if (t->outstanding.load() <= 0 || now >= t->drain_deadline_ms.load()) {
      draining.erase(draining.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

LoadBalancer::LoadBalancer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LoadBalancer::~LoadBalancer() { Stop(0); }

Result<std::unique_ptr<LoadBalancer>> LoadBalancer::Start(Config config) {
  auto impl = std::make_unique<Impl>();
  if (!config.access_log.empty()) {
    impl->shared.access_log_fd = open(config.access_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (impl->shared.access_log_fd < 0)
      return Result<std::unique_ptr<LoadBalancer>>::Error("cannot open access log " + config.access_log + ": " +
                                                          strerror(errno));
  }
  int n = config.workers > 0 ? config.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl->num_workers = n;
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (Status s = impl->Publish(std::move(config)); !s.ok()) {
      if (impl->shared.access_log_fd >= 0) close(impl->shared.access_log_fd);
      return s;
    }
  }
  for (int i = 0; i < n; ++i) impl->workers.push_back(std::make_unique<Worker>(impl->shared, i));
  for (auto& w : impl->workers) w->Start();
  Impl* raw = impl.get();
  impl->health = std::make_unique<HealthChecker>(impl->shared, [raw](int64_t now) { raw->Housekeeping(now); });
  impl->health->Start();
  return std::unique_ptr<LoadBalancer>(new LoadBalancer(std::move(impl)));
}

Status LoadBalancer::Apply(Config config) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->stopped) return Status::Error("load balancer stopped");
  return impl_->Publish(std::move(config));
}

Status LoadBalancer::SetWeights(const std::map<std::string, int>& weights) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Config c = impl_->config;
  for (const auto& [name, w] : weights) {
    if (!c.FindGroup(name)) return Status::Error("unknown target group '" + name + "'");
    if (w < 0 || w > 999) return Status::Error("weight of " + name + " must be 0..999");
  }
  for (auto& l : c.listeners)
    for (auto& r : l.rules)
      for (auto& wg : r.forward)
        if (auto it = weights.find(wg.target_group); it != weights.end()) wg.weight = it->second;
  return impl_->Publish(std::move(c));
}

Status LoadBalancer::SetTargets(const std::string& group, std::vector<std::string> targets) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Config c = impl_->config;
  for (auto& g : c.target_groups)
    if (g.name == group) {
      g.targets = std::move(targets);
      return impl_->Publish(std::move(c));
    }
  return Status::Error("unknown target group '" + group + "'");
}

Config LoadBalancer::config() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->config;
}

Metrics LoadBalancer::GetMetrics() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Metrics m;
  for (const auto& l : impl_->listeners) {
    ListenerMetrics lm;
    lm.listen = l->listen;
    lm.bound = l->bound;
    lm.counters = l->counters.Read();
    lm.active_connections = l->active.load();
    lm.total_connections = l->total.load();
    m.listeners.push_back(std::move(lm));
  }
  auto target_metrics = [](const TargetRuntime& t) {
    TargetMetrics tm;
    tm.address = t.address;
    tm.state = t.state();
    tm.counters = t.counters.Read();
    tm.outstanding = static_cast<uint64_t>(std::max<int64_t>(0, t.outstanding.load()));
    tm.connect_errors = t.connect_errors.load();
    return tm;
  };
  for (const auto& g : impl_->config.target_groups) {
    GroupMetrics gm;
    gm.name = g.name;
    if (auto it = impl_->groups.find(g.name); it != impl_->groups.end()) gm.counters = it->second->counters.Read();
    for (const auto& addr : g.targets) {
      auto it = impl_->targets.find({g.name, addr});
      if (it == impl_->targets.end()) continue;
      TargetMetrics tm = target_metrics(*it->second);
      if (tm.state == TargetState::kHealthy)
        ++gm.healthy_hosts;
      else
        ++gm.unhealthy_hosts;
      gm.targets.push_back(std::move(tm));
    }
    for (const auto& [name, t] : impl_->draining)
      if (name == g.name) gm.targets.push_back(target_metrics(*t));
    m.groups.push_back(std::move(gm));
  }
  return m;
}

std::string LoadBalancer::BoundAddress(size_t index) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return index < impl_->listeners.size() ? impl_->listeners[index]->bound : std::string();
}

uint16_t LoadBalancer::BoundPort(size_t index) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return index < impl_->listeners.size() ? impl_->listeners[index]->port : 0;
}

void LoadBalancer::Stop(long long grace_ms) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->shared.stop_deadline_ms = NowMs() + grace_ms;
  impl_->shared.stopping = true;
  {
    std::lock_guard<std::mutex> lock(impl_->shared.mu);
    impl_->shared.generation.fetch_add(1);
  }
  for (auto& w : impl_->workers) w->Wake();
  for (auto& w : impl_->workers) w->Join();
  if (impl_->health) impl_->health->Stop();
  impl_->workers.clear();
  if (impl_->shared.access_log_fd >= 0) close(impl_->shared.access_log_fd);
  impl_->shared.access_log_fd = -1;
}

}  // namespace gantry::lb
