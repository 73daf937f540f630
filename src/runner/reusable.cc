// Reusable workflows (`jobs.<id>.uses`): the caller job's `with:` becomes the called
// workflow's `inputs` (typed, with defaults), `secrets:` (or `inherit`) its `secrets`; its jobs
// run under a nested Scheduler on a Runner with those secrets, and its `workflow_call`
// outputs, evaluated over the `jobs` context, become the caller job's outputs.
#include <algorithm>

#include "base/fs.h"
#include "base/strings.h"
#include "expr/expr.h"
#include "runner/runner.h"

namespace gantry::runner {
namespace {

using expr::Value;

Result<Value> EvalTemplate(const std::string& text, const Value& contexts) {
  if (!expr::ContainsExpression(text)) return Value::String(text);
  auto t = expr::ParseTemplate(text);
  if (!t.ok()) return Result<Value>::Error(t.error());
  expr::EvalContext ctx;
  ctx.contexts = contexts;
  return t->Evaluate(ctx);
}

// A `with:` value as the input's type: GitHub coerces "true"/"3" written as strings.
Result<Value> Coerce(const Value& v, const std::string& type, const std::string& name) {
  if (type == "boolean") {
    if (v.is_bool()) return v;
    if (v.is_string() && (v.string_value() == "true" || v.string_value() == "false"))
      return Value::Bool(v.string_value() == "true");
    return Result<Value>::Error("input '" + name + "' must be a boolean, got '" + v.ToDisplayString() + "'");
  }
  if (type == "number") {
    double n = v.ToNumber();
    if (v.is_number() || (v.is_string() && !v.string_value().empty() && n == n)) return Value::Number(n);
    return Result<Value>::Error("input '" + name + "' must be a number, got '" + v.ToDisplayString() + "'");
  }
  return Value::String(v.ToDisplayString());
}

std::string Where(const workflow::Workflow& wf, workflow::Mark m) {
  return wf.file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": ";
}

}  // namespace

engine::JobOutcome Runner::RunCalledWorkflow(const engine::JobRun& run, const engine::CancelToken& cancel) {
  engine::JobOutcome outcome;
  const workflow::Job& job = *run.job;
  const workflow::Workflow& caller = *run.workflow;
  auto fail = [&](const std::string& message) {
    options_.sink->Error(run.display_name, options_.masker->Mask(message));
    outcome.result = engine::JobResult::kFailure;
    return outcome;
  };
  if (!job.called) {
    return fail(Where(caller, job.uses_mark) + "the reusable workflow '" + *job.uses +
                "' could not be loaded (only local ./.github/workflows/... files, or remote ones with --actions-url)");
  }
  const workflow::Workflow& called = *job.called;
  const workflow::Trigger* call = called.FindTrigger("workflow_call");
  if (call == nullptr) return fail(Where(caller, job.uses_mark) + "'" + *job.uses + "' has no workflow_call trigger");

  // The caller's contexts for `with:` and `secrets:`.
  Value contexts = Value::Object();
  Value secrets = Value::Object();
  for (const auto& [k, v] : options_.secrets) secrets.Set(k, Value::String(v));
  contexts.Set("github", run.github.is_null() ? Value::Object() : run.github);
  contexts.Set("inputs", run.inputs.is_null() ? Value::Object() : run.inputs);
  contexts.Set("vars", run.vars.is_null() ? Value::Object() : run.vars);
  contexts.Set("needs", run.needs.is_null() ? Value::Object() : run.needs);
  contexts.Set("matrix", run.matrix.is_null() ? Value::Object() : run.matrix);
  contexts.Set("strategy", run.strategy.is_null() ? Value::Object() : run.strategy);
  contexts.Set("secrets", secrets);

  // with: -> inputs (declared names, typed; defaults for the rest).
  Value given = Value::Object();
  for (const auto& [k, t] : job.with) {
    Result<Value> v = EvalTemplate(t.value, contexts);
    if (!v.ok()) return fail(Where(caller, t.mark) + "with." + k + ": " + v.error());
    if (k == workflow::kInsertKey) {
      if (!v->is_object()) return fail(Where(caller, t.mark) + "with: the inserted value must be a mapping");
      for (const auto& [ik, iv] : v->entries()) given.Set(ToLower(ik), iv);
    } else {
      given.Set(ToLower(k), *v);
    }
  }
  Value inputs = Value::Object();
  Value default_contexts = Value::Object();
  default_contexts.Set("github", contexts.Find("github") ? *contexts.Find("github") : Value::Object());
  for (const workflow::Input& in : call->inputs) {
    Value v;
    if (const Value* g = given.Find(ToLower(in.name))) {
      v = *g;
    } else if (in.default_value) {
      v = engine::ToValue(*in.default_value);
      if (v.is_string()) {
        Result<Value> d = EvalTemplate(v.string_value(), default_contexts);
        if (!d.ok()) return fail(called.file + ": inputs." + in.name + ".default: " + d.error());
        v = *d;
      }
    } else if (in.required) {
      return fail(Where(caller, job.uses_mark) + "Input " + in.name + " is required, but not provided while calling.");
    } else {
      v = in.type == "boolean" ? Value::Bool(false) : in.type == "number" ? Value::Number(0) : Value::String("");
    }
    Result<Value> typed = Coerce(v, in.type, in.name);
    if (!typed.ok()) return fail(Where(caller, job.uses_mark) + typed.error());
    inputs.Set(in.name, *typed);
  }

  // secrets: inherit, or the mapped ones (each value masked like any secret).
  RunnerOptions nested = options_;
  if (!job.secrets_inherit) {
    nested.secrets.clear();
    for (const auto& [k, t] : job.secrets) {
      Result<Value> v = EvalTemplate(t.value, contexts);
      if (!v.ok()) return fail(Where(caller, t.mark) + "secrets." + k + ": " + v.error());
      if (k == workflow::kInsertKey) {
        if (!v->is_object()) return fail(Where(caller, t.mark) + "secrets: the inserted value must be a mapping");
        for (const auto& [ik, iv] : v->entries()) nested.secrets[ik] = iv.ToDisplayString();
      } else {
        nested.secrets[k] = v->ToDisplayString();
      }
    }
    for (const auto& [k, v] : nested.secrets) options_.masker->Add(v);
  }

  Result<engine::Plan> plan = engine::PlanWorkflow(called);
  if (!plan.ok()) return fail(plan.error());
  // The called jobs' RUNNER_TEMP directories go under a directory of this call, so they never
  // meet the caller's (job ids and serials may repeat across levels).
  nested.temp_root = options_.temp_root + "/call-" + job.id + "-" + std::to_string(++next_job_);
  if (Status st = MakeDirs(nested.temp_root); !st.ok()) return fail(st.message());
  struct Cleanup {
    std::string dir;
    ~Cleanup() { RemoveAll(dir); }
  } cleanup{nested.temp_root};
  Runner runner(nested);
  engine::SchedulerOptions so;
  so.parallel = options_.parallel;
  so.github = run.github;
  so.inputs = inputs;
  so.vars = run.vars;
  so.force_cancel = options_.force_cancel;
  so.name_prefix = run.display_name + " / ";
  so.observer = options_.observer;
  so.gate = options_.gate;
  if (!so.observer.error)
    so.observer.error = [&](const std::string& m) { options_.sink->Error(run.display_name, options_.masker->Mask(m)); };
  int id = cancel.OnCancel([token = so.cancel] { token.Cancel(); });
  engine::Scheduler scheduler(runner, so);
  engine::RunSummary summary = scheduler.Run({*plan});
  cancel.Forget(id);

  // The `jobs` context of the called workflow: each job's result and merged outputs.
  Value jobs = Value::Object();
  for (const engine::PlannedJob& pj : plan->jobs) {
    engine::JobResult result = engine::JobResult::kSkipped;
    Value outs = Value::Object();
    bool any = false, failed = false, cancelled = false;
    for (const auto& rec : summary.instances) {
      if (rec.job_id != pj.job->id) continue;
      any = true;
      failed |= rec.outcome.result == engine::JobResult::kFailure && !rec.failure_allowed;
      cancelled |= rec.outcome.result == engine::JobResult::kCancelled;
      if (rec.outcome.result != engine::JobResult::kSkipped) result = engine::JobResult::kSuccess;
      for (const auto& [k, v] : rec.outcome.outputs) outs.Set(k, Value::String(v));
    }
    if (failed)
      result = engine::JobResult::kFailure;
    else if (cancelled)
      result = engine::JobResult::kCancelled;
    Value entry = Value::Object();
    entry.Set("result", Value::String(any ? engine::ResultName(result) : "skipped"));
    entry.Set("outputs", outs);
    jobs.Set(pj.job->id, entry);
  }
  Value out_ctx = Value::Object();
  out_ctx.Set("github", contexts.Find("github") ? *contexts.Find("github") : Value::Object());
  out_ctx.Set("inputs", inputs);
  out_ctx.Set("vars", run.vars.is_null() ? Value::Object() : run.vars);
  out_ctx.Set("jobs", jobs);
  for (const workflow::CallOutput& o : call->outputs) {
    Result<Value> v = EvalTemplate(o.value.value, out_ctx);
    if (!v.ok()) {
      options_.sink->Error(run.display_name, called.file + ": outputs." + o.name + ": " + v.error());
      continue;
    }
    outcome.outputs[o.name] = v->ToDisplayString();
  }
  if (summary.cancelled || cancel.cancelled()) {
    outcome.result = engine::JobResult::kCancelled;
  } else {
    outcome.result = summary.success ? engine::JobResult::kSuccess : engine::JobResult::kFailure;
  }
  return outcome;
}

}  // namespace gantry::runner
