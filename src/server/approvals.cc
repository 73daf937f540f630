#include "server/approvals.h"

#include <algorithm>

#include "base/http_server.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/git_repo.h"
#include "server/json_body.h"
#include "server/store_sink.h"

namespace gantry::server {

using nlohmann::json;

void ApprovalBook::Hold(const PendingGate& gate) {
  std::lock_guard lock(mu_);
  gates_[gate.run_id][gate.job] = gate;
}

void ApprovalBook::Release(int64_t run_id, const std::string& job) {
  std::lock_guard lock(mu_);
  auto it = gates_.find(run_id);
  if (it == gates_.end()) return;
  it->second.erase(job);
  if (it->second.empty()) gates_.erase(it);
}

void ApprovalBook::ReleaseRun(int64_t run_id) {
  std::lock_guard lock(mu_);
  gates_.erase(run_id);
}

std::vector<PendingGate> ApprovalBook::Pending(int64_t run_id) const {
  std::lock_guard lock(mu_);
  std::vector<PendingGate> out;
  auto it = gates_.find(run_id);
  if (it == gates_.end()) return out;
  for (const auto& [job, gate] : it->second) out.push_back(gate);
  return out;
}

std::vector<PendingGate> ApprovalBook::All() const {
  std::lock_guard lock(mu_);
  std::vector<PendingGate> out;
  for (const auto& [run, gates] : gates_)
    for (const auto& [job, gate] : gates) out.push_back(gate);
  return out;
}

std::string DefaultBranchHead(const std::string& repo) {
  auto refs = ListRefs(repo);
  for (const char* ref : {"refs/heads/main", "refs/heads/master"}) {
    if (auto it = refs.find(ref); it != refs.end()) return it->second;
  }
  return "";
}

Result<std::map<std::string, deploy::EnvironmentSpec>> ProtectedEnvironments(const std::string& repo,
                                                                             const std::string& sha) {
  using R = Result<std::map<std::string, deploy::EnvironmentSpec>>;
  std::map<std::string, deploy::EnvironmentSpec> out;
  if (sha.empty()) return out;
  auto listing = Git({"--git-dir", repo, "ls-tree", "--name-only", sha, ".gantry/"});
  if (!listing.ok()) return out;  // no .gantry directory: nothing is protected
  std::vector<std::string> files;
  for (const auto& line : Split(*listing, '\n')) {
    if ((EndsWith(line, ".yml") || EndsWith(line, ".yaml")) && !EndsWith(line, "appspec.yml")) files.push_back(line);
  }
  if (files.size() > static_cast<size_t>(deploy::kMaxConfigFiles))
    return R::Error(".gantry: more than " + std::to_string(deploy::kMaxConfigFiles) + " files");
  deploy::ProjectConfig config;
  for (const auto& file : files) {
    auto text = ShowFile(repo, sha, file);
    if (!text.ok()) return R::Error(file + ": " + text.error());
    if (text->size() > deploy::kMaxConfigFileBytes)
      return R::Error(file + ": larger than " + std::to_string(deploy::kMaxConfigFileBytes) + " bytes");
    if (Status st = deploy::ParseConfigText(*text, file, &config); !st.ok()) return R::Error(st.message());
  }
  for (auto& [name, env] : config.environments) {
    if (env.required_approvals > 0 || !env.allowed_branches.empty()) out[name] = env;
  }
  return out;
}

std::string Rejection(const std::vector<store::Approval>& decisions, int64_t attempt, const std::string& environment,
                      std::set<std::string>* approvers) {
  for (const auto& d : decisions) {
    if (d.attempt != attempt || d.environment != environment) continue;
    if (d.decision == "rejected") return "rejected by " + d.user + (d.comment.empty() ? "" : ": " + d.comment);
    if (d.decision == "approved") approvers->insert(d.user);
  }
  return "";
}

ApprovalGate::ApprovalGate(store::Store& store, const store::Run& run, StoreSink& sink, ApprovalBook& book,
                           Options options)
    : store_(store), run_(run), sink_(sink), book_(book), options_(std::move(options)) {}

ApprovalGate::~ApprovalGate() {
  book_.ReleaseRun(run_.id);
  if (reported_waiting_ && options_.waiting) options_.waiting(false);
}

void ApprovalGate::ReportWaiting() {
  // Under the lock, so that the jobs of called workflows (other threads) report in order.
  std::lock_guard lock(mu_);
  const bool waiting = !held_.empty();
  if (waiting == reported_waiting_) return;
  reported_waiting_ = waiting;
  if (options_.waiting) options_.waiting(waiting);
}

void ApprovalGate::Resume(const std::string& job, int64_t job_id, int64_t since_ms) {
  std::lock_guard lock(mu_);
  PendingGate& g = held_[job];
  g.run_id = run_.id;
  g.job_id = job_id;
  g.job = job;
  g.since_ms = since_ms;
}

std::set<std::string> ApprovalGate::held() const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [job, gate] : held_) out.insert(job);
  return out;
}

engine::GateAnswer ApprovalGate::Check(const engine::JobRun& job, const std::string& environment) {
  using Kind = engine::GateAnswer::Kind;
  const std::string& name = job.display_name;
  auto release = [&](Kind kind, std::string message) {
    {
      std::lock_guard lock(mu_);
      auto it = held_.find(name);
      if (it != held_.end() && kind == Kind::kProceed) (void)store_.StartJob(it->second.job_id);
      held_.erase(name);
    }
    book_.Release(run_.id, name);
    ReportWaiting();
    if (kind == Kind::kFail) {  // the job's own log says why it did not run
      sink_.JobStarted(name, job.job->id, job.matrix.ToJson(false));
      sink_.Error(name, message);
    }
    return engine::GateAnswer{kind, std::move(message)};
  };
  if (!options_.rules_error.empty()) {
    return release(Kind::kFail, "the protection rules of environment '" + environment +
                                    "' could not be read from the default branch: " + options_.rules_error);
  }
  auto rule = options_.rules.find(environment);
  if (rule == options_.rules.end()) return release(Kind::kProceed, "");
  const deploy::EnvironmentSpec& spec = rule->second;
  const bool tag = StartsWith(run_.ref, "refs/tags/");
  std::string branch = run_.ref;
  for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
    if (StartsWith(branch, prefix)) branch = branch.substr(std::string_view(prefix).size());
  }
  if (!deploy::BranchAllowed(spec, branch)) {
    return release(Kind::kFail, std::string(tag ? "Tag " : "Branch ") + branch + " is not allowed to deploy to " +
                                    environment + " due to environment protection rules");
  }
  if (spec.required_approvals <= 0) return release(Kind::kProceed, "");

  auto decisions = store_.ListApprovals(run_.id);
  if (!decisions.ok()) return {Kind::kWait, ""};  // the store may come back; ask again
  std::set<std::string> approvers;
  std::string rejected = Rejection(*decisions, run_.attempt, environment, &approvers);
  if (!rejected.empty()) return release(Kind::kFail, rejected);
  if (static_cast<int>(approvers.size()) >= spec.required_approvals) return release(Kind::kProceed, "");

  PendingGate gate;
  bool announce = false;
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(name);
    if (it == held_.end()) {
      gate.run_id = run_.id;
      gate.job = name;
      gate.since_ms = store::NowMs();
      gate.job_id = sink_.JobStarted(name, job.job->id, job.matrix.ToJson(false), "waiting");
      announce = true;
      it = held_.emplace(name, gate).first;
    }
    it->second.environment = environment;
    it->second.required = spec.required_approvals;
    gate = it->second;
  }
  if (store::NowMs() - gate.since_ms > options_.timeout_ms) {
    const int64_t s = options_.timeout_ms / 1000;
    return release(Kind::kFail, "no approval for environment " + environment + " within " +
                                    (s % 86400 == 0 ? std::to_string(s / 86400) + " days" : std::to_string(s) + "s") +
                                    " (the server's --approval-timeout)");
  }
  book_.Hold(gate);
  ReportWaiting();
  if (announce && options_.notify) options_.notify(run_, gate);
  return {Kind::kWait, ""};
}

// GET /api/v1/runs/ID/approvals: the jobs waiting and every decision of the run.
// POST: {"environment": "production", "approve": true, "comment": "..."} by the token's user.
void RunApprovals(Context& ctx, ApprovalBook& book, http::Request& req, http::Response& res, int64_t run_id) {
  auto who = Authorize(ctx, req, res, req.method == "GET" ? store::Role::kViewer : store::Role::kOperator);
  if (!who) return;
  auto run = ctx.store->GetRun(run_id);
  if (!run.ok()) return SendError(res, 503, run.error());
  if (!run->has_value()) return SendError(res, 404, "no run " + std::to_string(run_id));
  const int64_t attempt = (*run)->attempt;
  auto decisions = ctx.store->ListApprovals(run_id);
  if (!decisions.ok()) return SendError(res, 503, decisions.error());
  std::vector<PendingGate> pending = book.Pending(run_id);
  auto count = [&](const std::string& environment) {
    std::set<std::string> approvers;
    (void)Rejection(*decisions, attempt, environment, &approvers);
    return static_cast<int>(approvers.size());
  };
  if (req.method == "GET") {
    json out{{"run", run_id}, {"attempt", attempt}, {"pending", json::array()}, {"approvals", json::array()}};
    for (const auto& g : pending) {
      out["pending"].push_back({{"job", g.job},
                                {"job_id", g.job_id},
                                {"environment", g.environment},
                                {"required", g.required},
                                {"approved", count(g.environment)},
                                {"since_ms", g.since_ms}});
    }
    for (const auto& d : *decisions) {
      out["approvals"].push_back({{"attempt", d.attempt},
                                  {"jobs", d.job},
                                  {"environment", d.environment},
                                  {"user", d.user},
                                  {"decision", d.decision},
                                  {"comment", d.comment},
                                  {"time_ms", d.time_ms}});
    }
    return SendJson(res, 200, out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (req.method != "POST") return SendError(res, 405, "use GET or POST on /api/v1/runs/ID/approvals");
  // A step's run token acts for the run itself: it must not approve its own deployment.
  if (who->id == 0) return SendError(res, 403, "a run's token cannot approve or reject");
  auto text = req.ReadAll(kMaxJsonBody);
  if (!text.ok()) return SendError(res, 413, text.error());
  auto body = ParseJsonBody(Trim(*text).empty() ? std::string_view("{}") : std::string_view(*text));
  if (!body.ok()) return SendError(res, 400, body.error());
  if (!body->is_object()) return SendError(res, 400, "body:1:1: expected a JSON object");
  auto environment = StringField(*body, "environment");
  auto comment = StringField(*body, "comment");
  if (!environment.ok() || !comment.ok())
    return SendError(res, 400, !environment.ok() ? environment.error() : comment.error());
  if (!body->contains("approve") || !(*body)["approve"].is_boolean())
    return SendError(res, 400, "'approve' must be true (approve) or false (reject)");
  if (comment->size() > 1000) return SendError(res, 400, "'comment' is longer than 1000 bytes");
  const bool approve = (*body)["approve"].get<bool>();
  std::set<std::string> waiting_for;
  for (const auto& g : pending) waiting_for.insert(g.environment);
  std::string env = *environment;
  if (env.empty()) {
    if (waiting_for.size() != 1) {
      return SendError(res, waiting_for.empty() ? 409 : 400,
                       waiting_for.empty() ? "run " + std::to_string(run_id) + " has no job waiting for approval"
                                           : "several environments wait: say which with 'environment'");
    }
    env = *waiting_for.begin();
  }
  if (!waiting_for.count(env))
    return SendError(res, 409, "run " + std::to_string(run_id) + " has no job waiting for environment '" + env + "'");
  std::set<std::string> approvers;
  std::string rejected = Rejection(*decisions, attempt, env, &approvers);
  if (!rejected.empty()) return SendError(res, 409, "already " + rejected);
  if (approve && approvers.count(who->name))
    return SendError(res, 409, who->name + " has already approved environment '" + env + "' in this run");
  store::Approval a;
  a.run_id = run_id;
  a.attempt = attempt;
  a.environment = env;
  a.user = who->name;
  a.decision = approve ? "approved" : "rejected";
  a.comment = *comment;
  std::vector<std::string> jobs;
  int required = 0;
  for (const auto& g : pending) {
    if (g.environment != env) continue;
    jobs.push_back(g.job);
    required = std::max(required, g.required);
  }
  a.job = Join(jobs, ", ");
  if (auto id = ctx.store->AddApproval(a); !id.ok()) return SendError(res, 503, id.error());
  (void)ctx.store->Audit(who->name, approve ? "run.approve" : "run.reject", std::to_string(run_id),
                         "environment " + env + (a.comment.empty() ? "" : ": " + a.comment), req.remote_addr);
  if (approve) approvers.insert(who->name);
  SendJson(res, 200,
           json{{"run", run_id},
                {"environment", env},
                {"decision", a.decision},
                {"user", a.user},
                {"approved", static_cast<int>(approvers.size())},
                {"required", required},
                {"jobs", jobs}}
               .dump(-1, ' ', false, json::error_handler_t::replace));
}

void PendingApprovals(Context& ctx, ApprovalBook& book, http::Request& req, http::Response& res) {
  if (!Authorize(ctx, req, res, store::Role::kViewer)) return;
  json out = json::array();
  std::map<int64_t, std::optional<store::Run>> runs;
  std::map<int64_t, std::vector<store::Approval>> decisions;
  for (const auto& g : book.All()) {
    if (!runs.count(g.run_id)) {
      auto r = ctx.store->GetRun(g.run_id);
      auto d = ctx.store->ListApprovals(g.run_id);
      runs[g.run_id] = r.ok() ? *r : std::nullopt;
      decisions[g.run_id] = d.ok() ? *d : std::vector<store::Approval>{};
    }
    const auto& run = runs[g.run_id];
    if (!run) continue;
    std::set<std::string> approvers;
    (void)Rejection(decisions[g.run_id], run->attempt, g.environment, &approvers);
    out.push_back({{"run", g.run_id},
                   {"project", run->project},
                   {"number", run->number},
                   {"title", run->title},
                   {"ref", run->ref},
                   {"job", g.job},
                   {"environment", g.environment},
                   {"required", g.required},
                   {"approved", approvers.size()},
                   {"since_ms", g.since_ms}});
  }
  SendJson(res, 200, json{{"pending", out}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace gantry::server
