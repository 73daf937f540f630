// Scheduler: runs the jobs of one or more plans as their needs finish, up to `parallel` at
// once, with GitHub's job `if:` status functions, deferred matrices, fail-fast, max-parallel,
// continue-on-error and cancellation. All decisions happen on the calling thread under one
// lock; worker threads only call JobRunner::RunJob and report back.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/engine.h"
#include "expr/expr.h"

namespace gantry::engine {

const char* ResultName(JobResult r) {
  switch (r) {
    case JobResult::kSuccess:
      return "success";
    case JobResult::kFailure:
      return "failure";
    case JobResult::kCancelled:
      return "cancelled";
    case JobResult::kSkipped:
      return "skipped";
  }
  return "failure";
}

namespace {

enum class InstanceState { kPending, kRunning, kDone };

struct Instance {
  JobRun run;
  InstanceState state = InstanceState::kPending;
  JobOutcome outcome;
  bool failure_allowed = false;
  std::optional<std::string> concurrency_group;  // evaluated jobs.<id>.concurrency.group
  bool cancel_in_progress = false;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::duration duration{};
  // The evaluated `environment:` name while the EnvironmentGate has not let it start.
  std::optional<std::string> gated_environment;
  bool held = false;  // the gate answered kWait at least once
  std::chrono::steady_clock::time_point next_gate_check;
};

struct JobState {
  const Plan* plan = nullptr;
  const PlannedJob* planned = nullptr;
  std::vector<size_t> needs;  // indexes into the scheduler's job list
  bool decided = false;       // `if:` evaluated and instances created (or skipped)
  bool done = false;
  JobResult result = JobResult::kSuccess;
  std::map<std::string, std::string> outputs;
  std::vector<Instance> instances;
  CancelToken cancel;  // this job's instances (fail-fast cancels it)
  bool fail_fast = true;
  int max_parallel = 0;  // 0: no limit
  int running = 0;
};

Result<expr::Value> EvalText(const workflow::Text& text, std::string_view key, const expr::Value& contexts) {
  Result<expr::Template> t = expr::ParseTemplate(text.value, expr::OptionsForKey(key));
  if (!t.ok()) return t.status();
  expr::EvalContext ctx;
  ctx.contexts = contexts;
  return t->Evaluate(ctx);
}

std::string Where(const workflow::Workflow& wf, const workflow::Text& text) {
  return wf.file + ":" + std::to_string(text.mark.line) + ":" + std::to_string(text.mark.column) + ": ";
}

}  // namespace

Scheduler::Scheduler(JobRunner& runner, SchedulerOptions options) : runner_(runner), options_(std::move(options)) {
  if (options_.parallel <= 0) options_.parallel = std::max(1u, std::thread::hardware_concurrency());
}

RunSummary Scheduler::Run(const std::vector<Plan>& plans) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<JobState> jobs;
  for (const Plan& plan : plans) {
    size_t base = jobs.size();
    for (const PlannedJob& pj : plan.jobs) {
      JobState js;
      js.plan = &plan;
      js.planned = &pj;
      for (size_t n : pj.needs) js.needs.push_back(base + n);
      jobs.push_back(std::move(js));
    }
  }
  RunSummary summary;
  for (JobState& js : jobs) {
    auto done = options_.completed.find(js.planned->job->id);
    if (done == options_.completed.end()) continue;
    js.decided = js.done = true;
    js.result = done->second.result;
    js.outputs = done->second.outputs;
    if (js.result == JobResult::kFailure || js.result == JobResult::kCancelled) summary.success = false;
  }
  // Cancelling the run cancels every job's token and wakes the loop.
  std::vector<int> registrations;
  for (JobState& js : jobs) {
    CancelToken token = js.cancel;
    registrations.push_back(options_.cancel.OnCancel([token] { token.Cancel(); }));
  }
  int wake = options_.cancel.OnCancel([&cv] { cv.notify_all(); });
  std::vector<int> force_registrations;

  std::vector<std::thread> threads;
  int running = 0;
  auto report_error = [&](const std::string& message) {
    if (options_.observer.error) options_.observer.error(message);
  };

  auto base_contexts = [&]() {
    expr::Value c = expr::Value::Object();
    c.Set("github", options_.github.is_null() ? expr::Value::Object() : options_.github);
    c.Set("inputs", options_.inputs.is_null() ? expr::Value::Object() : options_.inputs);
    c.Set("vars", options_.vars.is_null() ? expr::Value::Object() : options_.vars);
    return c;
  };
  auto needs_context = [&](const JobState& js) {
    expr::Value needs = expr::Value::Object();
    for (size_t n : js.needs) {
      const JobState& dep = jobs[n];
      expr::Value entry = expr::Value::Object();
      entry.Set("result", expr::Value::String(ResultName(dep.result)));
      expr::Value outputs = expr::Value::Object();
      for (const auto& [k, v] : dep.outputs) outputs.Set(k, expr::Value::String(v));
      entry.Set("outputs", outputs);
      needs.Set(dep.planned->job->id, entry);
    }
    return needs;
  };
  auto any_ancestor_failed = [&](const JobState& js) {
    std::vector<size_t> stack(js.needs.begin(), js.needs.end());
    std::vector<char> seen(jobs.size(), 0);
    while (!stack.empty()) {
      size_t n = stack.back();
      stack.pop_back();
      if (seen[n]) continue;
      seen[n] = 1;
      if (jobs[n].result == JobResult::kFailure) return true;
      stack.insert(stack.end(), jobs[n].needs.begin(), jobs[n].needs.end());
    }
    return false;
  };
  auto finish_job = [&](JobState& js) {
    js.done = true;
    bool any_failure = false, any_cancelled = false, all_skipped = !js.instances.empty();
    for (const Instance& in : js.instances) {
      JobResult r = in.outcome.result;
      if (r == JobResult::kFailure && !in.failure_allowed) any_failure = true;
      if (r == JobResult::kCancelled) any_cancelled = true;
      if (r != JobResult::kSkipped) all_skipped = false;
    }
    if (any_failure) {
      js.result = JobResult::kFailure;
    } else if (any_cancelled) {
      js.result = JobResult::kCancelled;
    } else if (all_skipped) {
      js.result = JobResult::kSkipped;
    } else {
      js.result = JobResult::kSuccess;
    }
    if (js.result == JobResult::kFailure) summary.success = false;
    if (js.result == JobResult::kCancelled) summary.success = false;
  };
  auto record = [&](JobState& js, Instance& in) {
    InstanceRecord rec;
    rec.job_id = js.planned->job->id;
    rec.display_name = in.run.display_name;
    rec.matrix = in.run.matrix;
    rec.outcome = in.outcome;
    rec.failure_allowed = in.failure_allowed;
    rec.duration = in.duration;
    summary.instances.push_back(std::move(rec));
  };
  // A job that will not run: one record with the given result.
  auto conclude_without_running = [&](JobState& js, JobResult result, std::unique_lock<std::mutex>& lock) {
    js.decided = true;
    Instance in;
    in.run.workflow = js.plan->workflow;
    in.run.job = js.planned->job;
    in.run.display_name = options_.name_prefix + InstanceName(*js.planned->job, expr::Value::Object());
    in.run.matrix = expr::Value::Object();
    in.state = InstanceState::kDone;
    in.outcome.result = result;
    js.instances.push_back(in);
    finish_job(js);
    record(js, js.instances.back());
    if (options_.observer.job_finished) {
      JobRun run = in.run;
      JobOutcome outcome = in.outcome;
      lock.unlock();
      options_.observer.job_finished(run, outcome);
      lock.lock();
    }
  };

  // Decides a ready job: evaluates `if:`, expands its matrix, creates its instances.
  auto decide = [&](JobState& js, std::unique_lock<std::mutex>& lock) {
    const workflow::Workflow& wf = *js.plan->workflow;
    const workflow::Job& job = *js.planned->job;
    expr::Value contexts = base_contexts();
    contexts.Set("needs", needs_context(js));
    const bool run_cancelled = options_.cancel.cancelled();

    // GitHub: success() = every need succeeded; failure() = an ancestor failed; cancelled() =
    // the run was cancelled. When a need was skipped or cancelled without any failure, neither
    // success() nor failure() holds; expr's single status cannot say that, so the condition
    // must hold under both statuses (always() and !cancelled() do, success()/failure() do not).
    bool needs_succeeded =
        std::all_of(js.needs.begin(), js.needs.end(), [&](size_t n) { return jobs[n].result == JobResult::kSuccess; });
    std::vector<expr::JobStatus> statuses;
    if (run_cancelled) {
      statuses = {expr::JobStatus::kCancelled};
    } else if (any_ancestor_failed(js)) {
      statuses = {expr::JobStatus::kFailure};
    } else if (needs_succeeded) {
      statuses = {expr::JobStatus::kSuccess};
    } else {
      statuses = {expr::JobStatus::kSuccess, expr::JobStatus::kFailure};
    }
    Result<expr::Expression> cond = expr::ParseCondition(job.condition.value, expr::OptionsForKey("jobs.<job_id>.if"));
    bool run = cond.ok();
    if (!cond.ok()) report_error(Where(wf, job.condition) + cond.error());
    for (expr::JobStatus status : statuses) {
      if (!run) break;
      expr::EvalContext ctx;
      ctx.contexts = contexts;
      ctx.status = status;
      Result<expr::Value> v = cond->Evaluate(ctx);
      if (!v.ok()) {
        report_error(Where(wf, job.condition) + v.error());
        run = false;
      } else {
        run = v->Truthy();
      }
    }
    if (!cond.ok()) {
      conclude_without_running(js, JobResult::kFailure, lock);
      return;
    }
    if (!run) {
      conclude_without_running(js, run_cancelled ? JobResult::kCancelled : JobResult::kSkipped, lock);
      return;
    }

    // Strategy: matrix (deferred ones evaluated now that needs are known), fail-fast, max-parallel.
    std::vector<expr::Value> combos = js.planned->matrix;
    const workflow::Strategy* strategy = job.strategy ? &*job.strategy : nullptr;
    std::string failed;
    if (strategy && js.planned->matrix_deferred) {
      expr::Value matrix;
      Result<expr::Value> evaluated = EvaluateMatrix(*strategy, contexts, wf.file);
      if (!evaluated.ok()) {
        failed = evaluated.error();
      } else {
        matrix = std::move(*evaluated);
      }
      if (failed.empty()) {
        Result<std::vector<expr::Value>> expanded = ExpandMatrix(matrix);
        if (!expanded.ok()) {
          workflow::Text at{"", strategy->mark, false};
          if (strategy->matrix_expression) at = *strategy->matrix_expression;
          failed = Where(wf, at) + expanded.error();
        } else {
          combos = FilterMatrix(std::move(*expanded), js.plan->matrix_filter);
        }
      }
    }
    if (strategy && strategy->fail_fast) {
      Result<expr::Value> v = EvalText(*strategy->fail_fast, "jobs.<job_id>.strategy", contexts);
      if (v.ok()) js.fail_fast = v->is_string() ? v->string_value() != "false" : v->Truthy();
      if (!v.ok() && failed.empty()) failed = Where(wf, *strategy->fail_fast) + v.error();
    }
    if (strategy && strategy->max_parallel) {
      Result<expr::Value> v = EvalText(*strategy->max_parallel, "jobs.<job_id>.strategy", contexts);
      if (v.ok()) js.max_parallel = std::max(0, static_cast<int>(v->ToNumber()));
      if (!v.ok() && failed.empty()) failed = Where(wf, *strategy->max_parallel) + v.error();
    }
    if (!failed.empty()) {
      report_error(failed);
      conclude_without_running(js, JobResult::kFailure, lock);
      return;
    }
    if (combos.empty() && strategy && strategy->has_matrix) {
      // Every combination filtered out by --matrix: nothing to run.
      conclude_without_running(js, JobResult::kSkipped, lock);
      return;
    }
    if (combos.empty()) combos.push_back(expr::Value::Object());
    js.decided = true;
    // A job that runs although the run was cancelled (if: always()) gets a token of its own:
    // the run's cancel already fired and must not stop it before it starts.
    if (run_cancelled) {
      js.cancel = CancelToken();
      CancelToken token = js.cancel;
      force_registrations.push_back(options_.force_cancel.OnCancel([token] { token.Cancel(); }));
    }
    expr::Value needs = contexts.Find("needs") ? *contexts.Find("needs") : expr::Value::Object();
    for (size_t i = 0; i < combos.size(); ++i) {
      Instance in;
      JobRun& r = in.run;
      r.workflow = &wf;
      r.job = &job;
      r.matrix = combos[i];
      r.needs = needs;
      r.github = options_.github;
      r.inputs = options_.inputs;
      r.vars = options_.vars;
      expr::Value strategy_ctx = expr::Value::Object();
      strategy_ctx.Set("fail-fast", expr::Value::Bool(js.fail_fast));
      strategy_ctx.Set("job-index", expr::Value::Number(static_cast<double>(i)));
      strategy_ctx.Set("job-total", expr::Value::Number(static_cast<double>(combos.size())));
      strategy_ctx.Set("max-parallel",
                       expr::Value::Number(js.max_parallel > 0 ? js.max_parallel : static_cast<double>(combos.size())));
      r.strategy = strategy_ctx;
      r.display_name = options_.name_prefix + InstanceName(job, r.matrix);
      if (job.name && job.name->has_expression) {
        expr::Value c = contexts;
        c.Set("matrix", r.matrix);
        c.Set("strategy", r.strategy);
        Result<expr::Value> v = EvalText(*job.name, "jobs.<job_id>.name", c);
        if (v.ok()) r.display_name = options_.name_prefix + v->ToDisplayString();
      }
      if (job.continue_on_error) {
        expr::Value c = contexts;
        c.Set("matrix", r.matrix);
        c.Set("strategy", r.strategy);
        Result<expr::Value> v = EvalText(*job.continue_on_error, "jobs.<job_id>.continue-on-error", c);
        if (v.ok()) in.failure_allowed = v->is_string() ? v->string_value() == "true" : v->Truthy();
      }
      if (job.concurrency && options_.concurrency) {
        expr::Value c = contexts;
        c.Set("matrix", r.matrix);
        c.Set("strategy", r.strategy);
        Result<expr::Value> g = EvalText(job.concurrency->group, "jobs.<job_id>.concurrency", c);
        if (g.ok()) in.concurrency_group = g->ToDisplayString();
        if (job.concurrency->cancel_in_progress) {
          Result<expr::Value> v = EvalText(*job.concurrency->cancel_in_progress, "jobs.<job_id>.concurrency", c);
          in.cancel_in_progress = v.ok() && (v->is_string() ? v->string_value() == "true" : v->Truthy());
        }
      }
      if (job.environment && options_.gate) {
        expr::Value c = contexts;
        c.Set("matrix", r.matrix);
        c.Set("strategy", r.strategy);
        Result<expr::Value> v = EvalText(job.environment->name, "jobs.<job_id>.environment", c);
        if (!v.ok()) report_error(Where(wf, job.environment->name) + v.error());
        // An environment that cannot be evaluated is not a reason to skip its protection.
        in.gated_environment = v.ok() ? v->ToDisplayString() : "";
        if (!v.ok()) {
          in.state = InstanceState::kDone;
          in.outcome.result = JobResult::kFailure;
        }
      }
      js.instances.push_back(std::move(in));
      if (js.instances.back().state == InstanceState::kDone) {
        Instance& failed_in = js.instances.back();
        record(js, failed_in);
        JobRun run = failed_in.run;
        JobOutcome outcome = failed_in.outcome;
        lock.unlock();
        if (options_.observer.job_finished) options_.observer.job_finished(run, outcome);
        lock.lock();
      }
    }
  };

  // Asks the gate about a pending instance of a protected environment; true when it may start.
  auto pass_gate = [&](JobState& js, size_t index, std::unique_lock<std::mutex>& lock) {
    Instance& in = js.instances[index];
    if (!in.gated_environment) return true;
    auto now = std::chrono::steady_clock::now();
    if (in.held && now < in.next_gate_check) return false;
    JobRun run = in.run;
    std::string environment = *in.gated_environment;
    lock.unlock();
    GateAnswer answer = options_.gate->Check(run, environment);
    lock.lock();
    Instance& again = js.instances[index];
    if (answer.kind == GateAnswer::Kind::kProceed) {
      again.gated_environment.reset();
      return true;
    }
    if (answer.kind == GateAnswer::Kind::kWait) {
      again.held = true;
      again.next_gate_check = std::chrono::steady_clock::now() + options_.gate_poll;
      return false;
    }
    again.state = InstanceState::kDone;
    again.outcome.result = JobResult::kFailure;
    record(js, again);
    JobOutcome outcome = again.outcome;
    lock.unlock();
    report_error(run.display_name + ": " + answer.message);
    if (options_.observer.job_finished) options_.observer.job_finished(run, outcome);
    lock.lock();
    return false;
  };

  auto start = [&](JobState& js, size_t index) {
    Instance& in = js.instances[index];
    in.state = InstanceState::kRunning;
    in.started = std::chrono::steady_clock::now();
    ++running;
    ++js.running;
    JobRun run = in.run;
    CancelToken token = js.cancel;
    std::optional<std::string> group = in.concurrency_group;
    bool cancel_in_progress = in.cancel_in_progress;
    threads.emplace_back([&, run, token, group, cancel_in_progress, jsp = &js, index] {
      if (options_.observer.job_started) options_.observer.job_started(run);
      JobOutcome outcome;
      bool entered = false;
      if (group && options_.concurrency) {
        Status st = options_.concurrency->Enter(*group, cancel_in_progress, token);
        entered = st.ok();
        if (!st.ok()) {
          outcome.result = token.cancelled() ? JobResult::kCancelled : JobResult::kFailure;
          if (options_.observer.error) options_.observer.error(run.display_name + ": " + st.message());
        }
      }
      if (token.cancelled()) {
        outcome.result = JobResult::kCancelled;
      } else if (!group || !options_.concurrency || entered) {
        outcome = runner_.RunJob(run, token);
      }
      if (entered) options_.concurrency->Leave(*group);
      std::unique_lock<std::mutex> lock(mu);
      Instance& done = jsp->instances[index];
      done.outcome = outcome;
      done.state = InstanceState::kDone;
      done.duration = std::chrono::steady_clock::now() - done.started;
      --running;
      --jsp->running;
      if (outcome.result == JobResult::kFailure && !done.failure_allowed && jsp->fail_fast) {
        jsp->cancel.Cancel();  // fail-fast: the other instances of this matrix
      }
      for (const auto& [k, v] : outcome.outputs) {
        if (!v.empty() || jsp->outputs.count(k) == 0) jsp->outputs[k] = v;
      }
      record(*jsp, done);
      lock.unlock();
      if (options_.observer.job_finished) options_.observer.job_finished(run, outcome);
      cv.notify_all();
    });
  };

  std::unique_lock<std::mutex> lock(mu);
  while (true) {
    bool changed = true;
    while (changed) {
      changed = false;
      for (JobState& js : jobs) {
        if (js.done) continue;
        if (!js.decided) {
          bool ready = std::all_of(js.needs.begin(), js.needs.end(), [&](size_t n) { return jobs[n].done; });
          if (!ready) continue;
          decide(js, lock);
          changed = true;
          if (js.done) continue;
        }
        // Pending instances of a cancelled job never start.
        bool all_done = true;
        for (size_t i = 0; i < js.instances.size(); ++i) {
          Instance& in = js.instances[i];
          if (in.state == InstanceState::kPending && js.cancel.cancelled()) {
            in.state = InstanceState::kDone;
            in.outcome.result = JobResult::kCancelled;
            record(js, in);
            changed = true;
            if (in.held && options_.observer.job_finished) {
              JobRun run = in.run;
              JobOutcome outcome = in.outcome;
              lock.unlock();
              options_.observer.job_finished(run, outcome);
              lock.lock();
            }
          }
          if (in.state == InstanceState::kPending && running < options_.parallel &&
              (js.max_parallel <= 0 || js.running < js.max_parallel)) {
            if (pass_gate(js, i, lock)) start(js, i);
            changed = changed || js.instances[i].state != InstanceState::kPending || !js.instances[i].held;
          }
          if (in.state != InstanceState::kDone) all_done = false;
        }
        if (all_done) {
          finish_job(js);
          changed = true;
        }
      }
    }
    bool all_done = std::all_of(jobs.begin(), jobs.end(), [](const JobState& js) { return js.done; });
    if (all_done) break;
    // Woken by a finishing job or a cancel; the timeout is only a backstop against a missed
    // notification from the cancel callback (which cannot take `mu`).
    cv.wait_for(lock, std::chrono::milliseconds(200));
  }
  lock.unlock();
  for (std::thread& t : threads) t.join();
  options_.cancel.Forget(wake);
  for (int id : force_registrations) options_.force_cancel.Forget(id);
  for (size_t i = 0; i < jobs.size(); ++i) options_.cancel.Forget(registrations[i]);
  summary.cancelled = options_.cancel.cancelled();
  if (summary.cancelled) summary.success = false;
  return summary;
}

}  // namespace gantry::engine
