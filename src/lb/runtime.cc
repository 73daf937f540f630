#include "lb/runtime.h"

#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "base/strings.h"

namespace gantry::lb {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

std::string IpString(const SockAddr& a) {
  char ip[INET6_ADDRSTRLEN] = "";
  if (a.family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, ip, sizeof(ip));
  } else if (a.family() == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6))
      inet_ntop(AF_INET, v6.s6_addr + 12, ip, sizeof(ip));
    else
      inet_ntop(AF_INET6, &v6, ip, sizeof(ip));
  }
  return ip;
}

std::string AddressString(const SockAddr& a) {
  if (a.family() == AF_INET6)
    return "[" + IpString(a) +
           "]:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port));
  return IpString(a) + ":" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port));
}

const char* TargetStateName(TargetState state) {
  switch (state) {
    case TargetState::kInitial:
      return "initial";
    case TargetState::kHealthy:
      return "healthy";
    case TargetState::kUnhealthy:
      return "unhealthy";
    case TargetState::kDraining:
      return "draining";
    case TargetState::kUnused:
      return "unused";
  }
  return "unknown";
}

void AtomicCounters::Record(int status, int64_t latency_us, int shard) {
  Shard& s = shards[static_cast<unsigned>(shard) % kShards];
  s.requests.fetch_add(1, std::memory_order_relaxed);
  int cls = status / 100 - 2;
  if (cls >= 0 && cls < 4) s.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  int b = 0;
  double ms = static_cast<double>(latency_us) / 1000.0;
  while (b < kLatencyBuckets - 1 && ms > kLatencyBucketsMs[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.latency_sum_us.fetch_add(static_cast<uint64_t>(latency_us < 0 ? 0 : latency_us), std::memory_order_relaxed);
}

Counters AtomicCounters::Read() const {
  Counters c;
  uint64_t sum_us = 0;
  for (const Shard& s : shards) {
    c.requests += s.requests.load(std::memory_order_relaxed);
    c.status_2xx += s.by_class[0].load(std::memory_order_relaxed);
    c.status_3xx += s.by_class[1].load(std::memory_order_relaxed);
    c.status_4xx += s.by_class[2].load(std::memory_order_relaxed);
    c.status_5xx += s.by_class[3].load(std::memory_order_relaxed);
    for (int i = 0; i < kLatencyBuckets; ++i) c.latency_buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
    sum_us += s.latency_sum_us.load(std::memory_order_relaxed);
  }
  c.latency_sum_ms = static_cast<double>(sum_us) / 1000.0;
  return c;
}

void TargetRuntime::RecordOutcome(bool failed, const OutlierDetection& od, int64_t now_ms) {
  if (!failed) {
    // Avoid a shared cache-line write on the common path.
    if (consecutive_errors.load(std::memory_order_relaxed) != 0) consecutive_errors.store(0, std::memory_order_relaxed);
    return;
  }
  if (od.consecutive_errors <= 0) return;
  if (consecutive_errors.fetch_add(1, std::memory_order_relaxed) + 1 >= od.consecutive_errors) {
    consecutive_errors.store(0, std::memory_order_relaxed);
    ejected_until_ms.store(now_ms + od.ejection_ms, std::memory_order_relaxed);
  }
}

ListenerRuntime::~ListenerRuntime() {
  for (int fd : fds) close(fd);
}

namespace {

bool HostMatches(std::string_view pattern, std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) host = host.substr(0, colon);
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);
    return host.size() > suffix.size() && EqualsIgnoreCase(host.substr(host.size() - suffix.size()), suffix);
  }
  return EqualsIgnoreCase(pattern, host);
}

}  // namespace

const RuleView* MatchRule(const ListenerView& l, std::string_view host, std::string_view path,
                          const HeaderLookup& headers) {
  for (const auto& r : l.rules) {
    const Rule& c = r.config;
    if (!c.host.empty() && !HostMatches(c.host, host)) continue;
    if (path.compare(0, c.path_prefix.size(), c.path_prefix) != 0) continue;
    bool ok = true;
    for (const auto& h : c.headers) {
      std::string_view v = headers.Get(h.name);
      if (h.value == "*" ? v.empty() : v != h.value) {
        ok = false;
        break;
      }
    }
    if (ok) return &r;
  }
  return nullptr;
}

const GroupView* PickGroup(const RuleView& rule, uint64_t random) {
  if (rule.total_weight <= 0) return nullptr;
  if (rule.forward.size() == 1) return rule.forward[0].first;
  int64_t r = static_cast<int64_t>(random % static_cast<uint64_t>(rule.total_weight));
  for (const auto& [g, w] : rule.forward) {
    if (r < w) return g;
    r -= w;
  }
  return nullptr;
}

TargetRuntime* PickTarget(const GroupView& g, uint64_t random, int64_t now_ms, TargetRuntime* const* exclude,
                          int num_exclude) {
  size_t n = g.targets.size();
  if (n == 0) return nullptr;
  auto excluded = [&](TargetRuntime* t) {
    for (int i = 0; i < num_exclude; ++i)
      if (exclude[i] == t) return true;
    return false;
  };
  // Slow start: a newly healthy target takes a share growing linearly with its age.
  auto ramp = [&](TargetRuntime* t) -> double {
    if (g.config.slow_start_ms <= 0) return 1.0;
    int64_t age = now_ms - t->healthy_since_ms.load(std::memory_order_relaxed);
    if (age >= g.config.slow_start_ms) return 1.0;
    double f = static_cast<double>(age) / static_cast<double>(g.config.slow_start_ms);
    return f < 0.05 ? 0.05 : f;
  };
  for (int pass = 0; pass < 2; ++pass) {
    // Pass 0: eligible targets; pass 1: fail open to every registered target.
    TargetRuntime* best = nullptr;
    double best_load = 0;
    TargetRuntime* fallback = nullptr;
    size_t start = g.config.algorithm == Algorithm::kRoundRobin
                       ? static_cast<size_t>(g.runtime->rr.fetch_add(1, std::memory_order_relaxed))
                       : static_cast<size_t>(random >> 16);
    for (size_t i = 0; i < n; ++i) {
      TargetRuntime* t = g.targets[(start + i) % n].get();
      if (excluded(t) || (pass == 0 && !t->Eligible(now_ms))) continue;
      double f = pass == 0 ? ramp(t) : 1.0;
      if (g.config.algorithm == Algorithm::kRoundRobin) {
        if (f >= 1.0 || static_cast<double>(random % 1000) < f * 1000.0) return t;
        if (!fallback) fallback = t;
        continue;
      }
      double load = static_cast<double>(t->outstanding.load(std::memory_order_relaxed) + 1) / f;
      if (!best || load < best_load) {
        best = t;
        best_load = load;
      }
    }
    if (best) return best;
    if (fallback) return fallback;
  }
  return nullptr;
}

uint64_t TargetId(const std::string& group, const std::string& address) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : group + "|" + address) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

}  // namespace gantry::lb
