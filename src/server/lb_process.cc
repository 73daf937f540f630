#include "server/lb_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/strings.h"
#include "lb/control.h"
#include "store/seal.h"

namespace gantry::server {
namespace {

// Whether `pid` runs `gantry lb -c <config>` (a recycled pid runs something else).
bool RunsOurLb(int pid, const std::string& config) {
  if (pid <= 0) return false;
  int status = 0;
  (void)waitpid(pid, &status, WNOHANG);  // reaps it when it is our dead child
  auto cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline", 64 * 1024);
  if (!cmdline.ok()) return false;
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (stat.ok()) {
    auto close = stat->rfind(')');
    if (close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z') return false;
  }
  auto args = Split(*cmdline, '\0');
  return args.size() > 3 && args[1] == "lb" && args[2] == "-c" && args[3] == config;
}

}  // namespace

struct LbProcess::Impl {
  LbProcessOptions opt;
  std::string config_file, pid_file, token_file, log_file, token;
  std::mutex mu;
  std::condition_variable cv;
  int pid = 0;
  std::string admin;  // "127.0.0.1:PORT"
  bool adopted = false, closing = false;
  std::unique_ptr<lb::Control> control;
  std::thread supervisor;

  std::string AdminUrl() {
    std::lock_guard lock(mu);
    return admin.empty() ? "" : "http://" + admin;
  }

  // Reads DIR/lb.pid; true when it names our running process.
  bool ReadPidFile(int* pid_out, std::string* admin_out) {
    auto text = ReadFile(pid_file, 4096);
    if (!text.ok()) return false;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    const int p = j.value("pid", 0);
    if (!RunsOurLb(p, config_file)) return false;
    *pid_out = p;
    *admin_out = j.value("admin", "");
    return true;
  }

  Status Spawn() {
    std::remove(pid_file.c_str());
    std::vector<std::string> argv = {
        opt.exe,    "lb",         "-c",    config_file, "--admin", "127.0.0.1:0", "--admin-token-file",
        token_file, "--pid-file", pid_file};
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::Error(log_file + ": cannot open");
    const pid_t child = fork();
    if (child < 0) {
      close(log_fd);
      return Status::Error("fork failed");
    }
    if (child == 0) {
      setsid();  // its own session: signals to the server's group do not reach it
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      close_range(3, ~0U, 0);  // never hold the server's listening socket
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(log_fd);
    for (int i = 0; i < 1000; ++i) {
      int p = 0;
      std::string a;
      if (ReadPidFile(&p, &a) && p == child) {
        std::lock_guard lock(mu);
        pid = p;
        admin = a;
        return Status::Ok();
      }
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) break;
      usleep(10'000);
    }
    kill(child, SIGKILL);
    (void)waitpid(child, nullptr, 0);
    auto log = ReadFile(log_file, 1 << 20);
    std::string tail = log.ok() ? log->substr(log->size() > 600 ? log->size() - 600 : 0) : "";
    return Status::Error("the load balancer process did not start: " + tail);
  }

  void Supervise() {
    std::unique_lock lock(mu);
    while (!closing) {
      cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return closing; });
      if (closing) break;
      const int p = pid;
      lock.unlock();
      if (!RunsOurLb(p, config_file)) {
        fprintf(stderr, "gantry server: load balancer (pid %d) is gone; starting it again\n", p);
        Status st = Spawn();  // it reads lb.yml: routes, targets and weights as last set
        if (!st.ok()) fprintf(stderr, "gantry server: %s\n", st.message().c_str());
      }
      lock.lock();
    }
  }
};

LbProcess::LbProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LbProcess::~LbProcess() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->cv.notify_all();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
}

Result<std::unique_ptr<LbProcess>> LbProcess::Start(LbProcessOptions options) {
  using R = Result<std::unique_ptr<LbProcess>>;
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.opt = std::move(options);
  if (m.opt.exe.empty()) {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return R::Error("cannot find the gantry binary (/proc/self/exe)");
    m.opt.exe.assign(buf, static_cast<size_t>(n));
  }
  if (Status st = MakeDirs(m.opt.dir); !st.ok()) return R::Error(st.message());
  m.config_file = m.opt.dir + "/lb.yml";
  m.pid_file = m.opt.dir + "/lb.pid";
  m.token_file = m.opt.dir + "/token";
  m.log_file = m.opt.dir + "/lb.log";
  auto token = ReadFile(m.token_file, 4096);
  if (token.ok() && !Trim(*token).empty()) {
    m.token = std::string(Trim(*token));
  } else {
    m.token = store::RandomHex(24);
    if (Status st = WriteFileAtomic(m.token_file, m.token + "\n"); !st.ok()) return R::Error(st.message());
    chmod(m.token_file.c_str(), 0600);
  }
  // The configuration: kept across restarts; the listener follows --lb-listen.
  lb::Config config;
  if (auto existing = lb::ReadConfigFile(m.config_file); existing.ok()) {
    config = std::move(*existing);
  } else {
    config.workers = 2;
    config.listeners.push_back(lb::Listener{m.opt.listen, {}});
  }
  const bool listen_changed = config.listeners[0].listen != m.opt.listen;
  config.listeners[0].listen = m.opt.listen;
  if (Status st = WriteFileAtomic(m.config_file, lb::FormatConfig(config)); !st.ok()) return R::Error(st.message());

  int pid = 0;
  std::string admin;
  if (m.ReadPidFile(&pid, &admin)) {
    m.pid = pid;
    m.admin = admin;
    m.adopted = true;
  } else if (Status st = m.Spawn(); !st.ok()) {
    return R::Error(st.message());
  }
  Impl* raw = impl.get();
  auto control = lb::RemoteControl::Open(
      m.config_file, [raw] { return raw->AdminUrl(); }, m.token);
  if (!control.ok()) return R::Error(control.error());
  m.control = std::move(*control);
  if (m.adopted && listen_changed) {
    if (Status st = static_cast<lb::RemoteControl*>(m.control.get())->Reload(); !st.ok()) return R::Error(st.message());
  }
  m.supervisor = std::thread([raw] { raw->Supervise(); });
  return std::unique_ptr<LbProcess>(new LbProcess(std::move(impl)));
}

lb::Control* LbProcess::control() { return impl_->control.get(); }
int LbProcess::pid() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pid;
}
bool LbProcess::adopted() const { return impl_->adopted; }

std::string LbProcess::ListenerAddress() {
  auto m = impl_->control->GetMetrics();
  if (!m.ok() || m->listeners.empty()) return "";
  return m->listeners[0].bound;
}

Result<int> StopLbProcess(const std::string& dir) {
  auto text = ReadFile(dir + "/lb.pid", 4096);
  if (!text.ok()) return 0;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  const int pid = j.is_object() ? j.value("pid", 0) : 0;
  if (!RunsOurLb(pid, dir + "/lb.yml")) return 0;
  if (::kill(pid, SIGTERM) != 0)
    return Result<int>::Error("cannot stop the load balancer (pid " + std::to_string(pid) + ")");
  for (int i = 0; i < 200 && RunsOurLb(pid, dir + "/lb.yml"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (RunsOurLb(pid, dir + "/lb.yml")) ::kill(pid, SIGKILL);
  std::remove((dir + "/lb.pid").c_str());
  return pid;
}

}  // namespace gantry::server
