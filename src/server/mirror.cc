#include "server/mirror.h"

#include <chrono>
#include <cstdlib>

#include "base/fs.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/executor.h"
#include "server/git_repo.h"
#include "store/store.h"

namespace gantry::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ConfigValue(const std::string& repo, const std::string& key) {
  auto r = Git({"--git-dir", repo, "config", "--get", key});
  return r.ok() ? std::string(Trim(*r)) : "";
}

// One line, bounded: git's stderr can be long and multi-line.
std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  s = std::string(Trim(s));
  if (s.size() > 500) s = s.substr(0, 500) + "...";
  return s;
}

}  // namespace

Result<int64_t> ParsePollInterval(const std::string& text) {
  using R = Result<int64_t>;
  if (text.empty()) return R::Error("empty poll interval");
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return R::Error("invalid poll interval '" + text + "' (e.g. 60s, 5m, 1h)");
  int64_t n = std::strtoll(text.substr(0, digits).c_str(), nullptr, 10);
  std::string unit = text.substr(digits);
  int64_t mult = unit == "" || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (mult == 0) return R::Error("invalid poll interval '" + text + "' (e.g. 60s, 5m, 1h)");
  if (n * mult < kMinMirrorPollS) return R::Error("the poll interval must be at least 1s");
  return n * mult;
}

Status ValidateMirrorUrl(const std::string& url) {
  if (url.empty() || url.size() > 2048) return Status::Error("the mirror URL must be 1 to 2048 characters");
  for (char c : url)
    if (static_cast<unsigned char>(c) < 0x20) return Status::Error("the mirror URL has a control character");
  for (const char* scheme : {"http://", "https://", "git://", "ssh://", "file://", "/"})
    if (StartsWith(url, scheme)) return Status::Ok();
  return Status::Error("mirror URL '" + url + "' must start with http://, https://, git://, ssh://, file:// or /");
}

Status WriteMirrorConfig(const std::string& repo, const MirrorConfig& c) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"gantry.mirror.url", c.url},
                                                        {"gantry.mirror.poll", std::to_string(c.poll_s)},
                                                        {"gantry.mirror.error", c.last_error},
                                                        {"gantry.mirror.fetched", std::to_string(c.last_fetch_ms)}}) {
    auto r = Git({"--git-dir", repo, "config", key, value});
    if (!r.ok()) return Status::Error(r.error());
  }
  return Status::Ok();
}

MirrorConfig ReadMirrorConfig(const std::string& repo) {
  MirrorConfig c;
  // The poll loop reads every project's setting each second: skip the git processes for
  // the (usual) repositories that are not mirrors.
  auto text = ReadFile(repo + "/config", 1u << 20);
  if (!text.ok() || text->find("[gantry \"mirror\"]") == std::string::npos) return c;
  c.url = ConfigValue(repo, "gantry.mirror.url");
  if (c.url.empty()) return c;
  c.poll_s =
      std::max<int64_t>(kMinMirrorPollS, std::strtoll(ConfigValue(repo, "gantry.mirror.poll").c_str(), nullptr, 10));
  c.last_error = ConfigValue(repo, "gantry.mirror.error");
  c.last_fetch_ms = std::strtoll(ConfigValue(repo, "gantry.mirror.fetched").c_str(), nullptr, 10);
  return c;
}

Status MirrorPoller::PollNow(const std::string& project) {
  std::lock_guard<std::mutex> fetch_lock(fetch_mu_);
  auto p = ctx_.store->FindProject(project);
  if (!p.ok()) return Status::Error(p.error());
  if (!p->has_value()) return Status::Error("no project '" + project + "'");
  std::string repo = ctx_.queue->RepoPath(project);
  MirrorConfig c = ReadMirrorConfig(repo);
  if (c.url.empty()) return Status::Ok();
  auto before = ListRefs(repo);
  // --prune: branches deleted upstream go away here too; `--` keeps the URL from being an option.
  auto r = Git({"--git-dir", repo, "fetch", "--quiet", "--prune", "--no-write-fetch-head", "--", c.url,
                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"});
  if (!r.ok()) {
    c.last_error = "git fetch " + c.url + " failed: " + OneLine(r.error());
    (void)WriteMirrorConfig(repo, c);
    (void)ctx_.store->Audit("mirror", "mirror.error", project, c.last_error, "");
    return Status::Error(c.last_error);
  }
  c.last_error.clear();
  c.last_fetch_ms = NowMs();
  (void)WriteMirrorConfig(repo, c);
  for (const auto& [ref, sha] : ListRefs(repo)) {
    auto old = before.find(ref);
    if (old != before.end() && old->second == sha) continue;
    if (!StartsWith(ref, "refs/heads/") && !StartsWith(ref, "refs/tags/")) continue;
    (void)ctx_.store->Audit("mirror", "mirror.update", project, ref + " " + sha, "");
    TriggerRequest tr;
    tr.event = "push";
    tr.ref = ref;
    tr.sha = sha;
    tr.before = old == before.end() ? "" : old->second;
    (void)ctx_.queue->Trigger(**p, tr);
  }
  return Status::Ok();
}

void MirrorPoller::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void MirrorPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MirrorPoller::Wake(const std::string& project) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_[project].next_ms = 0;
    state_[project].backoff_s = 0;
  }
  cv_.notify_all();
}

void MirrorPoller::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::vector<std::string> due;
    auto projects = ctx_.store->ListProjects();
    int64_t now = NowMs();
    std::map<std::string, int64_t> polls;
    if (projects.ok()) {
      for (const auto& p : *projects) {
        MirrorConfig c = ReadMirrorConfig(ctx_.queue->RepoPath(p.name));
        if (!c.url.empty()) polls[p.name] = c.poll_s;
      }
    }
    lock.lock();
    for (const auto& [name, poll_s] : polls)
      if (state_[name].next_ms <= now) due.push_back(name);
    lock.unlock();
    for (const auto& name : due) {
      Status st = PollNow(name);
      std::lock_guard<std::mutex> g(mu_);
      State& s = state_[name];
      if (st.ok()) {
        s.backoff_s = 0;
        s.next_ms = NowMs() + polls[name] * 1000;
      } else {
        // Back off: a down remote is not hammered, and the error stays visible meanwhile.
        s.backoff_s = std::min(kMaxMirrorBackoffS, s.backoff_s == 0 ? polls[name] : s.backoff_s * 2);
        s.next_ms = NowMs() + s.backoff_s * 1000;
      }
      if (stop_) break;
    }
    lock.lock();
    // Wake at least every second to notice new mirrors and Wake() calls.
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
  }
}

}  // namespace gantry::server
