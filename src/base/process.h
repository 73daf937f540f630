// Child processes: spawn in a new process group, capture stdout/stderr line by line, enforce a
// timeout, and cancel the whole group (SIGTERM, then SIGKILL after a grace period).
//
// The caller's thread does the waiting (poll on the pipes, a pidfd and a cancel fd), so a job
// running many steps needs no thread per step. Lines are handed to a callback as they arrive;
// memory is bounded by `max_line_bytes` per stream.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry {

// A cancellation signal that a poll loop can wait on. Cancel() is async-signal-safe, so a
// SIGINT handler may call it. Copyable handles are not needed: share it by pointer.
class CancelSource {
 public:
  CancelSource();
  ~CancelSource();
  CancelSource(const CancelSource&) = delete;
  CancelSource& operator=(const CancelSource&) = delete;

  void Cancel();  // async-signal-safe
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Readable once cancelled (for poll).
  int fd() const { return read_fd_; }

 private:
  std::atomic<bool> cancelled_{false};
  int read_fd_ = -1;
  int write_fd_ = -1;
};

enum class OutputStream { kStdout, kStderr };

struct ProcessSpec {
  std::vector<std::string> argv;    // argv[0] is looked up in PATH of `env` when it has no '/'
  std::vector<std::string> env;     // "NAME=value" entries, the child's whole environment
  std::string cwd;                  // empty: inherit
  long long timeout_ms = 0;         // 0: none
  long long kill_grace_ms = 5000;   // between SIGTERM and SIGKILL
  size_t max_line_bytes = 1 << 20;  // longer lines are delivered in pieces of this size
  // Where output lines go (without the trailing newline). May be empty to discard.
  std::function<void(OutputStream, std::string_view)> on_line;
  const CancelSource* cancel = nullptr;
};

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128+signal when killed by a signal
  int signal = 0;      // the terminating signal, 0 if it exited
  bool timed_out = false;
  bool cancelled = false;
};

// Runs the process to completion. An error Status means it could not be started
// (e.g. the program is missing); a started process always yields a ProcessResult.
Result<ProcessResult> RunProcess(const ProcessSpec& spec);

// Looks a program up in a PATH-style list; empty if not found.
std::string FindProgram(std::string_view name, std::string_view path_list);

}  // namespace gantry
