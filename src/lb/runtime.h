// Internal state shared by the control thread, the health checker and the workers.
// Runtime objects (listeners, groups, targets) live across configuration snapshots so
// that health, counters and open connections survive a change; a Snapshot is immutable
// and says which of them are in use and how requests are routed.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lb/config.h"
#include "lb/load_balancer.h"

namespace gantry::lb {

int64_t NowMs();  // CLOCK_MONOTONIC
int64_t NowUs();

// An IPv4 or IPv6 socket address, as resolved from "host:port" / "[v6]:port".
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};
// "1.2.3.4" or "::1" (a v4-mapped v6 address prints as v4, as in access logs people grep).
std::string IpString(const SockAddr& a);
// "1.2.3.4:80" or "[::1]:80".
std::string AddressString(const SockAddr& a);

// Request counters sharded per worker: each worker increments its own cache line, so two
// workers never bounce a line between cores on the hot path; readers sum the shards.
struct AtomicCounters {
  static constexpr int kShards = 8;
  struct alignas(64) Shard {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> by_class[4] = {};  // 2xx, 3xx, 4xx, 5xx
    std::atomic<uint64_t> buckets[kLatencyBuckets] = {};
    std::atomic<uint64_t> latency_sum_us{0};
  };
  Shard shards[kShards];

  void Record(int status, int64_t latency_us, int shard = 0);
  Counters Read() const;
};

struct TargetRuntime {
  std::string address;
  SockAddr addr;
  uint64_t id = 0;  // stable per address; used by the stickiness cookie
  std::atomic<int> health{static_cast<int>(TargetState::kInitial)};  // initial/healthy/unhealthy
  std::atomic<bool> draining{false};
  std::atomic<int64_t> drain_deadline_ms{0};
  std::atomic<int64_t> healthy_since_ms{0};
  std::atomic<int64_t> outstanding{0};
  std::atomic<int> consecutive_errors{0};
  std::atomic<int64_t> ejected_until_ms{0};
  std::atomic<uint64_t> connect_errors{0};
  AtomicCounters counters;
  // Health checker's own bookkeeping (only its thread touches these).
  int ok_streak = 0, fail_streak = 0;
  int64_t next_check_ms = 0;

  TargetState state() const {
    return draining.load(std::memory_order_relaxed) ? TargetState::kDraining
                                                    : static_cast<TargetState>(health.load(std::memory_order_relaxed));
  }
  bool Eligible(int64_t now_ms) const {
    return !draining.load(std::memory_order_relaxed) &&
           health.load(std::memory_order_relaxed) == static_cast<int>(TargetState::kHealthy) &&
           ejected_until_ms.load(std::memory_order_relaxed) <= now_ms;
  }
  // Passive outlier detection: count consecutive failures, eject after the threshold.
  void RecordOutcome(bool failed, const OutlierDetection& od, int64_t now_ms);
};

struct GroupRuntime {
  std::string name;
  std::atomic<uint64_t> rr{0};
  AtomicCounters counters;
};

struct ListenerRuntime {
  std::string listen;
  std::string bound;
  uint16_t port = 0;
  // One listening socket per worker (SO_REUSEPORT): the kernel spreads connections evenly,
  // where a shared socket woke the same idle worker for nearly every connection.
  std::vector<int> fds;
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> total{0};
  AtomicCounters counters;
  ~ListenerRuntime();
};

struct GroupView {
  std::shared_ptr<GroupRuntime> runtime;
  TargetGroup config;
  std::vector<std::shared_ptr<TargetRuntime>> targets;  // registered (not draining)
};

struct RuleView {
  Rule config;
  std::vector<std::pair<const GroupView*, int>> forward;  // group, weight
  int total_weight = 0;
};

struct ListenerView {
  std::shared_ptr<ListenerRuntime> runtime;
  std::vector<RuleView> rules;
};

struct Snapshot {
  Config config;
  std::vector<GroupView> groups;  // never resized after build: RuleView points into it
  std::vector<ListenerView> listeners;

  const ListenerView* FindListener(const ListenerRuntime* rt) const {
    for (const auto& l : listeners)
      if (l.runtime.get() == rt) return &l;
    return nullptr;
  }
};

// Routing helpers used by the workers (no locks, no allocation).
struct HeaderLookup {
  virtual ~HeaderLookup() = default;
  virtual std::string_view Get(std::string_view name) const = 0;
};
const RuleView* MatchRule(const ListenerView& l, std::string_view host, std::string_view path,
                          const HeaderLookup& headers);
const GroupView* PickGroup(const RuleView& rule, uint64_t random);
// Picks a target: eligible ones first (honouring slow start), every registered one when
// none is eligible (fail open). `exclude` holds targets already tried for this request.
TargetRuntime* PickTarget(const GroupView& g, uint64_t random, int64_t now_ms, TargetRuntime* const* exclude,
                          int num_exclude);

uint64_t TargetId(const std::string& group, const std::string& address);

}  // namespace gantry::lb
