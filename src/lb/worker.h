// Worker threads of the load balancer's data path. Each worker owns an epoll loop
// (edge-triggered: every socket is registered once and never modified), its client
// sessions and its pool of keep-alive upstream connections; workers share nothing but the
// published Snapshot and atomic counters. Internal to src/lb.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lb/http_parser.h"
#include "lb/runtime.h"

namespace gantry::lb {

// What the control thread publishes to the workers.
struct Shared {
  mutable std::mutex mu;
  std::shared_ptr<const Snapshot> snapshot;  // guarded by mu
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> stop_deadline_ms{0};
  int access_log_fd = -1;

  std::shared_ptr<const Snapshot> Load() const {
    std::lock_guard<std::mutex> lock(mu);
    return snapshot;
  }
};

struct Endpoint {
  enum class Kind : uint8_t { kListener, kClient, kUpstream, kWake };
  Kind kind;
  int fd = -1;
  void* owner = nullptr;
};

struct Buffer {
  std::unique_ptr<char[]> data;
  size_t cap = 0, r = 0, w = 0;
  void Ensure(size_t c) {
    if (cap != c) {
      data = std::make_unique_for_overwrite<char[]>(c);
      cap = c;
    }
    r = w = 0;
  }
  size_t space() const { return cap - w; }
};

class Worker;
class Session;

struct Upstream {
  Endpoint ep{Endpoint::Kind::kUpstream};
  std::shared_ptr<TargetRuntime> target;
  Session* session = nullptr;
  bool readable = false, writable = false, hup = false;
  bool reused = false;
  int64_t idle_since_ms = 0;
};

class Session {
 public:
  explicit Session(Worker* worker) : worker_(worker) { ep.kind = Endpoint::Kind::kClient, ep.owner = this; }
  void Open(int fd, std::shared_ptr<ListenerRuntime> listener, const SockAddr& peer);
  void OnClientEvent(uint32_t events);
  void OnUpstreamEvent(uint32_t events);
  void OnTimer(int64_t now_ms);
  // Graceful stop: idle connections close now, busy ones after their current response.
  void Shutdown();
  void Abort() { Close(); }
  void Resume() { Pump(); }
  bool closed() const { return phase_ == Phase::kClosed; }

  Endpoint ep;
  size_t active_index = 0;

 private:
  enum class Phase { kHead, kConnecting, kExchange, kTunnel, kReply, kClosed };
  void Pump();
  bool StepHead();
  bool StepExchange();
  bool StepTunnel();
  bool StepReply();
  void StartRequest(size_t head_len);
  void BuildUpstreamHead(std::string_view path_and_query);
  void BuildClientHead();
  bool Connect();
  void OnConnectFailed(bool timeout);
  void UpstreamFailed(bool eof);
  bool WriteClient();
  void FinishExchange();
  void ResetForNextRequest();
  void SendError(int status, bool close);
  void ReleaseUpstream(bool reusable);
  void Record(int status);
  void Close();
  bool ReadInto(int fd, Buffer& b, bool& readable, bool* eof, bool* failed);

  Worker* worker_;
  Phase phase_ = Phase::kClosed;
  std::shared_ptr<ListenerRuntime> listener_;
  std::string peer_ip_;
  bool client_readable_ = false, client_writable_ = false;
  Buffer in_;    // client bytes: request head, body, pipelined requests
  Buffer rbuf_;  // upstream bytes: response head and body
  size_t scan_ = 0, body_end_ = 0, rscan_ = 0, rbody_end_ = 0;
  http1::RequestHead req_;
  http1::ResponseHead rsp_;
  http1::BodyFramer req_body_, rsp_body_;
  bool client_keep_alive_ = true, rsp_head_done_ = false, rsp_started_ = false, rsp_eof_ = false;
  bool upgrade_ = false, reply_keep_ = false, client_eof_ = false, up_eof_ = false, stale_retried_ = false;
  bool is_head_ = false, set_cookie_ = false;
  int status_ = 0;
  uint64_t rsp_bytes_ = 0;
  std::string up_head_;
  size_t up_head_pos_ = 0;
  std::string out_;  // to the client: response head or an error reply
  size_t out_pos_ = 0;
  std::shared_ptr<const Snapshot> snap_;
  const GroupView* group_ = nullptr;
  std::shared_ptr<TargetRuntime> target_;
  TargetRuntime* tried_[3] = {};
  int attempts_ = 0;
  Upstream* up_ = nullptr;
  int64_t start_us_ = 0, phase_start_ms_ = 0, last_active_ms_ = 0;
};

class Worker {
 public:
  Worker(Shared& shared, int index);
  ~Worker();
  void Start();
  void Join();
  void Wake();

  // Used by sessions.
  int64_t now_ms() const { return now_ms_; }
  int index() const { return index_; }
  uint64_t Random();
  const Shared& shared() const { return shared_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snap_; }
  Upstream* AcquireUpstream(const std::shared_ptr<TargetRuntime>& target, bool fresh, bool* connected, int* err);
  void ReleaseUpstream(Upstream* u, bool reusable);
  void Retire(Session* s);
  void ResumeLater(Session* s) { resume_.push_back(s); }
  void NextRequestId(std::string& out);
  void AccessLog(std::string_view line);
  const std::string& wall_time();

 private:
  void Run();
  void SyncSnapshot();
  void Accept(ListenerRuntime* l, int listen_fd);
  void Tick();
  void Dispatch(Endpoint* ep, uint32_t events);
  void CloseUpstream(Upstream* u);
  void FlushLog();

  Shared& shared_;
  int index_;
  int epfd_ = -1;
  Endpoint wake_{Endpoint::Kind::kWake};
  std::thread thread_;
  std::shared_ptr<const Snapshot> snap_;
  uint64_t gen_ = 0;
  int64_t now_ms_ = 0, last_tick_ms_ = 0;
  uint64_t rng_ = 0, request_seq_ = 0;
  bool stop_started_ = false;
  std::unordered_map<ListenerRuntime*, std::unique_ptr<Endpoint>> listeners_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Session*> free_sessions_, active_, retired_, resume_, resuming_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  std::vector<Upstream*> free_upstreams_, retired_upstreams_;
  std::unordered_map<TargetRuntime*, std::vector<Upstream*>> pool_;
  std::string log_buf_, wall_time_;
  int64_t wall_time_sec_ = -1;
};

}  // namespace gantry::lb
