// The REST API under /api/v1 (docs/api.md).
#include <chrono>
#include <thread>

#include "base/http_auth.h"
#include "base/http_server.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/git_repo.h"
#include "server/json_body.h"
#include "server/mirror.h"
#include "server/run_token.h"
#include "store/seal.h"

namespace gantry::server {

using nlohmann::json;

void SendJson(http::Response& res, int status, const std::string& body) {
  res.Send(status, "application/json", body + "\n");
}

// Commit titles, branch names and annotations may hold bytes that are not UTF-8; they are
// replaced (U+FFFD) rather than failing the response.
static std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// "zstd" among the codings of an Accept-Encoding header, unless refused with q=0.
static bool AcceptsZstd(std::string_view accept) {
  for (const auto& part : Split(accept, ',')) {
    auto coding = Split(part, ';');
    if (coding.empty() || Trim(coding[0]) != "zstd") continue;
    return coding.size() < 2 || Trim(coding[1]) != "q=0";
  }
  return false;
}

void SendError(http::Response& res, int status, const std::string& message) {
  SendJson(res, status, Dump(json{{"error", message}}));
}

// git and curl get a Basic challenge; the dashboard (which sends X-Gantry-CSRF) gets none, so
// that the browser shows the sign-in page instead of its own password dialog.
static http::Headers Challenge(const http::Request& req) {
  if (!req.Header("X-Gantry-CSRF").empty()) return {};
  return {{"WWW-Authenticate", "Basic realm=\"gantry\""}};
}

std::optional<store::TokenInfo> Authorize(Context& ctx, http::Request& req, http::Response& res, store::Role need) {
  // A bearer token, or the password of Basic auth (git sends the token that way).
  std::string token = http::PresentedToken(req.Header("Authorization"));
  if (token.empty()) {
    // The dashboard's session cookie; changes need the CSRF header a cross-site form can't send.
    token = SessionCookieToken(req);
    if (!token.empty() && req.method != "GET" && req.method != "HEAD" && req.Header("X-Gantry-CSRF").empty()) {
      SendError(res, 403, "cross-site request refused: send the X-Gantry-CSRF header");
      return std::nullopt;
    }
  }
  if (token.empty()) {
    res.Send(401, "application/json", "{\"error\":\"authentication required (Authorization: Bearer TOKEN)\"}\n",
             Challenge(req));
    return std::nullopt;
  }
  if (auto run = RunOfToken(ctx.options.data_dir, token)) {  // a step of a running run
    auto r = ctx.store->GetRun(*run);
    if (r.ok() && r->has_value() && (*r)->status == "running" && need <= store::Role::kOperator)
      return store::TokenInfo{0, "run " + std::to_string(*run), store::Role::kOperator};
    res.Send(401, "application/json", "{\"error\":\"the run token is not valid (the run has ended)\"}\n",
             Challenge(req));
    return std::nullopt;
  }
  auto info = ctx.store->FindToken(token);
  if (!info.ok()) {
    SendError(res, 503, info.error());
    return std::nullopt;
  }
  if (!info->has_value()) {
    res.Send(401, "application/json", "{\"error\":\"invalid token\"}\n", Challenge(req));
    return std::nullopt;
  }
  if (static_cast<int>((*info)->role) < static_cast<int>(need)) {
    SendError(res, 403, std::string("this needs the ") + store::RoleName(need) + " role");
    return std::nullopt;
  }
  return **info;
}

namespace {

json RunJson(const store::Run& r) {
  return json{{"id", r.id},
              {"project", r.project},
              {"number", r.number},
              {"workflow", r.workflow},
              {"workflow_name", r.workflow_name},
              {"event", r.event},
              {"ref", r.ref},
              {"sha", r.sha},
              {"short_sha", r.sha.substr(0, 7)},
              {"title", r.title},
              {"author", r.author},
              {"inputs", json::parse(r.inputs_json, nullptr, false)},
              {"status", r.status},
              {"conclusion", r.conclusion},
              {"message", r.message},
              {"attempt", r.attempt},
              {"concurrency_group", r.concurrency_group},
              {"created_ms", r.created_ms},
              {"started_ms", r.started_ms},
              {"finished_ms", r.finished_ms}};
}

std::optional<int64_t> ParseId(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(s);
}

class Api {
 public:
  explicit Api(Context& ctx) : ctx_(ctx) {}

  void Handle(http::Request& req, http::Response& res) {
    auto parts = Split(req.rest, '/');
    while (!parts.empty() && parts.back().empty()) parts.pop_back();
    const std::string& m = req.method;
    size_t n = parts.size();
    if (n == 1 && parts[0] == "health") return SendJson(res, 200, R"({"ok":true})");
    if (n >= 1 && parts[0] == "projects") {
      if (n == 1 && m == "GET") return ListProjects(req, res);
      if (n == 1 && m == "POST") return CreateProject(req, res);
      if (n == 2 && m == "GET") return GetProject(req, res, parts[1]);
      if (n == 3 && parts[2] == "trigger" && m == "POST") return TriggerRun(req, res, parts[1]);
      if (n == 3 && parts[2] == "secrets" && m == "GET") return ListSecrets(req, res, parts[1]);
      if (n == 4 && parts[2] == "secrets" && (m == "PUT" || m == "DELETE"))
        return PutSecret(req, res, parts[1], parts[3]);
    }
    if (n >= 1 && parts[0] == "runs") {
      if (n == 1 && m == "GET") return ListRuns(req, res);
      auto id = n >= 2 ? ParseId(parts[1]) : std::nullopt;
      if (n >= 2 && !id) return SendError(res, 400, "run id must be a number");
      if (n == 2 && m == "GET") return GetRun(req, res, *id);
      if (n >= 3 && parts[2] == "artifacts" && ctx_.run_artifacts) return ctx_.run_artifacts(req, res);
      if (n == 3 && parts[2] == "cancel" && m == "POST") return CancelRun(req, res, *id);
      if (n == 3 && parts[2] == "approvals") return RunApprovals(ctx_, ctx_.queue->approvals(), req, res, *id);
      if (n == 3 && parts[2] == "rerun" && m == "POST") return RerunRun(req, res, *id);
      if (n == 3 && parts[2] == "logs" && m == "GET") return RunLogs(req, res, *id);
      if (n == 3 && parts[2] == "events" && m == "GET") return Events(req, res, *id);
      if (n == 5 && parts[2] == "jobs" && parts[4] == "logs" && m == "GET") {
        auto job = ParseId(parts[3]);
        if (!job) return SendError(res, 400, "job id must be a number");
        return JobLogs(req, res, *id, *job);
      }
    }
    if (n == 1 && parts[0] == "approvals" && m == "GET")
      return PendingApprovals(ctx_, ctx_.queue->approvals(), req, res);
    if (n == 1 && parts[0] == "tokens" && m == "POST") return CreateToken(req, res);
    if (n == 1 && parts[0] == "audit" && m == "GET") return ListAudit(req, res);
    SendError(res, 404, "no such API endpoint: " + m + " /api/v1/" + req.rest);
  }

 private:
  std::optional<store::TokenInfo> Auth(http::Request& req, http::Response& res, store::Role role) {
    return Authorize(ctx_, req, res, role);
  }
  std::optional<json> Body(http::Request& req, http::Response& res) {
    auto text = req.ReadAll(kMaxJsonBody);
    if (!text.ok()) {
      SendError(res, 413, text.error());
      return std::nullopt;
    }
    if (Trim(*text).empty()) return json::object();
    auto j = ParseJsonBody(*text);
    if (!j.ok()) {
      SendError(res, 400, j.error());
      return std::nullopt;
    }
    if (!j->is_object()) {
      SendError(res, 400, "body:1:1: expected a JSON object");
      return std::nullopt;
    }
    return std::move(*j);
  }
  void Audit(const store::TokenInfo& who, http::Request& req, const std::string& action, const std::string& target,
             const std::string& detail = "") {
    (void)ctx_.store->Audit(who.name, action, target, detail, req.remote_addr);
  }
  std::optional<store::Project> Project(http::Response& res, const std::string& name) {
    auto p = ctx_.store->FindProject(name);
    if (!p.ok()) {
      SendError(res, 503, p.error());
      return std::nullopt;
    }
    if (!p->has_value()) {
      SendError(res, 404, "no project '" + name + "'");
      return std::nullopt;
    }
    return **p;
  }
  // `waiting_for`: the environments whose approvals a job of the run waits for (approvals.h).
  json WithWaiting(json run, int64_t id) {
    std::set<std::string> envs;
    for (const auto& g : ctx_.queue->approvals().Pending(id)) envs.insert(g.environment);
    run["waiting_for"] = envs;
    return run;
  }
  std::string GitUrl(const std::string& name) { return ctx_.base_url + "/git/" + name + ".git"; }

  // "mirror": URL and "poll": "60s" | seconds, both optional.
  static Status MirrorFields(const json& body, MirrorConfig* mirror) {
    if (!body.contains("mirror") || body["mirror"].is_null()) return Status::Ok();
    if (!body["mirror"].is_string()) return Status::Error("'mirror' must be a string (a git URL)");
    mirror->url = body["mirror"].get<std::string>();
    if (auto st = ValidateMirrorUrl(mirror->url); !st.ok()) return st;
    if (body.contains("poll")) {
      const json& poll = body["poll"];
      std::string text = poll.is_number_integer() ? std::to_string(poll.get<int64_t>())
                         : poll.is_string()       ? poll.get<std::string>()
                                                  : "";
      auto s = ParsePollInterval(text);
      if (!s.ok()) return Status::Error("'poll': " + s.error());
      mirror->poll_s = *s;
    }
    return Status::Ok();
  }

  void ListProjects(http::Request& req, http::Response& res) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    auto list = ctx_.store->ListProjects();
    if (!list.ok()) return SendError(res, 503, list.error());
    json out = json::array();
    for (const auto& p : *list)
      out.push_back({{"name", p.name}, {"git_url", GitUrl(p.name)}, {"created_ms", p.created_ms}});
    SendJson(res, 200, json{{"projects", out}}.dump());
  }

  void CreateProject(http::Request& req, http::Response& res) {
    auto who = Auth(req, res, store::Role::kAdmin);
    if (!who) return;
    auto body = Body(req, res);
    if (!body) return;
    auto name = StringField(*body, "name");
    if (!name.ok()) return SendError(res, 400, name.error());
    if (!ValidProjectName(*name)) {
      return SendError(res, 400, "invalid project name '" + *name + "' (letters, digits, '-', '_', '.'; at most 64)");
    }
    MirrorConfig mirror;
    if (auto st = MirrorFields(*body, &mirror); !st.ok()) return SendError(res, 400, st.message());
    auto p = ctx_.store->CreateProject(*name);
    if (!p.ok()) return SendError(res, p.error().find("already exists") != std::string::npos ? 409 : 503, p.error());
    if (auto st = InitBareRepo(ctx_.queue->RepoPath(*name)); !st.ok()) return SendError(res, 500, st.message());
    if (!mirror.url.empty()) {
      if (auto st = WriteMirrorConfig(ctx_.queue->RepoPath(*name), mirror); !st.ok())
        return SendError(res, 500, st.message());
      if (ctx_.mirrors != nullptr) ctx_.mirrors->Wake(*name);
    }
    Audit(*who, req, "project.create", *name, mirror.url.empty() ? "" : "mirror " + mirror.url);
    SendJson(res, 201,
             json{{"name", p->name},
                  {"git_url", GitUrl(p->name)},
                  {"webhook_secret", p->webhook_secret},
                  {"webhook_url", ctx_.base_url + "/hooks/" + p->name}}
                 .dump());
  }

  void GetProject(http::Request& req, http::Response& res, const std::string& name) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    auto p = Project(res, name);
    if (!p) return;
    json refs = json::object();
    for (const auto& [ref, sha] : ListRefs(ctx_.queue->RepoPath(name))) refs[ref] = sha;
    json out{{"name", p->name}, {"git_url", GitUrl(p->name)}, {"refs", refs}};
    MirrorConfig mirror = ReadMirrorConfig(ctx_.queue->RepoPath(name));
    if (!mirror.url.empty()) {
      out["mirror"] = {{"url", mirror.url},
                       {"poll_s", mirror.poll_s},
                       {"last_error", mirror.last_error},
                       {"last_fetch_ms", mirror.last_fetch_ms}};
    }
    SendJson(res, 200, out.dump());
  }

  void TriggerRun(http::Request& req, http::Response& res, const std::string& name) {
    auto who = Auth(req, res, store::Role::kOperator);
    if (!who) return;
    auto p = Project(res, name);
    if (!p) return;
    auto body = Body(req, res);
    if (!body) return;
    auto workflow = StringField(*body, "workflow");
    auto ref = StringField(*body, "ref", "refs/heads/main");
    if (!workflow.ok() || !ref.ok()) return SendError(res, 400, !workflow.ok() ? workflow.error() : ref.error());
    TriggerRequest tr;
    tr.event = "workflow_dispatch";
    tr.ref = StartsWith(*ref, "refs/") ? *ref : "refs/heads/" + *ref;
    tr.workflow = *workflow;
    if (!tr.workflow.empty() && tr.workflow.find('/') == std::string::npos) {
      // A bare file name: look in the usual workflow folders.
      auto refs = ListRefs(ctx_.queue->RepoPath(name));
      auto it = refs.find(tr.ref);
      if (it != refs.end()) {
        for (const auto& f : WorkflowFiles(ctx_.queue->RepoPath(name), it->second)) {
          if (EndsWith(f, "/" + tr.workflow)) tr.workflow = f;
        }
      }
    }
    if (auto in = body->find("inputs"); in != body->end() && !in->is_null()) {
      if (!in->is_object()) return SendError(res, 400, "body: 'inputs' must be an object");
      for (auto it = in->begin(); it != in->end(); ++it) {
        tr.inputs[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
      }
    }
    auto refs = ListRefs(ctx_.queue->RepoPath(name));
    auto it = refs.find(tr.ref);
    if (it == refs.end()) return SendError(res, 422, "no ref '" + tr.ref + "' in project '" + name + "'");
    tr.sha = it->second;
    auto runs = ctx_.queue->Trigger(*p, tr);
    if (!runs.ok()) return SendError(res, 422, runs.error());
    Audit(*who, req, "run.trigger", name, tr.workflow + " " + tr.ref);
    json out = json::array();
    for (const auto& r : *runs) out.push_back(RunJson(r));
    if (out.empty()) return SendError(res, 422, "no workflow on " + tr.ref + " has a workflow_dispatch trigger");
    SendJson(res, 201, Dump(json{{"runs", out}}));
  }

  void ListSecrets(http::Request& req, http::Response& res, const std::string& name) {
    if (!Auth(req, res, store::Role::kAdmin)) return;
    auto p = Project(res, name);
    if (!p) return;
    auto s = ctx_.store->Secrets(p->id, req.QueryParam("environment").value_or(""));
    if (!s.ok()) return SendError(res, 503, s.error());
    json names = json::array();
    for (const auto& [k, v] : *s) names.push_back(k);  // values are never returned
    SendJson(res, 200, json{{"secrets", names}}.dump());
  }

  void PutSecret(http::Request& req, http::Response& res, const std::string& name, const std::string& secret) {
    auto who = Auth(req, res, store::Role::kAdmin);
    if (!who) return;
    auto p = Project(res, name);
    if (!p) return;
    auto body = Body(req, res);
    if (!body) return;
    auto env = StringField(*body, "environment");
    if (!env.ok()) return SendError(res, 400, env.error());
    Status st;
    if (req.method == "DELETE") {
      st = ctx_.store->DeleteSecret(p->id, *env, secret);
    } else {
      auto value = StringField(*body, "value");
      if (!value.ok()) return SendError(res, 400, value.error());
      st = ctx_.store->SetSecret(p->id, *env, secret, *value);
    }
    if (!st.ok()) return SendError(res, 503, st.message());
    Audit(*who, req, req.method == "DELETE" ? "secret.delete" : "secret.set", name + "/" + secret, *env);
    SendJson(res, 200, R"({"ok":true})");
  }

  void ListRuns(http::Request& req, http::Response& res) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    store::RunFilter f;
    if (auto project = req.QueryParam("project"); project && !project->empty()) {
      auto p = Project(res, *project);
      if (!p) return;
      f.project_id = p->id;
    }
    f.status = req.QueryParam("status").value_or("");
    f.ref = req.QueryParam("branch").value_or("");
    f.workflow = req.QueryParam("workflow").value_or("");
    if (f.ref.size() > 256 || f.workflow.size() > 256) return SendError(res, 400, "filter too long");
    auto before = ParseId(req.QueryParam("before").value_or("0"));
    auto limit = ParseId(req.QueryParam("limit").value_or("50"));
    if (!before || !limit) return SendError(res, 400, "'before' and 'limit' must be numbers");
    f.before_id = *before;
    f.limit = std::clamp<int64_t>(*limit, 1, 500);
    auto runs = ctx_.store->ListRuns(f);
    if (!runs.ok()) return SendError(res, 503, runs.error());
    json out = json::array();
    for (const auto& r : *runs) out.push_back(WithWaiting(RunJson(r), r.id));
    json page{{"runs", out}};
    if (static_cast<int64_t>(runs->size()) == f.limit) page["next_before"] = runs->back().id;
    SendJson(res, 200, Dump(page));
  }

  void GetRun(http::Request& req, http::Response& res, int64_t id) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    auto run = ctx_.store->GetRun(id);
    if (!run.ok()) return SendError(res, 503, run.error());
    if (!run->has_value()) return SendError(res, 404, "no run " + std::to_string(id));
    json out = WithWaiting(RunJson(**run), id);
    json jobs = json::array();
    auto list = ctx_.store->ListJobs(id);
    // Jobs waiting for a protected environment: which, and how many approvals it has.
    std::map<std::string, json> waiting;
    if (auto pending = ctx_.queue->approvals().Pending(id); !pending.empty()) {
      auto decisions = ctx_.store->ListApprovals(id);
      for (const auto& g : pending) {
        std::set<std::string> approvers;
        if (decisions.ok()) (void)Rejection(*decisions, (*run)->attempt, g.environment, &approvers);
        waiting[g.job] = {{"environment", g.environment},
                          {"required", g.required},
                          {"approved", approvers.size()},
                          {"since_ms", g.since_ms}};
      }
    }
    for (const auto& j : list.ok() ? *list : std::vector<store::Job>{}) {
      json steps = json::array();
      auto st = ctx_.store->ListSteps(j.id);
      for (const auto& s : st.ok() ? *st : std::vector<store::Step>{}) {
        steps.push_back({{"number", s.number},
                         {"name", s.name},
                         {"status", s.status},
                         {"conclusion", s.conclusion},
                         {"summary", s.summary}});
      }
      jobs.push_back({{"id", j.id},
                      {"key", j.job_key},
                      {"name", j.name},
                      {"matrix", json::parse(j.matrix_json, nullptr, false)},
                      {"status", j.status},
                      {"conclusion", j.conclusion},
                      {"outputs", json::parse(j.outputs_json, nullptr, false)},
                      {"steps", steps}});
      if (auto w = waiting.find(j.name); w != waiting.end() && j.status == "waiting")
        jobs.back()["approval"] = w->second;
    }
    out["jobs"] = jobs;
    json annotations = json::array();
    auto ann = ctx_.store->ListAnnotations(id);
    for (const auto& a : ann.ok() ? *ann : std::vector<store::Annotation>{}) {
      annotations.push_back(
          {{"job_id", a.job_id}, {"level", a.level}, {"message", a.message}, {"file", a.file}, {"line", a.line}});
    }
    out["annotations"] = annotations;
    SendJson(res, 200, Dump(out));
  }

  void CancelRun(http::Request& req, http::Response& res, int64_t id) {
    auto who = Auth(req, res, store::Role::kOperator);
    if (!who) return;
    auto st = ctx_.queue->Cancel(id);
    if (!st.ok()) return SendError(res, st.message().find("no run") == 0 ? 404 : 409, st.message());
    Audit(*who, req, "run.cancel", std::to_string(id));
    SendJson(res, 202, R"({"ok":true})");
  }

  void RerunRun(http::Request& req, http::Response& res, int64_t id) {
    auto who = Auth(req, res, store::Role::kOperator);
    if (!who) return;
    auto body = Body(req, res);
    if (!body) return;
    bool failed_only =
        body->contains("failed_only") && (*body)["failed_only"].is_boolean() && (*body)["failed_only"].get<bool>();
    auto st = ctx_.queue->Rerun(id, failed_only);
    if (!st.ok()) return SendError(res, st.message().find("no run") == 0 ? 404 : 409, st.message());
    Audit(*who, req, "run.rerun", std::to_string(id), failed_only ? "failed jobs" : "all jobs");
    SendJson(res, 202, R"({"ok":true})");
  }

  void JobLogs(http::Request& req, http::Response& res, int64_t run_id, int64_t job_id) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    auto after = ParseId(req.QueryParam("after").value_or("0"));
    if (!after) return SendError(res, 400, "'after' must be a number");
    auto lines = ctx_.store->ReadLog(job_id, *after, 10000);
    if (!lines.ok()) return SendError(res, 503, lines.error());
    json out = json::array();
    for (const auto& l : *lines) out.push_back({{"seq", l.seq}, {"step", l.step}, {"text", l.text}});
    std::string body = Dump(json{{"run_id", run_id}, {"job_id", job_id}, {"lines", out}}) + "\n";
    // Log pages are the dashboard's heaviest responses (up to 10,000 lines each) and
    // compress ~10x; browsers that accept zstd get them compressed.
    if (body.size() >= 4096 && AcceptsZstd(req.Header("Accept-Encoding"))) {
      return res.Send(200, "application/json", store::Compress(body),
                      {{"Content-Encoding", "zstd"}, {"Vary", "Accept-Encoding"}});
    }
    res.Send(200, "application/json", body, {{"Vary", "Accept-Encoding"}});
  }

  void RunLogs(http::Request& req, http::Response& res, int64_t run_id) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    auto jobs = ctx_.store->ListJobs(run_id);
    if (!jobs.ok()) return SendError(res, 503, jobs.error());
    res.Start(200, {{"Content-Type", "text/plain; charset=utf-8"}}, std::nullopt);
    for (const auto& j : *jobs) {
      int64_t after = 0;
      for (;;) {
        auto lines = ctx_.store->ReadLog(j.id, after, 10000);
        if (!lines.ok() || lines->empty()) break;
        std::string chunk;
        for (const auto& l : *lines) chunk += j.name + " | " + l.text + "\n";
        after = lines->back().seq;
        if (!res.Write(chunk)) return;
      }
    }
  }

  // Server-Sent Events: `status` (the run as JSON) when it changes, `log` per stored line
  // ({job_id, job, seq, text}); ends after the run completes and every line was sent.
  void Events(http::Request& req, http::Response& res, int64_t run_id) {
    if (!Auth(req, res, store::Role::kViewer)) return;
    res.Start(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}}, std::nullopt);
    std::map<int64_t, int64_t> seen;  // job id -> last seq sent
    std::string last_status;
    auto idle_since = std::chrono::steady_clock::now();
    for (;;) {
      auto run = ctx_.store->GetRun(run_id);
      if (!run.ok() || !run->has_value()) {
        res.Write("event: error\ndata: {\"error\":\"no such run\"}\n\n");
        return;
      }
      std::string status = Dump(RunJson(**run));
      std::string out;
      bool completed = (*run)->status == "completed";
      auto jobs = ctx_.store->ListJobs(run_id);
      // `status` is sent again when a job changes too (a job starts waiting for approval,
      // or gets one), so pages refresh their job graph.
      std::string signature = status;
      for (const auto& j : jobs.ok() ? *jobs : std::vector<store::Job>{})
        signature += "|" + std::to_string(j.id) + j.status + j.conclusion;
      if (auto pending = ctx_.queue->approvals().Pending(run_id); !pending.empty()) {
        auto decisions = ctx_.store->ListApprovals(run_id);
        signature += "|approvals " + std::to_string(decisions.ok() ? decisions->size() : 0);
      }
      for (const auto& j : jobs.ok() ? *jobs : std::vector<store::Job>{}) {
        auto lines = ctx_.store->ReadLog(j.id, seen[j.id], 5000);
        if (!lines.ok()) continue;
        for (const auto& l : *lines) {
          out += "event: log\ndata: " +
                 json{{"job_id", j.id}, {"job", j.name}, {"seq", l.seq}, {"step", l.step}, {"text", l.text}}.dump(
                     -1, ' ', false, json::error_handler_t::replace) +
                 "\n\n";
          seen[j.id] = l.seq;
        }
      }
      if (signature != last_status) {
        out += "event: status\ndata: " + status + "\n\n";
        last_status = signature;
      }
      if (!out.empty()) {
        if (!res.Write(out) || !res.Flush()) return;
        idle_since = std::chrono::steady_clock::now();
      } else if (completed) {
        return;
      } else if (std::chrono::steady_clock::now() - idle_since > std::chrono::seconds(15)) {
        if (!res.Write(": keep-alive\n\n") || !res.Flush()) return;  // also notices gone clients
        idle_since = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(completed ? 0 : 200));
    }
  }

  void CreateToken(http::Request& req, http::Response& res) {
    auto who = Auth(req, res, store::Role::kAdmin);
    if (!who) return;
    auto body = Body(req, res);
    if (!body) return;
    auto name = StringField(*body, "name");
    auto role_name = StringField(*body, "role", "viewer");
    if (!name.ok() || !role_name.ok()) return SendError(res, 400, !name.ok() ? name.error() : role_name.error());
    auto role = store::ParseRole(*role_name);
    if (!role || name->empty()) return SendError(res, 400, "body: need 'name' and 'role' (viewer|operator|admin)");
    auto token = ctx_.store->CreateToken(*name, *role);
    if (!token.ok()) return SendError(res, 503, token.error());
    Audit(*who, req, "token.create", *name, *role_name);
    SendJson(res, 201, json{{"name", *name}, {"role", *role_name}, {"token", *token}}.dump());
  }

  void ListAudit(http::Request& req, http::Response& res) {
    if (!Auth(req, res, store::Role::kAdmin)) return;
    auto list = ctx_.store->ListAudit(200);
    if (!list.ok()) return SendError(res, 503, list.error());
    json out = json::array();
    for (const auto& a : *list) {
      out.push_back({{"time_ms", a.time_ms},
                     {"actor", a.actor},
                     {"action", a.action},
                     {"target", a.target},
                     {"detail", a.detail},
                     {"remote", a.remote}});
    }
    SendJson(res, 200, json{{"audit", out}}.dump());
  }

  Context& ctx_;
};

}  // namespace

void MountApi(Context& ctx, http::Router& router) {
  auto api = std::make_shared<Api>(ctx);
  router.Mount("", "/api/v1/", [api](http::Request& req, http::Response& res) { api->Handle(req, res); });
}

}  // namespace gantry::server
