// Git smart HTTP: /git/<project>.git/... is served by `git http-backend` (CGI). Fetches
// need a viewer token, pushes an operator token (HTTP basic auth, the token as password).
// After a push, every updated branch or tag triggers the workflows that match it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/http_server.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/git_repo.h"

extern char** environ;

namespace gantry::server {
namespace {

struct CgiResult {
  bool ok = false;
  std::string error;
};

// Runs git http-backend for one request, streaming the body in and the response out.
CgiResult RunBackend(Context& ctx, http::Request& req, http::Response& res, const std::string& path_info,
                     const std::string& user) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!StartsWith(*e, "GIT_") && !StartsWith(*e, "HTTP_") && !StartsWith(*e, "CONTENT_")) env.emplace_back(*e);
  }
  env.push_back("GIT_PROJECT_ROOT=" + ctx.options.data_dir + "/git");
  env.push_back("GIT_HTTP_EXPORT_ALL=1");
  env.push_back("PATH_INFO=" + path_info);
  env.push_back("REQUEST_METHOD=" + req.method);
  env.push_back("QUERY_STRING=" + req.query);
  env.push_back("REMOTE_USER=" + user);
  env.push_back("REMOTE_ADDR=" + req.remote_addr.substr(0, req.remote_addr.rfind(':')));
  env.push_back("CONTENT_TYPE=" + std::string(req.Header("Content-Type")));
  if (req.content_length) env.push_back("CONTENT_LENGTH=" + std::to_string(*req.content_length));
  if (auto enc = req.Header("Content-Encoding"); !enc.empty())
    env.push_back("HTTP_CONTENT_ENCODING=" + std::string(enc));
  if (auto proto = req.Header("Git-Protocol"); !proto.empty()) env.push_back("GIT_PROTOCOL=" + std::string(proto));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return {false, "pipe failed"};
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return {false, "pipe failed"};
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char arg0[] = "git", arg1[] = "http-backend";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "git", &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return {false, "cannot start git http-backend"};
  }
  // The body goes in on its own thread: the backend may answer before it read everything.
  std::thread feeder([&req, fd = in[1]] {
    signal(SIGPIPE, SIG_IGN);
    char buf[65536];
    for (;;) {
      long long n = req.ReadBody(buf, sizeof buf);
      if (n <= 0) break;
      const char* p = buf;
      while (n > 0) {
        ssize_t w = ::write(fd, p, static_cast<size_t>(n));
        if (w <= 0) goto done;
        p += w;
        n -= w;
      }
    }
  done:
    ::close(fd);
  });
  std::string head;
  char buf[65536];
  bool started = false;
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    if (started) {
      if (!res.Write(std::string_view(buf, static_cast<size_t>(n)))) break;
      continue;
    }
    head.append(buf, static_cast<size_t>(n));
    size_t end = head.find("\r\n\r\n");
    size_t sep = 4;
    if (end == std::string::npos) {
      end = head.find("\n\n");
      sep = 2;
    }
    if (end == std::string::npos) {
      if (head.size() > 65536) break;
      continue;
    }
    int status = 200;
    http::Headers headers;
    for (const auto& line : Split(head.substr(0, end), '\n')) {
      std::string_view l = Trim(line);
      size_t colon = l.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(Trim(l.substr(0, colon)));
      std::string value(Trim(l.substr(colon + 1)));
      if (EqualsIgnoreCase(name, "Status")) {
        status = std::atoi(value.c_str());
      } else {
        headers.push_back({name, value});
      }
    }
    res.Start(status, headers, std::nullopt);
    started = true;
    std::string rest = head.substr(end + sep);
    if (!rest.empty() && !res.Write(rest)) break;
  }
  ::close(out[0]);
  feeder.join();
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (!started) return {false, "git http-backend failed"};
  return {true, ""};
}

void HandleGit(Context& ctx, http::Request& req, http::Response& res) {
  // rest: "/<project>.git/info/refs" etc.
  std::string rest = req.rest;
  if (!StartsWith(rest, "/")) rest = "/" + rest;
  size_t dot_git = rest.find(".git/");
  if (dot_git == std::string::npos) return SendError(res, 404, "expected /git/<project>.git/...");
  std::string project = rest.substr(1, dot_git - 1);
  if (!ValidProjectName(project)) return SendError(res, 404, "no such repository");
  std::string service = req.QueryParam("service").value_or("");
  bool push = EndsWith(rest, "/git-receive-pack") || service == "git-receive-pack";
  auto who = Authorize(ctx, req, res, push ? store::Role::kOperator : store::Role::kViewer);
  if (!who) return;
  auto p = ctx.store->FindProject(project);
  if (!p.ok()) return SendError(res, 503, p.error());
  if (!p->has_value()) return SendError(res, 404, "no project '" + project + "'");
  std::string repo = ctx.queue->RepoPath(project);
  bool receive = req.method == "POST" && EndsWith(rest, "/git-receive-pack");
  std::map<std::string, std::string> before;
  if (receive) before = ListRefs(repo);
  auto result = RunBackend(ctx, req, res, rest, who->name);
  if (!result.ok && !res.started()) return SendError(res, 500, result.error);
  if (!receive) return;
  res.Finish();  // the client is done; triggering happens after it got its answer
  auto after = ListRefs(repo);
  for (const auto& [ref, sha] : after) {
    auto old = before.find(ref);
    if (old != before.end() && old->second == sha) continue;
    if (!StartsWith(ref, "refs/heads/") && !StartsWith(ref, "refs/tags/")) continue;
    (void)ctx.store->Audit(who->name, "git.push", project, ref + " " + sha, req.remote_addr);
    TriggerRequest tr;
    tr.event = "push";
    tr.ref = ref;
    tr.sha = sha;
    tr.before = old == before.end() ? "" : old->second;
    (void)ctx.queue->Trigger(**p, tr);
  }
}

}  // namespace

void MountGit(Context& ctx, http::Router& router) {
  router.Mount("", "/git/", [&ctx](http::Request& req, http::Response& res) { HandleGit(ctx, req, res); });
}

}  // namespace gantry::server
