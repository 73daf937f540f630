#include "server/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/fs.h"
#include "base/strings.h"
#include "expr/value.h"
#include "runner/masker.h"
#include "runner/runner.h"
#include "runner/store.h"
#include "server/called_workflows.h"
#include "server/git_repo.h"
#include "server/run_token.h"
#include "server/store_sink.h"
#include "workflow/reader.h"

extern char** environ;

namespace gantry::server {
namespace {

using expr::Value;

// The concurrency group with the few contexts known at queue time substituted.
std::string ConcurrencyGroup(const workflow::Workflow& wf, const TriggerRequest& req, bool* cancel_in_progress) {
  *cancel_in_progress = false;
  if (!wf.concurrency) return "";
  std::string group = wf.concurrency->group.value;
  std::string ref_name = req.ref.substr(req.ref.rfind('/') == std::string::npos ? 0 : req.ref.rfind('/') + 1);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{"github.ref_name", ref_name},
                                                                                 {"github.ref", req.ref},
                                                                                 {"github.workflow", wf.DisplayName()},
                                                                                 {"github.event_name", req.event},
                                                                                 {"github.sha", req.sha}}) {
    group = ReplaceAll(group, "${{ " + from + " }}", to);
    group = ReplaceAll(group, "${{" + from + "}}", to);
  }
  if (wf.concurrency->cancel_in_progress) *cancel_in_progress = wf.concurrency->cancel_in_progress->value == "true";
  return group;
}

int CronField(std::string_view field, int value, int lo, int hi) {
  for (const auto& part : Split(field, ',')) {
    std::string_view p = part;
    int step = 1;
    size_t slash = p.find('/');
    if (slash != std::string_view::npos) {
      step = std::atoi(std::string(p.substr(slash + 1)).c_str());
      if (step <= 0) return -1;
      p = p.substr(0, slash);
    }
    int a = lo, b = hi;
    if (p != "*") {
      size_t dash = p.find('-');
      if (p.empty() || p.find_first_not_of("0123456789-") != std::string_view::npos) return -1;
      a = std::atoi(std::string(p.substr(0, dash)).c_str());
      b = dash == std::string_view::npos ? (slash != std::string_view::npos ? hi : a)
                                         : std::atoi(std::string(p.substr(dash + 1)).c_str());
      if (a < lo || b > hi || a > b) return -1;
    }
    if (value >= a && value <= b && (value - a) % step == 0) return 1;
  }
  return 0;
}

}  // namespace

bool CronMatches(const std::string& cron, std::time_t t) {
  std::vector<std::string> f;
  for (const auto& part : Split(std::string(Trim(cron)), ' ')) {
    if (!part.empty()) f.push_back(part);
  }
  if (f.size() != 5) return false;
  std::tm tm{};
  gmtime_r(&t, &tm);
  int wday = tm.tm_wday;
  int r[5] = {CronField(f[0], tm.tm_min, 0, 59), CronField(f[1], tm.tm_hour, 0, 23), CronField(f[2], tm.tm_mday, 1, 31),
              CronField(f[3], tm.tm_mon + 1, 1, 12),
              std::max(CronField(f[4], wday, 0, 7), wday == 0 ? CronField(f[4], 7, 0, 7) : 0)};
  for (int v : r) {
    if (v != 1) return false;
  }
  return true;
}

RunQueue::RunQueue(store::Store& store, QueueOptions options) : store_(store), options_(std::move(options)) {}

RunQueue::~RunQueue() { Stop(0); }

std::string RunQueue::RepoPath(const std::string& project) const {
  return options_.data_dir + "/git/" + project + ".git";
}

Result<std::vector<store::Run>> RunQueue::Trigger(const store::Project& project, const TriggerRequest& req) {
  using R = Result<std::vector<store::Run>>;
  std::string repo = RepoPath(project.name);
  std::vector<std::string> files = WorkflowFiles(repo, req.sha);
  if (!req.workflow.empty()) {
    if (std::find(files.begin(), files.end(), req.workflow) == files.end()) {
      return R::Error("workflow '" + req.workflow + "' not found at " + req.sha.substr(0, 12));
    }
    files = {req.workflow};
  }
  engine::Event event;
  event.name = req.event;
  event.ref = req.ref;
  if (req.event == "push") event.changed_files = ChangedFiles(repo, req.before, req.sha);
  std::vector<store::Run> out;
  CommitSummary commit = DescribeCommit(repo, req.sha);
  for (const auto& file : files) {
    auto yaml = ShowFile(repo, req.sha, file);
    if (!yaml.ok()) continue;
    auto wf = workflow::ReadWorkflow(*yaml, file, CommitReadOptions(repo, req.sha));
    store::Run run;
    run.project_id = project.id;
    run.workflow = file;
    run.event = req.event;
    run.ref = req.ref;
    run.sha = req.sha;
    if (req.event == "push" && req.before.find_first_not_of('0') != std::string::npos) run.before = req.before;
    run.title = commit.title;
    run.author = commit.author;
    Value inputs = Value::Object();
    for (const auto& [k, v] : req.inputs) inputs.Set(k, Value::String(v));
    run.inputs_json = inputs.ToJson(false);
    bool cancel_in_progress = false;
    if (wf.ok()) {
      if (!engine::WorkflowMatches(*wf.workflow, event)) continue;
      run.workflow_name = wf.workflow->DisplayName();
      run.concurrency_group = ConcurrencyGroup(*wf.workflow, req, &cancel_in_progress);
    } else {
      // A broken workflow still gets a run, which fails with the reader's messages.
      run.workflow_name = file;
    }
    if (!run.concurrency_group.empty() && cancel_in_progress) {
      for (const char* status : {"queued", "running"}) {
        store::RunFilter f;
        f.project_id = project.id;
        f.status = status;
        f.limit = 1000;
        auto others = store_.ListRuns(f);
        if (!others.ok()) continue;
        for (const auto& other : *others) {
          if (other.concurrency_group == run.concurrency_group) {
            (void)Cancel(other.id, "cancelled: a newer run in concurrency group '" + run.concurrency_group + "'");
          }
        }
      }
    }
    auto created = store_.CreateRun(run);
    if (!created.ok()) return R::Error(created.error());
    out.push_back(*created);
  }
  cv_.notify_all();
  return out;
}

Status RunQueue::Cancel(int64_t run_id, const std::string& why) {
  auto run = store_.GetRun(run_id);
  if (!run.ok()) return run.status();
  if (!run->has_value()) return Status::Error("no run " + std::to_string(run_id));
  std::lock_guard lock(mu_);
  auto it = running_.find(run_id);
  if (it != running_.end()) {
    it->second.Cancel();
    return Status::Ok();
  }
  if ((*run)->status == "queued") {
    // A run queued to resume after a restart may have jobs waiting for approvals.
    if (auto jobs = store_.ListJobs(run_id); jobs.ok()) {
      for (const auto& j : *jobs) {
        if (j.status == "waiting") (void)store_.SetJobStatus(j.id, "completed", "cancelled", j.outputs_json);
      }
    }
    return store_.SetRunStatus(run_id, "completed", "cancelled", why);
  }
  return Status::Ok();  // already completed
}

Status RunQueue::Rerun(int64_t run_id, bool failed_only) {
  auto run = store_.GetRun(run_id);
  if (!run.ok()) return run.status();
  if (!run->has_value()) return Status::Error("no run " + std::to_string(run_id));
  if ((*run)->status != "completed") return Status::Error("run " + std::to_string(run_id) + " has not completed");
  std::string only;
  if (failed_only) {
    auto jobs = store_.ListJobs(run_id);
    if (!jobs.ok()) return jobs.status();
    std::set<std::string> keys;
    for (const auto& j : *jobs) {
      if (j.conclusion != "success" && j.conclusion != "skipped") keys.insert(j.job_key);
    }
    if (keys.empty() && !jobs->empty()) return Status::Error("run " + std::to_string(run_id) + " has no failed jobs");
    for (const auto& k : keys) only += (only.empty() ? "" : ",") + k;
  }
  if (auto st = store_.DeleteJobs(run_id, failed_only); !st.ok()) return st;
  if (auto st = store_.RequeueRun(run_id, only); !st.ok()) return st;
  cv_.notify_all();
  return Status::Ok();
}

int RunQueue::RecoverInterrupted() {
  store::RunFilter f;
  f.status = "running";
  f.limit = 1000;
  auto runs = store_.ListRuns(f);
  if (!runs.ok()) return 0;
  int marked = 0;
  for (const auto& run : *runs) {
    auto jobs = store_.ListJobs(run.id);
    bool waiting = false;
    if (jobs.ok()) {
      for (const auto& j : *jobs) waiting = waiting || j.status == "waiting";
      for (const auto& j : *jobs) {
        if (j.status != "completed" && j.status != "waiting")
          (void)store_.SetJobStatus(j.id, "completed", "failure", j.outputs_json);
      }
    }
    if (waiting) {
      (void)store_.SetRunStatus(run.id, "queued");
      continue;
    }
    (void)store_.SetRunStatus(run.id, "completed", "failure", "interrupted: the server stopped during this run");
    ++marked;
  }
  return marked;
}

std::optional<store::Run> RunQueue::Claim() {
  store::RunFilter f;
  f.status = "queued";
  f.limit = 1000;
  auto runs = store_.ListRuns(f);
  if (!runs.ok()) return std::nullopt;
  for (auto it = runs->rbegin(); it != runs->rend(); ++it) {  // oldest first
    if (running_.count(it->id)) continue;
    if (!it->concurrency_group.empty() && busy_groups_.count(it->concurrency_group)) continue;
    return *it;
  }
  return std::nullopt;
}

void RunQueue::Worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    // Runs waiting for approvals lend their slot (Lend): at most `slots` others run.
    auto run = running_.size() < static_cast<size_t>(std::max(1, options_.slots) + lent_) ? Claim() : std::nullopt;
    if (!run) {
      cv_.wait_for(lock, std::chrono::seconds(2));
      continue;
    }
    engine::CancelToken token;
    running_.emplace(run->id, token);
    if (!run->concurrency_group.empty()) busy_groups_.insert(run->concurrency_group);
    (void)store_.SetRunStatus(run->id, "running");
    lock.unlock();
    Execute(*run, token);
    lock.lock();
    running_.erase(run->id);
    if (!run->concurrency_group.empty()) busy_groups_.erase(run->concurrency_group);
    cv_.notify_all();
  }
}

void RunQueue::Execute(const store::Run& run, const engine::CancelToken& cancel) {
  auto finish = [&](const std::string& conclusion, const std::string& message) {
    // The end of a run is the one record that must land: a full disk or a busy database
    // can clear within seconds (logs of other runs get deleted, a checkpoint ends), so
    // retry with a doubling pause (~25 s in all) before giving up. A store that never
    // takes it leaves the run "running" until the next start's crash policy; say so.
    Status st = store_.SetRunStatus(run.id, "completed", conclusion, message);
    for (int pause_ms = 100; !st.ok() && pause_ms <= 12800; pause_ms *= 2) {
      std::fprintf(stderr, "run %lld: could not record its end (%s), retrying in %d ms: %s\n",
                   static_cast<long long>(run.id), conclusion.c_str(), pause_ms, st.message().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      st = store_.SetRunStatus(run.id, "completed", conclusion, message);
    }
    if (!st.ok())
      std::fprintf(stderr, "run %lld: could not record its end (%s): %s\n", static_cast<long long>(run.id),
                   conclusion.c_str(), st.message().c_str());
    if (run_observer_) run_observer_(run, "completed", conclusion, store::NowMs());
  };
  if (run_observer_) run_observer_(run, "started", "", store::NowMs());
  auto project = store_.GetProject(run.project_id);
  if (!project.ok() || !project->has_value()) return finish("failure", "project not found");
  std::string repo = RepoPath((*project)->name);
  auto yaml = ShowFile(repo, run.sha, run.workflow);
  if (!yaml.ok()) return finish("failure", yaml.error());
  auto rr = workflow::ReadWorkflow(*yaml, run.workflow, CommitReadOptions(repo, run.sha));
  if (!rr.ok()) return finish("failure", rr.ErrorText());
  const workflow::Workflow& wf = *rr.workflow;
  engine::PlanOptions popts;
  if (!run.rerun_jobs.empty()) popts.only_jobs = Split(run.rerun_jobs, ',');
  auto plan = engine::PlanWorkflow(wf, popts);
  if (!plan.ok()) return finish("failure", plan.error());
  plan->workflow = &wf;

  std::string work = options_.data_dir + "/work/run-" + std::to_string(run.id) + "-" + std::to_string(run.attempt);
  (void)RemoveAll(work);
  if (auto st = MakeDirs(work); !st.ok()) return finish("failure", st.message());
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)RemoveAll(dir); }
  } cleanup{work};
  std::string workspace = work + "/workspace";
  if (auto st = Checkout(repo, run.sha, workspace); !st.ok()) return finish("failure", st.message());

  runner::Masker masker;
  runner::RunnerOptions ro;
  auto secrets = store_.Secrets(run.project_id);
  if (secrets.ok()) ro.secrets = *secrets;
  for (const auto& [k, v] : ro.secrets) masker.Add(v);
  if (auto envs = store_.SecretEnvironments(run.project_id); envs.ok()) {
    for (const auto& env : *envs) {
      auto s = store_.Secrets(run.project_id, env);
      if (!s.ok()) continue;
      for (const auto& [k, v] : *s) masker.Add(v);
      ro.environment_secrets[env] = std::move(*s);
    }
  }
  auto inputs = Value::FromJson(run.inputs_json);
  Value inputs_value = inputs.ok() ? *inputs : Value::Object();
  for (const auto& t : wf.on) {
    for (const auto& in : t.inputs) {
      if (!in.default_value || inputs_value.Find(in.name)) continue;
      inputs_value.Set(in.name, engine::ToValue(*in.default_value));
    }
  }
  Value payload = Value::Object();
  payload.Set("ref", Value::String(run.ref));
  payload.Set("after", Value::String(run.sha));
  if (run.event == "push") {  // what workflows diff against, as in GitHub's push event
    payload.Set("before", Value::String(run.before.empty() ? std::string(40, '0') : run.before));
    payload.Set("created", Value::Bool(run.before.empty()));
    Value head = Value::Object();
    head.Set("id", Value::String(run.sha));
    head.Set("message", Value::String(run.title));
    Value author = Value::Object();
    author.Set("name", Value::String(run.author));
    head.Set("author", author);
    payload.Set("head_commit", head);
  }
  payload.Set("inputs", inputs_value);
  std::string event_file = work + "/event.json";
  (void)WriteFileAtomic(event_file, payload.ToJson());

  runner::RunInfo info;
  info.event_name = run.event;
  info.event = payload;
  info.event_path = event_file;
  info.sha = run.sha;
  info.ref = run.ref;
  info.repository = "gantry/" + (*project)->name;
  info.workflow = wf.DisplayName();
  info.workspace = workspace;
  info.run_id = run.id;
  info.run_number = run.number;
  info.server_url = options_.server_url;

  ro.workspace = workspace;
  ro.repository = workspace;
  ro.temp_root = work;
  ro.tool_cache = options_.data_dir + "/tool-cache";
  ro.event_path = event_file;
  ro.masker = &masker;
  for (char** e = environ; *e != nullptr; ++e) {
    // The server's own credentials never reach workflow steps.
    if (StartsWith(*e, "GANTRY_ADMIN_TOKEN=") || StartsWith(*e, "GANTRY_TOKEN=") || StartsWith(*e, "GANTRY_URL="))
      continue;
    ro.host_env.emplace_back(*e);
  }
  // Steps reach this server with a token valid while the run runs (gantry/deploy, the CLI).
  const std::string run_token = MakeRunToken(options_.data_dir, run.id);
  masker.Add(run_token);
  ro.host_env.push_back("GANTRY_URL=" + options_.server_url);
  ro.host_env.push_back("GANTRY_TOKEN=" + run_token);
  RunServices services;
  if (run_services_) services = run_services_(run);
  std::shared_ptr<runner::ActionStore> action_store = services.store;
  if (!action_store) action_store = runner::MakeLocalStore(options_.data_dir + "/artifacts");
  ro.store = action_store.get();
  for (auto& e : services.env) ro.host_env.push_back(std::move(e));
  (void)MakeDirs(ro.tool_cache);
  StoreSink sink(store_, run.id);
  ro.sink = &sink;

  // Protected environments: the rules come from the default branch, as GitHub's live in the
  // repository's settings, so a branch cannot lift them by editing its own .gantry files.
  ApprovalGate::Options gate_options;
  if (std::any_of(wf.jobs.begin(), wf.jobs.end(), [](const workflow::Job& j) { return j.environment || j.uses; })) {
    auto rules = ProtectedEnvironments(repo, DefaultBranchHead(repo));
    if (rules.ok()) {
      gate_options.rules = std::move(*rules);
    } else {
      gate_options.rules_error = rules.error();
    }
  }
  gate_options.timeout_ms = options_.approval_timeout_ms;
  gate_options.notify = notify_approval_;
  gate_options.waiting = [this](bool waiting) { Lend(waiting); };
  ApprovalGate gate(store_, run, sink, approvals_, std::move(gate_options));
  ro.gate = &gate;
  // A run resumed after a restart (its job waited for approvals): the jobs that finished
  // keep their results and rows; the waiting job waits again, under its row.
  std::map<std::string, engine::CompletedJob> completed;
  if (auto rows = store_.ListJobs(run.id); rows.ok()) {
    std::set<std::string> unfinished;
    for (const auto& j : *rows) {
      if (j.status != "completed") unfinished.insert(j.job_key);
      if (j.status == "waiting") {
        sink.Adopt(j.name, j.id);
        gate.Resume(j.name, j.id, j.started_ms);
      }
    }
    if (!unfinished.empty()) {
      std::map<std::string, std::set<std::string>> conclusions;  // by job id
      for (const auto& j : *rows) {
        // Jobs of called workflows ("caller / job") are summed up by their caller's rows.
        if (unfinished.count(j.job_key) || j.name.find(" / ") != std::string::npos) continue;
        conclusions[j.job_key].insert(j.conclusion);
        auto outputs = Value::FromJson(j.outputs_json);
        if (!outputs.ok() || !outputs->is_object()) continue;
        for (const auto& [k, v] : outputs->entries()) completed[j.job_key].outputs[k] = v.ToDisplayString();
      }
      for (const auto& [key, seen] : conclusions) {
        engine::CompletedJob& c = completed[key];
        c.result = seen.count("failure")                       ? engine::JobResult::kFailure
                   : seen.count("cancelled")                   ? engine::JobResult::kCancelled
                   : seen.size() == 1 && seen.count("skipped") ? engine::JobResult::kSkipped
                                                               : engine::JobResult::kSuccess;
      }
    }
  }

  engine::SchedulerOptions so;
  so.parallel = 2;
  so.github = runner::BuildGithubContext(info);
  so.inputs = inputs_value;
  so.vars = Value::Object();
  so.cancel = cancel;
  so.gate = &gate;
  so.gate_poll = options_.approval_poll;
  so.completed = std::move(completed);
  std::mutex started_mu;
  std::set<std::string> started;
  so.observer.job_started = [&](const engine::JobRun& r) {
    {
      std::lock_guard lock(started_mu);
      started.insert(r.display_name);
    }
    sink.JobStarted(r.display_name, r.job->id, r.matrix.ToJson(false));
  };
  so.observer.job_finished = [&](const engine::JobRun& r, const engine::JobOutcome& o) {
    if (suspending_ && o.result == engine::JobResult::kCancelled && !gate.held().empty()) {
      // The server stops while jobs wait for approvals: a job that never started keeps no
      // record (a waiting one keeps waiting), so the next start resumes the run with it.
      std::lock_guard lock(started_mu);
      if (!started.count(r.display_name)) return;
    }
    int64_t id = sink.JobStarted(r.display_name, r.job->id, r.matrix.ToJson(false));
    Value outputs = Value::Object();
    for (const auto& [k, v] : o.outputs) outputs.Set(k, Value::String(v));
    sink.Flush();
    (void)store_.SetJobStatus(id, "completed", engine::ResultName(o.result), outputs.ToJson(false));
  };
  std::string errors;
  so.observer.error = [&](const std::string& m) { errors += masker.Mask(m) + "\n"; };
  ro.observer = so.observer;  // jobs of called (reusable) workflows are recorded too
  runner::Runner runner(ro);
  engine::Scheduler scheduler(runner, so);
  engine::RunSummary summary = scheduler.Run({*plan});
  sink.Flush();
  if (suspending_ && !gate.held().empty()) {
    // Left "running" with its waiting jobs: the next start's crash policy queues it again.
    std::fprintf(stderr, "run %lld: stopped while jobs wait for approval; it resumes on the next start\n",
                 static_cast<long long>(run.id));
    return;
  }
  std::string conclusion = cancel.cancelled() || summary.cancelled ? "cancelled"
                           : summary.success                       ? "success"
                                                                   : "failure";
  if (std::string lost = sink.write_error(); !lost.empty()) {
    conclusion = "failure";
    errors += "log lines could not be stored (is the disk full?): " + lost + "\n";
  }
  finish(conclusion, std::string(Trim(errors)));
}

void RunQueue::CheckSchedules(std::time_t now) {
  auto projects = store_.ListProjects();
  if (!projects.ok()) return;
  for (const auto& p : *projects) {
    std::string repo = RepoPath(p.name);
    auto refs = ListRefs(repo);
    auto head = refs.find("refs/heads/main");
    if (head == refs.end()) head = refs.find("refs/heads/master");
    if (head == refs.end()) continue;
    for (const auto& file : WorkflowFiles(repo, head->second)) {
      auto yaml = ShowFile(repo, head->second, file);
      if (!yaml.ok()) continue;
      auto wf = workflow::ReadWorkflow(*yaml, file, CommitReadOptions(repo, head->second));
      if (!wf.ok()) continue;
      const workflow::Trigger* t = wf.workflow->FindTrigger("schedule");
      if (t == nullptr) continue;
      bool due = false;
      for (const auto& cron : t->crons) due |= CronMatches(cron, now);
      if (!due) continue;
      TriggerRequest req;
      req.event = "schedule";
      req.ref = head->first;
      req.sha = head->second;
      req.workflow = file;
      (void)Trigger(p, req);
    }
  }
}

void RunQueue::Start(int schedule_interval_s) {
  std::lock_guard lock(mu_);
  stopping_ = false;
  suspending_ = false;
  for (int i = 0; i < std::max(1, options_.slots); ++i) workers_.emplace_back(&RunQueue::Worker, this);
  scheduler_ = std::thread([this, schedule_interval_s] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::seconds(std::max(1, schedule_interval_s)));
      if (stopping_) break;
      std::time_t minute = std::time(nullptr) / 60 * 60;
      if (minute == last_schedule_minute_) continue;
      last_schedule_minute_ = minute;
      lock.unlock();
      CheckSchedules(minute);
      if (options_.retention_days > 0) {
        (void)store_.DeleteRunsFinishedBefore(store::NowMs() - int64_t{options_.retention_days} * 86400000);
      }
      lock.lock();
    }
  });
}

void RunQueue::Stop(int grace_ms) {
  {
    std::unique_lock lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    suspending_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::milliseconds(grace_ms), [&] { return running_.empty(); });
    for (auto& [id, token] : running_) token.Cancel();
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (scheduler_.joinable()) scheduler_.join();
}

void RunQueue::Lend(bool waiting) {
  std::lock_guard lock(mu_);
  lent_ += waiting ? 1 : -1;
  if (waiting && !stopping_ && workers_.size() < static_cast<size_t>(std::max(1, options_.slots) + lent_)) {
    workers_.emplace_back(&RunQueue::Worker, this);
  }
  cv_.notify_all();
}

size_t RunQueue::running() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

}  // namespace gantry::server
