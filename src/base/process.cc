#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace gantry {

namespace {

using Clock = std::chrono::steady_clock;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#endif
  return -1;
}

// Splits one stream into lines, keeping at most `max` bytes of an unfinished line.
class LineSplitter {
 public:
  LineSplitter(OutputStream stream, const ProcessSpec& spec) : stream_(stream), spec_(spec) {}

  void Feed(const char* data, size_t n) {
    std::string_view in(data, n);
    while (!in.empty()) {
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) {
        Append(in);
        return;
      }
      if (buf_.empty() && nl <= spec_.max_line_bytes) {
        Emit(in.substr(0, nl));
      } else {  // also a long line that arrived in one read: split like any other
        Append(in.substr(0, nl));
        Emit(buf_);
        buf_.clear();
      }
      in.remove_prefix(nl + 1);
    }
  }
  void Finish() {
    if (!buf_.empty()) Emit(buf_);
    buf_.clear();
  }

 private:
  void Append(std::string_view s) {
    while (!s.empty()) {
      size_t room = spec_.max_line_bytes - buf_.size();
      size_t take = std::min(room, s.size());
      buf_.append(s.substr(0, take));
      s.remove_prefix(take);
      if (buf_.size() >= spec_.max_line_bytes) {
        Emit(buf_);
        buf_.clear();
      }
    }
  }
  void Emit(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (spec_.on_line) spec_.on_line(stream_, line);
  }

  OutputStream stream_;
  const ProcessSpec& spec_;
  std::string buf_;
};

std::string EnvValue(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e[name.size()] == '=' && std::string_view(e).substr(0, name.size()) == name)
      return e.substr(name.size() + 1);
  }
  return {};
}

}  // namespace

CancelSource::CancelSource() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
}

CancelSource::~CancelSource() {
  CloseFd(read_fd_);
  CloseFd(write_fd_);
}

void CancelSource::Cancel() {
  bool was = cancelled_.exchange(true);
  if (!was && write_fd_ >= 0) {
    char c = 1;
    ssize_t r = ::write(write_fd_, &c, 1);
    (void)r;
  }
}

std::string FindProgram(std::string_view name, std::string_view path_list) {
  if (name.find('/') != std::string_view::npos) return std::string(name);
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string_view::npos) end = path_list.size();
    std::string dir(path_list.substr(start, end - start));
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + std::string(name);
    struct stat st {};
    if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
    start = end + 1;
  }
  return {};
}

Result<ProcessResult> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Result<ProcessResult>::Error("no program to run");
  std::string path_list = EnvValue(spec.env, "PATH");
  if (path_list.empty()) path_list = "/usr/local/bin:/usr/bin:/bin";
  std::string program = FindProgram(spec.argv[0], path_list);
  if (program.empty()) return Result<ProcessResult>::Error(spec.argv[0] + ": command not found in PATH");

  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    std::string msg = std::string("cannot create pipes: ") + std::strerror(errno);
    CloseFd(out[0]), CloseFd(out[1]), CloseFd(err[0]), CloseFd(err[1]);
    return Result<ProcessResult>::Error(msg);
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  CloseFd(out[1]);
  CloseFd(err[1]);
  if (rc != 0) {
    CloseFd(out[0]);
    CloseFd(err[0]);
    std::string where = spec.cwd.empty() ? "" : " (in " + spec.cwd + ")";
    return Result<ProcessResult>::Error("cannot start " + program + where + ": " + std::strerror(rc));
  }

  ProcessResult result;
  LineSplitter out_lines(OutputStream::kStdout, spec);
  LineSplitter err_lines(OutputStream::kStderr, spec);
  int pidfd = OpenPidFd(pid);
  int fds[2] = {out[0], err[0]};
  LineSplitter* splitters[2] = {&out_lines, &err_lines};
  bool exited = false;
  int wstatus = 0;
  auto start = Clock::now();
  bool terminating = false;
  Clock::time_point kill_at{};
  bool killed = false;
  char buf[65536];

  auto terminate = [&]() {
    if (terminating) return;
    terminating = true;
    ::kill(-pid, SIGTERM);
    kill_at = Clock::now() + std::chrono::milliseconds(spec.kill_grace_ms);
  };

  for (;;) {
    if (!exited) {
      pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
      if (w == pid) {
        exited = true;
        CloseFd(pidfd);
        if (!terminating) {
          // Read what the process left in the pipes, without waiting for background
          // children that may still hold them open.
          for (int i = 0; i < 2; ++i) {
            if (fds[i] < 0) continue;
            ::fcntl(fds[i], F_SETFL, O_NONBLOCK);
            for (;;) {
              ssize_t n = ::read(fds[i], buf, sizeof buf);
              if (n > 0) {
                splitters[i]->Feed(buf, static_cast<size_t>(n));
                continue;
              }
              if (n < 0 && errno == EINTR) continue;
              break;
            }
            CloseFd(fds[i]);
          }
        }
      }
    }
    if (exited && fds[0] < 0 && fds[1] < 0) break;

    auto now = Clock::now();
    if (!terminating && spec.cancel != nullptr && spec.cancel->cancelled()) {
      result.cancelled = true;
      terminate();
    }
    if (!terminating && spec.timeout_ms > 0 && now - start >= std::chrono::milliseconds(spec.timeout_ms)) {
      result.timed_out = true;
      terminate();
    }
    if (terminating && !killed && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
      if (exited) {
        // The group is gone or dying; whatever still holds the pipes is killed.
        CloseFd(fds[0]);
        CloseFd(fds[1]);
        break;
      }
    }

    long long wait_ms = -1;
    if (terminating && !killed) {
      wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - now).count() + 1;
    } else if (!terminating && spec.timeout_ms > 0) {
      wait_ms = spec.timeout_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count() + 1;
    }
    if (pidfd < 0 && !exited) wait_ms = (wait_ms < 0 || wait_ms > 20) ? 20 : wait_ms;
    if (killed && !exited) wait_ms = 20;

    pollfd pfd[4];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_pid = -1;
    if (fds[0] >= 0) idx_out = n, pfd[n++] = {fds[0], POLLIN, 0};
    if (fds[1] >= 0) idx_err = n, pfd[n++] = {fds[1], POLLIN, 0};
    if (pidfd >= 0 && !exited) idx_pid = n, pfd[n++] = {pidfd, POLLIN, 0};
    if (spec.cancel != nullptr && spec.cancel->fd() >= 0 && !terminating) pfd[n++] = {spec.cancel->fd(), POLLIN, 0};
    int pr = ::poll(pfd, static_cast<nfds_t>(n), wait_ms < 0 ? -1 : static_cast<int>(std::min(wait_ms, 1LL << 30)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      int idx = i == 0 ? idx_out : idx_err;
      if (idx < 0 || pfd[idx].revents == 0) continue;
      ssize_t r = ::read(fds[i], buf, sizeof buf);
      if (r > 0) {
        splitters[i]->Feed(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(fds[i]);
      }
    }
    (void)idx_pid;  // a readable pidfd only wakes us; waitpid above reaps
  }
  CloseFd(pidfd);
  CloseFd(fds[0]);
  CloseFd(fds[1]);
  if (!exited) {
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  if (terminating && !killed) ::kill(-pid, SIGKILL);  // leftovers of a cancelled group
  out_lines.Finish();
  err_lines.Finish();
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.signal = WTERMSIG(wstatus);
    result.exit_code = 128 + result.signal;
  }
  return result;
}

}  // namespace gantry
