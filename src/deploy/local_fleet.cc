#include "deploy/local_fleet.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/process.h"
#include "base/strings.h"

extern char** environ;

namespace gantry::deploy {

const char* InstanceHealthName(InstanceHealth h) {
  switch (h) {
    case InstanceHealth::kStarting:
      return "starting";
    case InstanceHealth::kHealthy:
      return "healthy";
    case InstanceHealth::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// /proc/PID/stat's start time tells a re-used pid from ours; 0 when gone or a zombie.
uint64_t ProcessStartTime(int pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return 0;
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  auto fields = Split(std::string_view(*stat).substr(close + 2), ' ');
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return 0;
  return std::strtoull(fields[19].c_str(), nullptr, 10);  // field 22 of the whole line
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

struct Record {
  std::string id;
  InstanceSpec spec;
  int port = 0;
  int pid = 0;
  uint64_t start_time = 0;
  int restarts = 0;
  // Last known health, so a re-adopting process reports it until its own checks decide.
  InstanceHealth health = InstanceHealth::kStarting;
};

Json ToJson(const Record& r) {
  const auto& s = r.spec;
  return Json{{"id", r.id},
              {"port", r.port},
              {"pid", r.pid},
              {"start_time", r.start_time},
              {"restarts", r.restarts},
              {"health_state", static_cast<int>(r.health)},
              {"group", s.group},
              {"service", s.service},
              {"environment", s.environment},
              {"revision", s.revision},
              {"command", s.command},
              {"env", s.env},
              {"cwd", s.cwd},
              {"sandbox", s.sandbox},
              {"rootfs", s.rootfs},
              {"workdir", s.workdir},
              {"memory_limit_bytes", s.memory_limit_bytes},
              {"cpu_percent_limit", s.cpu_percent_limit},
              {"health",
               {{"path", s.health.path},
                {"interval_ms", s.health.interval_ms},
                {"timeout_ms", s.health.timeout_ms},
                {"healthy_threshold", s.health.healthy_threshold},
                {"unhealthy_threshold", s.health.unhealthy_threshold},
                {"matcher_low", s.health.matcher_low},
                {"matcher_high", s.health.matcher_high}}}};
}

Record FromJson(const Json& j) {
  Record r;
  r.id = j.at("id");
  r.port = j.at("port");
  r.pid = j.at("pid");
  r.start_time = j.at("start_time");
  r.restarts = j.at("restarts");
  const int state = j.value("health_state", 0);
  if (state >= 0 && state <= static_cast<int>(InstanceHealth::kUnhealthy))
    r.health = static_cast<InstanceHealth>(state);
  auto& s = r.spec;
  s.group = j.at("group");
  s.service = j.at("service");
  s.environment = j.at("environment");
  s.revision = j.at("revision");
  s.command = j.at("command").get<std::vector<std::string>>();
  s.env = j.at("env").get<std::map<std::string, std::string>>();
  s.cwd = j.at("cwd");
  s.sandbox = j.at("sandbox");
  s.rootfs = j.value("rootfs", "");
  s.workdir = j.value("workdir", "");
  s.memory_limit_bytes = j.at("memory_limit_bytes");
  s.cpu_percent_limit = j.at("cpu_percent_limit");
  const auto& h = j.at("health");
  s.health.path = h.at("path");
  s.health.interval_ms = h.at("interval_ms");
  s.health.timeout_ms = h.at("timeout_ms");
  s.health.healthy_threshold = h.at("healthy_threshold");
  s.health.unhealthy_threshold = h.at("unhealthy_threshold");
  s.health.matcher_low = h.at("matcher_low");
  s.health.matcher_high = h.at("matcher_high");
  return r;
}

// Puts the process into DATA-independent cgroup v2 limits when the hierarchy is writable.
void ApplyCgroupLimits(const Record& r) {
  if (r.spec.memory_limit_bytes <= 0 && r.spec.cpu_percent_limit <= 0) return;
  const std::string dir = "/sys/fs/cgroup/gantry-" + r.id;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return;  // not delegated to us: RLIMIT_AS (set in the child) is all we have
  if (r.spec.memory_limit_bytes > 0)
    (void)WriteFileAtomic(dir + "/memory.max", std::to_string(r.spec.memory_limit_bytes));
  if (r.spec.cpu_percent_limit > 0)
    (void)WriteFileAtomic(dir + "/cpu.max", std::to_string(r.spec.cpu_percent_limit * 1000) + " 100000");
  (void)AppendFile(dir + "/cgroup.procs", std::to_string(r.pid));
}

}  // namespace

struct LocalFleet::Impl {
  struct Live {
    Record rec;
    InstanceHealth health = InstanceHealth::kStarting;
    int passes = 0, failures = 0;
    int consecutive_crashes = 0;
    bool stopping = false;
    std::thread thread;
  };

  std::string dir;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::unique_ptr<Live>> instances;
  bool closing = false;

  std::string RecordPath(const std::string& id) const { return dir + "/" + id + ".json"; }
  Status Persist(const Record& r) { return WriteFileAtomic(RecordPath(r.id), ToJson(r).dump()); }

  // fork+exec in a new session: the instance is nobody's process group but its own, so
  // signals to the server (and its death) do not reach it.
  Status Spawn(Record* r) {
    std::vector<std::string> argv;
    const bool image = !r->spec.rootfs.empty();
    // No --new-session: bwrap does not pass SIGTERM on, so Stop's signal to the process group
    // must reach the app itself (it has no terminal to protect: setsid, stdin /dev/null).
    if (image) {
      // No fallback without bubblewrap: the image's programs only make sense in its root.
      const std::string bwrap = FindProgram("bwrap", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
      if (bwrap.empty()) return Status::Error("instance " + r->id + ": image revisions need bubblewrap (bwrap)");
      argv = {bwrap,
              "--ro-bind",
              r->spec.rootfs,
              "/",
              "--dev",
              "/dev",
              "--proc",
              "/proc",
              "--tmpfs",
              "/tmp",
              "--unshare-pid",
              "--unshare-ipc",
              "--chdir",
              r->spec.workdir.empty() ? "/" : r->spec.workdir,
              "--"};
    } else if (r->spec.sandbox) {
      const std::string bwrap = FindProgram("bwrap", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
      if (!bwrap.empty()) {
        argv = {bwrap,    "--ro-bind", "/",       "/",    "--dev",         "/dev",
                "--proc", "/proc",     "--tmpfs", "/tmp", "--unshare-pid", "--unshare-ipc"};
        if (!r->spec.cwd.empty()) argv.insert(argv.end(), {"--bind", r->spec.cwd, r->spec.cwd, "--chdir", r->spec.cwd});
        argv.push_back("--");
      }
    }
    argv.insert(argv.end(), r->spec.command.begin(), r->spec.command.end());
    std::map<std::string, std::string> env;
    for (char** e = image ? nullptr : environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    for (const auto& [k, v] : r->spec.env) env[k] = v;
    env["PORT"] = std::to_string(r->port);
    env["GANTRY_REVISION"] = r->spec.revision;
    env["GANTRY_INSTANCE"] = r->id;
    env["GANTRY_SERVICE"] = r->spec.service;
    env["GANTRY_ENVIRONMENT"] = r->spec.environment;
    if (image && !env.count("PATH")) env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::vector<std::string> envs;
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const std::string log = dir + "/" + r->id + ".log";
    const std::string cwd = r->spec.cwd.empty() ? dir : r->spec.cwd;
    const std::string prog = argv[0].find('/') == std::string::npos ? FindProgram(argv[0], env["PATH"]) : argv[0];
    if (prog.empty()) return Status::Error("instance " + r->id + ": program '" + argv[0] + "' not found in PATH");
    const std::string err_log = dir + "/" + r->id + ".err";
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::Error(log + ": cannot open");
    const int err_fd = open(err_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) {
      close(log_fd);
      return Status::Error(err_log + ": cannot open");
    }
    const long long mem = r->spec.memory_limit_bytes;
    const pid_t pid = fork();
    if (pid < 0) {
      close(log_fd);
      close(err_fd);
      return Status::Error("fork failed");
    }
    if (pid == 0) {
      setsid();
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      if (chdir(cwd.c_str()) != 0) _exit(126);
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      dup2(log_fd, 1);
      dup2(err_fd, 2);
      if (mem > 0) {
        rlimit lim{static_cast<rlim_t>(mem), static_cast<rlim_t>(mem)};
        setrlimit(RLIMIT_AS, &lim);
      }
      execve(prog.c_str(), cargv.data(), cenv.data());
      _exit(127);
    }
    close(log_fd);
    close(err_fd);
    r->pid = pid;
    // The start time is what re-adoption trusts, so wait until /proc shows it.
    for (int i = 0; i < 100 && (r->start_time = ProcessStartTime(pid)) == 0; ++i) usleep(1000);
    ApplyCgroupLimits(*r);
    return Persist(*r);
  }

  bool Alive(const Record& r) {
    int status = 0;
    (void)waitpid(r.pid, &status, WNOHANG);  // reaps our own children; ECHILD for adopted ones
    return r.pid > 0 && r.start_time != 0 && ProcessStartTime(r.pid) == r.start_time;
  }

  void Supervise(Live* live) {
    using std::chrono::milliseconds;
    auto next_check = Clock::now();
    std::unique_lock lock(mu);
    while (!closing && !live->stopping) {
      if (!Alive(live->rec)) {
        live->health = InstanceHealth::kUnhealthy;
        live->passes = live->failures = 0;
        const int crashes = live->consecutive_crashes++;
        const long long backoff = std::min<long long>(100LL << std::min(crashes, 7), 10'000);
        cv.wait_for(lock, milliseconds(backoff), [&] { return closing || live->stopping; });
        if (closing || live->stopping) break;
        live->rec.restarts++;
        if (!Spawn(&live->rec).ok()) continue;
        live->health = InstanceHealth::kStarting;
        next_check = Clock::now();
        continue;
      }
      if (Clock::now() >= next_check) {
        const HealthCheckSpec h = live->rec.spec.health;
        const std::string url = "http://127.0.0.1:" + std::to_string(live->rec.port) + h.path;
        lock.unlock();
        auto req = http::MakeRequest("GET", url);
        req.timeout_ms = static_cast<int>(h.timeout_ms);
        auto res = http::Fetch(req, 64 * 1024);
        const bool pass = res.ok() && res->status >= h.matcher_low && res->status <= h.matcher_high;
        lock.lock();
        if (pass) {
          live->failures = 0;
          if (++live->passes >= h.healthy_threshold) {
            live->health = InstanceHealth::kHealthy;
            live->consecutive_crashes = 0;
          }
        } else {
          live->passes = 0;
          if (++live->failures >= h.unhealthy_threshold) live->health = InstanceHealth::kUnhealthy;
        }
        next_check = Clock::now() + milliseconds(h.interval_ms);
        if (live->health != live->rec.health) {
          live->rec.health = live->health;
          (void)Persist(live->rec);
        }
      }
      cv.wait_for(lock, milliseconds(20), [&] { return closing || live->stopping; });
    }
  }

  void Launch(std::unique_ptr<Live> live) {
    Live* raw = live.get();
    instances[raw->rec.id] = std::move(live);
    raw->thread = std::thread([this, raw] { Supervise(raw); });
  }

  void Kill(Record& r) {
    if (!Alive(r)) return;
    kill(-r.pid, SIGTERM);
    for (int i = 0; i < 500 && Alive(r); ++i) usleep(10'000);
    if (Alive(r)) kill(-r.pid, SIGKILL);
    for (int i = 0; i < 100 && Alive(r); ++i) usleep(10'000);
    rmdir(("/sys/fs/cgroup/gantry-" + r.id).c_str());
  }
};

LocalFleet::LocalFleet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalFleet::~LocalFleet() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
    for (auto& [id, live] : impl_->instances) threads.push_back(std::move(live->thread));
  }
  impl_->cv.notify_all();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

Result<std::unique_ptr<LocalFleet>> LocalFleet::Open(const std::string& data_dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = data_dir + "/instances";
  Status st = MakeDirs(impl->dir);
  if (!st.ok()) return st;
  std::error_code ec;
  std::lock_guard lock(impl->mu);
  for (const auto& entry : std::filesystem::directory_iterator(impl->dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = ReadFile(entry.path().string(), 1 << 20);
    if (!text.ok()) continue;
    auto live = std::make_unique<Impl::Live>();
    try {
      live->rec = FromJson(Json::parse(*text));
    } catch (const std::exception&) {
      continue;  // a torn record: WriteFileAtomic makes this unlikely; the instance is lost
    }
    live->health = live->rec.health;
    // A dead one is restarted by its supervisor thread on the first round.
    impl->Launch(std::move(live));
  }
  return std::unique_ptr<LocalFleet>(new LocalFleet(std::move(impl)));
}

Result<Instance> LocalFleet::Start(const InstanceSpec& spec) {
  if (spec.command.empty()) return Result<Instance>::Error("instance of " + spec.group + ": no command");
  auto live = std::make_unique<Impl::Live>();
  static std::atomic<int> counter{0};
  live->rec.id = spec.group + "-" + std::to_string(getpid()) + "-" +
                 std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000) + "-" +
                 std::to_string(counter++);
  live->rec.spec = spec;
  live->rec.port = FreePort();
  std::lock_guard lock(impl_->mu);
  Status st = impl_->Spawn(&live->rec);
  if (!st.ok()) return st;
  Instance out;
  out.id = live->rec.id;
  out.group = spec.group;
  out.revision = spec.revision;
  out.address = "127.0.0.1:" + std::to_string(live->rec.port);
  out.pid = live->rec.pid;
  impl_->Launch(std::move(live));
  return out;
}

Status LocalFleet::Stop(const std::string& id) {
  std::unique_ptr<Impl::Live> live;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->instances.find(id);
    if (it == impl_->instances.end()) return Status::Ok();  // already gone: stopping is idempotent
    it->second->stopping = true;
    live = std::move(it->second);
    impl_->instances.erase(it);
  }
  impl_->cv.notify_all();
  if (live->thread.joinable()) live->thread.join();
  impl_->Kill(live->rec);
  std::remove(impl_->RecordPath(id).c_str());
  return Status::Ok();
}

std::vector<Instance> LocalFleet::List(const std::string& group_prefix) {
  std::lock_guard lock(impl_->mu);
  std::vector<Instance> out;
  for (const auto& [id, live] : impl_->instances) {
    if (!StartsWith(live->rec.spec.group, group_prefix)) continue;
    Instance i;
    i.id = id;
    i.group = live->rec.spec.group;
    i.revision = live->rec.spec.revision;
    i.address = "127.0.0.1:" + std::to_string(live->rec.port);
    i.pid = live->rec.pid;
    i.health = live->health;
    i.restarts = live->rec.restarts;
    i.consecutive_crashes = live->consecutive_crashes;
    out.push_back(i);
  }
  return out;
}

std::string LocalFleet::LogPath(const std::string& id) const { return impl_->dir + "/" + id + ".log"; }
std::string LocalFleet::dir() const { return impl_->dir; }

std::set<std::string> LocalFleet::RootfsInUse() {
  std::lock_guard lock(impl_->mu);
  std::set<std::string> out;
  for (const auto& [id, live] : impl_->instances)
    if (!live->rec.spec.rootfs.empty()) out.insert(live->rec.spec.rootfs);
  return out;
}

void LocalFleet::StopAll() {
  for (const auto& i : List("")) (void)Stop(i.id);
}

}  // namespace gantry::deploy
