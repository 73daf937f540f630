// Remote mirrors: a project whose hosted repository follows a remote git URL by polling.
// The setting lives in the hosted repository's git config (gantry.mirror.*), so it needs
// no store migration and travels with the repository.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"

namespace gantry::server {

struct Context;

struct MirrorConfig {
  std::string url;            // empty: not a mirror
  int64_t poll_s = 60;        // interval between fetches when they succeed
  std::string last_error;     // the last fetch's error ("" after a success)
  int64_t last_fetch_ms = 0;  // when the last successful fetch ended
};

inline constexpr int64_t kMinMirrorPollS = 1;
inline constexpr int64_t kMaxMirrorBackoffS = 3600;

// "60s", "5m", "1h" or plain seconds; at least kMinMirrorPollS.
Result<int64_t> ParsePollInterval(const std::string& text);
// Accepts http(s)://, git://, ssh://, file:// URLs and absolute paths; never an option.
Status ValidateMirrorUrl(const std::string& url);
Status WriteMirrorConfig(const std::string& repo, const MirrorConfig& config);
MirrorConfig ReadMirrorConfig(const std::string& repo);

// Polls every mirrored project on its own thread: git fetch into the hosted repository,
// then new or moved branches and tags trigger workflows like a push. Failed fetches back
// off (doubling, up to an hour) and record their error in gantry.mirror.error.
class MirrorPoller {
 public:
  explicit MirrorPoller(Context& ctx) : ctx_(ctx) {}
  ~MirrorPoller() { Stop(); }
  void Start();
  void Stop();
  // Fetches `project` now (used on create and by the poll loop).
  Status PollNow(const std::string& project);
  // Asks the loop to poll `project` at its next wake-up.
  void Wake(const std::string& project);

 private:
  void Loop();
  struct State {
    int64_t next_ms = 0;
    int64_t backoff_s = 0;
  };
  Context& ctx_;
  std::mutex mu_;
  std::mutex fetch_mu_;  // one fetch at a time: keeps the before/after refs of a fetch exact
  std::condition_variable cv_;
  std::map<std::string, State> state_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gantry::server
