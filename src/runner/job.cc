#include "runner/job.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::runner {

using expr::Value;

const char* ConclusionName(StepConclusion c) {
  switch (c) {
    case StepConclusion::kSuccess:
      return "success";
    case StepConclusion::kFailure:
      return "failure";
    case StepConclusion::kCancelled:
      return "cancelled";
    case StepConclusion::kSkipped:
      return "skipped";
  }
  return "failure";
}

namespace {

std::string Str(const Value& obj, const char* key) {
  const Value* v = obj.Find(key);
  return v == nullptr ? std::string() : v->ToDisplayString();
}

Value ToObject(const EnvMap& m) {
  Value v = Value::Object();
  for (const auto& [k, val] : m) v.Set(k, Value::String(val));
  return v;
}

// Names the runner sets itself; a copy inherited from the host would be misleading.
bool RunnerOwned(std::string_view name) {
  return StartsWith(name, "GITHUB_") || StartsWith(name, "RUNNER_") || StartsWith(name, "INPUT_") ||
         StartsWith(name, "STATE_") || name == "CI" || name == "PATH" || name == "ACTIONS_STEP_DEBUG";
}

}  // namespace

Value BuildGithubContext(const RunInfo& info) {
  Value g = Value::Object();
  auto set = [&](const char* k, const std::string& v) { g.Set(k, Value::String(v)); };
  set("event_name", info.event_name);
  g.Set("event", info.event);
  set("event_path", info.event_path);
  set("sha", info.sha);
  set("ref", info.ref);
  std::string ref_name = info.ref;
  std::string ref_type;
  if (StartsWith(ref_name, "refs/heads/")) {
    ref_name = ref_name.substr(11);
    ref_type = "branch";
  } else if (StartsWith(ref_name, "refs/tags/")) {
    ref_name = ref_name.substr(10);
    ref_type = "tag";
  }
  set("ref_name", ref_name);
  set("ref_type", ref_type);
  set("base_ref", info.base_ref);
  set("head_ref", info.head_ref);
  set("repository", info.repository);
  set("repository_owner", info.repository.substr(0, info.repository.find('/')));
  set("actor", info.actor);
  set("triggering_actor", info.actor);
  set("workflow", info.workflow);
  set("workflow_ref", info.workflow_ref);
  set("workspace", info.workspace);
  set("run_id", std::to_string(info.run_id));
  set("run_number", std::to_string(info.run_number));
  set("run_attempt", "1");
  set("retention_days", "90");
  set("server_url", info.server_url);
  set("api_url", info.server_url + "/api/v3");
  set("graphql_url", info.server_url + "/api/graphql");
  set("token", "");
  set("action", "");
  set("action_path", "");
  set("job", "");
  return g;
}

Job::Job(const RunnerOptions& options, const engine::JobRun& run, long long serial)
    : opts_(options), run_(run), serial_(serial) {}

void Job::Error(const std::string& message) { opts_.sink->Error(name(), opts_.masker->Mask(message)); }

Result<std::string> Job::Eval(const std::string& text, const expr::EvalContext& ctx) const {
  if (!expr::ContainsExpression(text)) return text;
  auto t = expr::ParseTemplate(text);
  if (!t.ok()) return Result<std::string>::Error(t.error());
  return t->EvaluateToString(ctx);
}

Result<Value> Job::EvalValue(const std::string& text, const expr::EvalContext& ctx) const {
  if (!expr::ContainsExpression(text)) return Value::String(text);
  auto t = expr::ParseTemplate(text);
  if (!t.ok()) return Result<Value>::Error(t.error());
  return t->Evaluate(ctx);
}

Status Job::EvalMap(const workflow::TextMap& map, expr::EvalContext& ctx, const std::string& what,
                    const std::function<void(const std::string&, std::string)>& set, const std::string& file) const {
  for (const auto& [k, t] : map) {
    std::string where = !file.empty() && t.mark.line > 0
                            ? file + ":" + std::to_string(t.mark.line) + ":" + std::to_string(t.mark.column) + ": "
                            : std::string();
    if (k == workflow::kInsertKey) {
      auto v = EvalValue(t.value, ctx);
      if (!v.ok()) return Status::Error(where + what + ": " + v.error());
      if (v->is_null()) continue;
      if (!v->is_object())
        return Status::Error(where + what + ": the inserted value must be a mapping, got '" + v->ToDisplayString() +
                             "'");
      for (const auto& [ik, iv] : v->entries()) set(ik, iv.ToDisplayString());
      continue;
    }
    auto v = Eval(t.value, ctx);
    if (!v.ok()) return Status::Error(where + what + "." + k + ": " + v.error());
    set(k, std::move(*v));
  }
  return Status::Ok();
}

expr::EvalContext Job::Context(const Scope& scope, const EnvMap& env) const {
  expr::EvalContext ctx;
  ctx.contexts = base_contexts_;
  ctx.contexts.Set("env", ToObject(env));
  ctx.contexts.Set("steps", scope.steps);
  ctx.contexts.Set("inputs", scope.inputs.is_null() ? run_.inputs : scope.inputs);
  if (!scope.action_path.empty()) {
    Value g = *base_contexts_.Find("github");
    g.Set("action_path", Value::String(scope.action_path));
    g.Set("action_repository", Value::String(scope.action_repository));
    ctx.contexts.Set("github", g);
  }
  ctx.status = scope.status;
  if (scope.status != expr::JobStatus::kSuccess) {  // job.status follows the steps so far
    Value job = *base_contexts_.Find("job");
    job.Set("status", Value::String(scope.status == expr::JobStatus::kFailure ? "failure" : "cancelled"));
    ctx.contexts.Set("job", job);
  }
  ctx.workspace = opts_.workspace;
  return ctx;
}

void Job::BuildDefaults() {
  const Value& g = run_.github;
  std::string job_id = run_.job->id;
  auto add = [&](const char* k, std::string v) { defaults_.emplace_back(k, std::move(v)); };
  add("CI", "true");
  add("GITHUB_ACTIONS", "true");
  add("GITHUB_WORKSPACE", opts_.workspace);
  add("GITHUB_SHA", Str(g, "sha"));
  add("GITHUB_REF", Str(g, "ref"));
  add("GITHUB_REF_NAME", Str(g, "ref_name"));
  add("GITHUB_REF_TYPE", Str(g, "ref_type"));
  add("GITHUB_BASE_REF", Str(g, "base_ref"));
  add("GITHUB_HEAD_REF", Str(g, "head_ref"));
  add("GITHUB_EVENT_NAME", Str(g, "event_name"));
  add("GITHUB_EVENT_PATH", opts_.event_path);
  add("GITHUB_REPOSITORY", Str(g, "repository"));
  add("GITHUB_REPOSITORY_OWNER", Str(g, "repository_owner"));
  add("GITHUB_RUN_ID", Str(g, "run_id"));
  add("GITHUB_RUN_NUMBER", Str(g, "run_number"));
  add("GITHUB_RUN_ATTEMPT", Str(g, "run_attempt"));
  add("GITHUB_ACTOR", Str(g, "actor"));
  add("GITHUB_TRIGGERING_ACTOR", Str(g, "actor"));
  add("GITHUB_WORKFLOW", Str(g, "workflow"));
  add("GITHUB_WORKFLOW_REF", Str(g, "workflow_ref"));
  add("GITHUB_JOB", job_id);
  add("GITHUB_SERVER_URL", Str(g, "server_url"));
  add("GITHUB_API_URL", Str(g, "api_url"));
  add("GITHUB_GRAPHQL_URL", Str(g, "graphql_url"));
  add("GITHUB_RETENTION_DAYS", "90");
  add("RUNNER_OS", "Linux");
  add("RUNNER_ARCH", "X64");
  add("RUNNER_NAME", "gantry");
  add("RUNNER_ENVIRONMENT", "self-hosted");
  add("RUNNER_TEMP", temp_dir_);
  add("RUNNER_TOOL_CACHE", opts_.tool_cache);
  add("RUNNER_WORKSPACE", opts_.workspace.substr(0, opts_.workspace.rfind('/')));
  if (opts_.debug) add("RUNNER_DEBUG", "1");
  static const char* kFiles[5] = {"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"};
  for (int i = 0; i < 5; ++i) {
    files_[i] = files_dir_ + "/" + ToLower(kFiles[i]);
    add(kFiles[i], files_[i]);
  }
  for (const auto& e : opts_.host_env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    std::string_view name(e.data(), eq);
    if (name == "PATH") host_path_ = e.substr(eq + 1);
    if (!RunnerOwned(name)) host_env_.push_back(e);
  }
  if (host_path_.empty()) host_path_ = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

std::vector<std::string> Job::ProcessEnv(const EnvMap& env, const ScriptRequest& req) const {
  std::vector<std::string> out;
  out.reserve(host_env_.size() + defaults_.size() + env.size() + 4);
  // The step's env wins over everything; skip host/default entries it overrides.
  for (const auto& e : host_env_) {
    size_t eq = e.find('=');
    if (env.count(e.substr(0, eq)) == 0) out.push_back(e);
  }
  for (const auto& [k, v] : defaults_) {
    if (env.count(k) == 0) out.push_back(k + "=" + v);
  }
  out.push_back("GITHUB_ACTION=" + req.action_name);
  if (!req.action_path.empty()) out.push_back("GITHUB_ACTION_PATH=" + req.action_path);
  std::string path;
  for (const auto& [k, v] : env) {
    if (k == "PATH") {
      path = v;
      continue;
    }
    out.push_back(k + "=" + v);
  }
  if (path.empty()) path = host_path_;
  std::string full;
  for (const auto& p : added_path_) full += p + ":";
  out.push_back("PATH=" + full + path);
  return out;
}

long long Job::RemainingMs() const {
  if (!has_deadline_) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
  return std::max<long long>(1, left.count());
}

Result<const ActionMetadata*> Job::Action(const std::string& dir) {
  auto it = actions_.find(dir);
  if (it != actions_.end()) return static_cast<const ActionMetadata*>(it->second.get());
  auto md = LoadAction(dir);
  if (!md.ok()) return Result<const ActionMetadata*>::Error(md.error());
  auto owned = std::make_unique<ActionMetadata>(std::move(*md));
  const ActionMetadata* p = owned.get();
  actions_[dir] = std::move(owned);
  return p;
}

void Job::RunStep(const workflow::Step& step, Scope& scope, const std::string& default_shell,
                  const std::string& default_workdir) {
  auto started = std::chrono::steady_clock::now();
  // The env the step sees: job env < GITHUB_ENV < enclosing composite step < step env.
  EnvMap env = job_env_;
  for (const auto& [k, v] : added_env_) env[k] = v;
  for (const auto& [k, v] : scope.env) env[k] = v;
  // After a cancel (or the job's timeout-minutes) the job's status is cancelled: only steps
  // whose `if:` holds then (always(), cancelled()) run, as on GitHub.
  if (JobTimedOut()) job_timed_out_ = true;
  after_cancel_ = cancel_.cancelled() || job_timed_out_;
  if (after_cancel_) scope.status = expr::JobStatus::kCancelled;
  expr::EvalContext ctx = Context(scope, env);

  std::string display;
  if (step.name) {
    auto n = Eval(step.name->value, ctx);
    display = n.ok() ? *n : step.name->value;
  } else if (step.run) {
    std::string first = step.run->value.substr(0, step.run->value.find('\n'));
    display = "Run " + std::string(Trim(first));
  } else if (step.uses) {
    display = "Run " + *step.uses;
  }
  display = opts_.masker->Mask(display);

  Value record = Value::Object();
  auto finish = [&](StepConclusion outcome, StepConclusion conclusion, const std::map<std::string, std::string>& outs) {
    Value o = Value::Object();
    for (const auto& [k, v] : outs) o.Set(k, Value::String(v));
    record.Set("outputs", o);
    record.Set("outcome", Value::String(ConclusionName(outcome)));
    record.Set("conclusion", Value::String(ConclusionName(conclusion)));
    scope.steps.Set(step.id, record);
    if (conclusion == StepConclusion::kFailure && scope.status == expr::JobStatus::kSuccess)
      scope.status = expr::JobStatus::kFailure;
    if (conclusion == StepConclusion::kCancelled) scope.status = expr::JobStatus::kCancelled;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (outcome != StepConclusion::kSkipped || conclusion != StepConclusion::kSkipped)
      opts_.sink->StepFinished(name(), display, outcome, conclusion, secs);
  };

  auto cond = expr::ParseCondition(step.condition.value.empty() ? "success()" : step.condition.value);
  if (!cond.ok()) {
    Error(display + ": if: " + cond.error());
    finish(StepConclusion::kFailure, StepConclusion::kFailure, {});
    return;
  }
  auto take = cond->Evaluate(ctx);
  if (!take.ok()) {
    Error(display + ": if: " + take.error());
    finish(StepConclusion::kFailure, StepConclusion::kFailure, {});
    return;
  }
  if (!take->Truthy()) {
    finish(StepConclusion::kSkipped, StepConclusion::kSkipped, {});
    return;
  }
  opts_.sink->StepStarted(name(), display);

  // The step's own env, each value evaluated with the env so far.
  ctx.contexts.Set("env", ToObject(env));
  if (Status st = EvalMap(step.env, ctx, "env",
                          [&](const std::string& k, std::string v) {
                            env[k] = std::move(v);
                            ctx.contexts.Set("env", ToObject(env));
                          });
      !st.ok()) {
    Error(display + ": " + st.message());
    finish(StepConclusion::kFailure, StepConclusion::kFailure, {});
    return;
  }

  bool continue_on_error = false;
  if (step.continue_on_error) {
    auto v = EvalValue(step.continue_on_error->value, ctx);
    continue_on_error = v.ok() && (v->is_string() ? v->string_value() == "true" : v->Truthy());
  }
  long long timeout_ms = 0;
  if (step.timeout_minutes) {
    auto v = EvalValue(step.timeout_minutes->value, ctx);
    double minutes = v.ok() ? v->ToNumber() : NAN;
    if (std::isfinite(minutes) && minutes > 0) timeout_ms = static_cast<long long>(minutes * 60000);
  }
  if (after_cancel_) {
    // GitHub's cancel-timeout-minutes bounds what runs after a cancel; a second Ctrl-C stops it.
    if (timeout_ms == 0 || opts_.cancel_timeout_ms < timeout_ms) timeout_ms = opts_.cancel_timeout_ms;
  } else {
    long long job_left = RemainingMs();
    if (job_left > 0 && (timeout_ms == 0 || job_left < timeout_ms)) timeout_ms = job_left;
  }

  StepRun r = step.run ? RunRunStep(step, scope, env, ctx, default_shell, default_workdir, timeout_ms)
                       : RunUsesStep(step, scope, env, ctx, timeout_ms);
  StepConclusion conclusion = r.outcome;
  if (r.outcome == StepConclusion::kFailure && continue_on_error) conclusion = StepConclusion::kSuccess;
  finish(r.outcome, conclusion, r.outputs);
}

StepRun Job::RunRunStep(const workflow::Step& step, Scope& scope, const EnvMap& env, const expr::EvalContext& ctx,
                        const std::string& default_shell, const std::string& default_workdir, long long timeout_ms) {
  StepRun r;
  auto fail = [&](const std::string& msg) {
    Error(msg);
    r.outcome = StepConclusion::kFailure;
    return r;
  };
  auto script = Eval(step.run->value, ctx);
  if (!script.ok()) return fail("run: " + script.error());
  std::string shell_text = default_shell;
  if (step.shell) {
    auto s = Eval(step.shell->value, ctx);
    if (!s.ok()) return fail("shell: " + s.error());
    shell_text = *s;
  }
  auto path_it = env.find("PATH");
  std::string path_list;
  for (const auto& p : added_path_) path_list += p + ":";
  path_list += path_it != env.end() ? path_it->second : host_path_;
  auto shell = ResolveShell(shell_text, path_list);
  if (!shell.ok()) return fail(shell.error());
  std::string workdir = default_workdir;
  if (step.working_directory) {
    auto w = Eval(step.working_directory->value, ctx);
    if (!w.ok()) return fail("working-directory: " + w.error());
    workdir = *w;
  }
  std::string cwd = workdir.empty() ? opts_.workspace : (workdir[0] == '/' ? workdir : opts_.workspace + "/" + workdir);

  std::string file = temp_dir_ + "/step-" + std::to_string(++script_counter_) + shell->extension;
  // A plain write: the file lives only for this step, so no fsync/rename is needed.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot write " + file + ": " + std::strerror(errno));
  std::string_view body = *script;
  while (!body.empty()) {
    ssize_t n = ::write(fd, body.data(), body.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    body.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
  if (!body.empty()) return fail("cannot write " + file + ": " + std::strerror(errno));
  ScriptRequest req;
  req.argv = shell->Build(file);
  req.env = env;
  req.cwd = cwd;
  req.action_name = step.id;
  req.action_path = scope.action_path;
  req.timeout_ms = timeout_ms;
  r.outcome = RunScript(req, &r.outputs);
  ::unlink(file.c_str());
  return r;
}

void Job::RunPosts() {
  for (auto it = posts_.rbegin(); it != posts_.rend(); ++it) {
    PostStep& post = *it;
    Scope scope;
    scope.status = run_status_;
    EnvMap env = job_env_;
    for (const auto& [k, v] : added_env_) env[k] = v;
    if (JobTimedOut()) job_timed_out_ = true;
    after_cancel_ = cancel_.cancelled() || job_timed_out_;
    if (after_cancel_) scope.status = expr::JobStatus::kCancelled;
    auto ctx = Context(scope, env);
    auto cond = expr::ParseCondition(post.condition);
    if (!cond.ok()) continue;
    auto take = cond->Evaluate(ctx);
    if (!take.ok() || !take->Truthy()) continue;
    auto started = std::chrono::steady_clock::now();
    opts_.sink->StepStarted(name(), post.display);
    StepConclusion c;
    if (post.builtin) {
      c = post.builtin();
    } else {
      ScriptRequest req;
      req.argv = post.argv;
      req.env = post.env;
      for (const auto& [k, v] : added_env_) req.env.try_emplace(k, v);
      for (const auto& [k, v] : post.state) req.env["STATE_" + k] = v;
      req.cwd = opts_.workspace;
      req.action_path = post.action_path;
      req.timeout_ms = after_cancel_ ? opts_.cancel_timeout_ms : RemainingMs();
      std::map<std::string, std::string> ignored;
      c = RunScript(req, &ignored);
    }
    if (c == StepConclusion::kFailure && run_status_ == expr::JobStatus::kSuccess)
      run_status_ = expr::JobStatus::kFailure;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    opts_.sink->StepFinished(name(), post.display, c, c, secs);
  }
}

engine::JobOutcome Job::Run(const engine::CancelToken& token) {
  engine::JobOutcome outcome;
  int cb = token.OnCancel([this] { cancel_.Cancel(); });
  int force_cb = opts_.force_cancel.OnCancel([this] {
    cancel_.Cancel();
    force_.Cancel();
  });
  struct Forget {
    const engine::CancelToken& t;
    int id;
    ~Forget() { t.Forget(id); }
  } forget{token, cb}, forget_force{opts_.force_cancel, force_cb};
  const workflow::Job& job = *run_.job;
  const workflow::Workflow& wf = *run_.workflow;

  temp_dir_ = opts_.temp_root + "/" + job.id + "-" + std::to_string(serial_);
  files_dir_ = temp_dir_ + "/_runner_file_commands";
  if (auto st = MakeDirs(files_dir_); !st.ok()) {
    Error(st.message());
    outcome.result = engine::JobResult::kFailure;
    return outcome;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() { RemoveAll(dir); }
  } cleanup{temp_dir_};
  BuildDefaults();

  Value github = run_.github.is_object() ? run_.github : Value::Object();
  github.Set("job", Value::String(job.id));
  github.Set("workspace", Value::String(opts_.workspace));
  github.Set("event_path", Value::String(opts_.event_path));
  Value secrets = Value::Object();
  for (const auto& [k, v] : opts_.secrets) secrets.Set(k, Value::String(v));
  secrets.Set("GITHUB_TOKEN", Value::String(""));
  Value runner = Value::Object();
  runner.Set("os", Value::String("Linux"));
  runner.Set("arch", Value::String("X64"));
  runner.Set("name", Value::String("gantry"));
  runner.Set("environment", Value::String("self-hosted"));
  runner.Set("temp", Value::String(temp_dir_));
  runner.Set("tool_cache", Value::String(opts_.tool_cache));
  runner.Set("workspace", Value::String(opts_.workspace.substr(0, opts_.workspace.rfind('/'))));
  runner.Set("debug", Value::String(opts_.debug ? "1" : ""));
  Value job_ctx = Value::Object();
  job_ctx.Set("status", Value::String("success"));
  job_ctx.Set("container", Value::Object());
  job_ctx.Set("services", Value::Object());
  base_contexts_ = Value::Object();
  base_contexts_.Set("github", github);
  base_contexts_.Set("vars", run_.vars.is_null() ? Value::Object() : run_.vars);
  base_contexts_.Set("secrets", secrets);
  base_contexts_.Set("strategy", run_.strategy.is_null() ? Value::Object() : run_.strategy);
  base_contexts_.Set("matrix", run_.matrix.is_null() ? Value::Object() : run_.matrix);
  base_contexts_.Set("needs", run_.needs.is_null() ? Value::Object() : run_.needs);
  base_contexts_.Set("runner", runner);
  base_contexts_.Set("job", job_ctx);

  Scope root;
  auto fail_job = [&](const std::string& msg) {
    Error(msg);
    outcome.result = engine::JobResult::kFailure;
    return outcome;
  };

  // A job's environment brings its own secrets, over the project's (before `env:`, which may
  // read secrets). The name may be an expression (matrix, inputs, needs, vars).
  if (job.environment && !opts_.environment_secrets.empty()) {
    auto name = Eval(job.environment->name.value, Context(root, job_env_));
    if (!name.ok()) return fail_job("environment: " + name.error());
    if (auto it = opts_.environment_secrets.find(*name); it != opts_.environment_secrets.end()) {
      Value merged = *base_contexts_.Find("secrets");
      for (const auto& [k, v] : it->second) merged.Set(k, Value::String(v));
      base_contexts_.Set("secrets", merged);
    }
  }

  // env: workflow, then job, each value seeing the ones before it.
  for (const workflow::TextMap* m : {&wf.env, &job.env}) {
    auto ectx = Context(root, job_env_);
    Status st = EvalMap(
        *m, ectx, "env",
        [&](const std::string& k, std::string v) {
          job_env_[k] = std::move(v);
          ectx.contexts.Set("env", ToObject(job_env_));
        },
        wf.file);
    if (!st.ok()) return fail_job(st.message());
  }
  auto ctx = Context(root, job_env_);

  // Executor from the runs-on labels.
  std::string executor_name = opts_.default_executor;
  for (const auto& label : job.runs_on) {
    auto v = EvalValue(label.value, ctx);
    if (!v.ok()) continue;
    std::vector<std::string> labels;
    if (v->is_array()) {
      for (const auto& item : v->items()) labels.push_back(item.ToDisplayString());
    } else {
      labels.push_back(v->ToDisplayString());
    }
    for (const auto& l : labels) {
      auto it = opts_.runs_on_map.find(l);
      if (it != opts_.runs_on_map.end()) executor_name = it->second;
    }
  }
  if (job.container || !job.services.empty()) {
    std::string engine = FindContainerEngine();
    std::string what = job.container ? "container: " + job.container->image.value : "services:";
    if (engine.empty())
      return fail_job("job '" + job.id + "' uses '" + what +
                      "', which needs a container engine (docker or podman); none is available on this machine");
    return fail_job("job '" + job.id + "' uses '" + what + "': container jobs are not supported by gantry run yet (" +
                    engine + " found)");
  }
  ExecutorConfig ec;
  ec.writable_paths = {opts_.workspace, temp_dir_};
  if (!opts_.tool_cache.empty()) ec.writable_paths.push_back(opts_.tool_cache);
  auto ex = MakeExecutor(executor_name, ec);
  if (!ex.ok()) return fail_job(ex.error());
  executor_ = std::move(*ex);

  if (job.timeout_minutes) {
    auto v = EvalValue(job.timeout_minutes->value, ctx);
    double minutes = v.ok() ? v->ToNumber() : NAN;
    if (std::isfinite(minutes) && minutes > 0) {
      has_deadline_ = true;
      deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(minutes * 60000));
    }
  }
  std::string shell, workdir;
  for (const workflow::RunDefaults* d : {&wf.defaults, &job.defaults}) {
    if (d->shell) {
      auto v = Eval(d->shell->value, ctx);
      if (!v.ok()) return fail_job("defaults.run.shell: " + v.error());
      shell = *v;
    }
    if (d->working_directory) {
      auto v = Eval(d->working_directory->value, ctx);
      if (!v.ok()) return fail_job("defaults.run.working-directory: " + v.error());
      workdir = *v;
    }
  }

  for (const auto& step : job.steps) RunStep(step, root, shell, workdir);
  run_status_ = root.status;
  RunPosts();

  if (run_status_ == expr::JobStatus::kSuccess || !job.outputs.empty()) {
    auto octx = Context(root, job_env_);
    for (const auto& entry : job.outputs) {
      Status st = EvalMap({entry}, octx, "outputs", [&](const std::string& k, std::string v) {
        if (opts_.masker->Mask(v) != v) {
          Error("output '" + k + "' holds a secret and is not passed on (as on GitHub)");
          return;
        }
        outcome.outputs[k] = std::move(v);
      });
      if (!st.ok()) Error(st.message());
    }
  }
  if (job_timed_out_ && !cancel_.cancelled()) {
    Error("the job ran longer than its timeout-minutes and was stopped");
    outcome.result = engine::JobResult::kFailure;
  } else if (cancel_.cancelled() || run_status_ == expr::JobStatus::kCancelled) {
    outcome.result = engine::JobResult::kCancelled;
  } else {
    outcome.result =
        run_status_ == expr::JobStatus::kSuccess ? engine::JobResult::kSuccess : engine::JobResult::kFailure;
  }
  return outcome;
}

Runner::Runner(RunnerOptions options) : options_(std::move(options)) {}
Runner::~Runner() = default;

engine::JobOutcome Runner::RunJob(const engine::JobRun& run, const engine::CancelToken& cancel) {
  if (run.job->uses) return RunCalledWorkflow(run, cancel);
  Job job(options_, run, ++next_job_);
  return job.Run(cancel);
}

}  // namespace gantry::runner
