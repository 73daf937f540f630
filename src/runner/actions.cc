// `uses:` steps: local and mirrored actions (composite and JavaScript) and the built-ins.
#include <filesystem>

#include "base/fs.h"
#include "base/strings.h"
#include "runner/action_fetch.h"
#include "runner/job.h"

namespace gantry::runner {

using expr::Value;

namespace {

constexpr int kMaxCompositeDepth = 10;

std::string InputEnvName(const std::string& input) {
  std::string out = "INPUT_";
  for (char c : input) out.push_back(c == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

StepRun Job::RunUsesStep(const workflow::Step& step, Scope& scope, const EnvMap& env, const expr::EvalContext& ctx,
                         long long timeout_ms) {
  StepRun r;
  auto fail = [&](const std::string& msg) {
    Error(msg);
    r.outcome = StepConclusion::kFailure;
    return r;
  };
  auto ref = ParseActionRef(*step.uses);
  if (!ref.ok()) return fail(ref.error());

  // `with:` values, evaluated in the calling step's context.
  std::map<std::string, std::string> with;
  {
    expr::EvalContext wctx = ctx;
    Status st =
        EvalMap(step.with, wctx, "with", [&](const std::string& k, std::string v) { with[ToLower(k)] = std::move(v); });
    if (!st.ok()) return fail(st.message());
  }
  if (ref->kind == ActionRef::Kind::kDocker)
    return fail("action '" + ref->ToString() + "' runs in a container, which gantry run does not support");
  if (ref->kind == ActionRef::Kind::kRemote) {
    if (auto b = RunBuiltin(*ref, with, step)) return *b;
  }

  std::string dir;
  std::string repository;
  if (ref->kind == ActionRef::Kind::kLocal) {
    std::string rel = ref->local_path.size() > 2 ? ref->local_path.substr(2) : "";
    dir = std::filesystem::path(opts_.workspace + "/" + rel).lexically_normal().string();
    if (!dir.empty() && dir.back() == '/') dir.pop_back();
  } else {
    // The mirror directory first, then a git fetch from --actions-url (cached per ref).
    Result<std::string> resolved = Result<std::string>::Error("");
    if (!opts_.action_dir.empty() || opts_.actions_url.empty()) resolved = ResolveRemoteAction(*ref, opts_.action_dir);
    if (!resolved.ok() && !opts_.actions_url.empty()) {
      ActionFetchOptions fo{opts_.actions_url, opts_.action_cache, host_path_, &cancel()};
      auto fetched = FetchRemoteRepository(fo, ref->owner, ref->repo, ref->ref);
      if (!fetched.ok()) return fail("action '" + ref->ToString() + "': " + fetched.error());
      resolved = *fetched + (ref->path.empty() ? "" : "/" + ref->path);
    }
    if (!resolved.ok()) return fail(resolved.error());
    dir = *resolved;
    repository = ref->owner + "/" + ref->repo;
  }
  auto md_or = Action(dir);
  if (!md_or.ok()) return fail("action '" + ref->ToString() + "': " + md_or.error());
  const ActionMetadata& md = **md_or;

  // Inputs: `with:` first, then defaults (which may use expressions).
  Value inputs = Value::Object();
  std::map<std::string, std::string> values;
  for (const auto& in : md.inputs) {
    auto it = with.find(ToLower(in.name));
    std::string v;
    if (it != with.end()) {
      v = it->second;
    } else if (in.default_value) {
      auto d = Eval(*in.default_value, ctx);
      if (!d.ok()) return fail("action '" + ref->ToString() + "' input " + in.name + " default: " + d.error());
      v = *d;
    } else if (in.required) {
      Error("warning: input '" + in.name + "' of action '" + ref->ToString() + "' is required but not given");
    }
    values[in.name] = v;
    inputs.Set(in.name, Value::String(v));
  }
  for (const auto& [k, v] : with) {
    if (!inputs.Find(k)) {
      values[k] = v;
      inputs.Set(k, Value::String(v));
    }
  }

  if (md.using_ == "composite") {
    if (scope.depth >= kMaxCompositeDepth)
      return fail("composite actions nested deeper than " + std::to_string(kMaxCompositeDepth) + " levels");
    Scope inner;
    inner.inputs = inputs;
    inner.action_path = dir;
    inner.action_repository = repository;
    inner.composite = true;
    inner.depth = scope.depth + 1;
    // The calling step's own env reaches the inner steps.
    for (const auto& [k, v] : env) {
      auto it = job_env_.find(k);
      if (it == job_env_.end() || it->second != v) inner.env[k] = v;
    }
    for (const auto& s : md.steps) RunStep(s, inner, "", "");
    // Outputs are evaluated even after a failure (values set before it still count).
    EnvMap oenv = job_env_;
    for (const auto& [k, v] : added_env_) oenv[k] = v;
    for (const auto& [k, v] : inner.env) oenv[k] = v;
    auto octx = Context(inner, oenv);
    for (const auto& out : md.outputs) {
      auto v = Eval(out.value.value, octx);
      if (v.ok()) {
        r.outputs[out.name] = *v;
      } else {
        Error("action '" + ref->ToString() + "' output " + out.name + ": " + v.error());
      }
    }
    if (inner.status == expr::JobStatus::kCancelled || cancel_.cancelled()) {
      r.outcome = StepConclusion::kCancelled;
    } else if (inner.status == expr::JobStatus::kFailure) {
      r.outcome = StepConclusion::kFailure;
    }
    return r;
  }

  if (StartsWith(md.using_, "node")) {
    EnvMap penv = env;
    for (const auto& [k, v] : values) penv[InputEnvName(k)] = v;
    auto state = std::make_shared<std::map<std::string, std::string>>();
    ScriptRequest req;
    req.env = penv;
    req.cwd = opts_.workspace;
    req.action_name = step.id;
    req.action_path = dir;
    req.timeout_ms = timeout_ms;
    req.state = state.get();
    if (!md.pre.empty()) {
      req.argv = {"node", dir + "/" + md.pre};
      std::map<std::string, std::string> ignored;
      StepConclusion c = RunScript(req, &ignored);
      if (c != StepConclusion::kSuccess) {
        r.outcome = c;
        return r;
      }
      for (const auto& [k, v] : *state) req.env["STATE_" + k] = v;
    }
    req.argv = {"node", dir + "/" + md.main};
    r.outcome = RunScript(req, &r.outputs);
    if (!md.post.empty()) {
      PostStep post;
      post.display = "Post " + (step.name ? step.name->value : "Run " + *step.uses);
      post.condition = md.post_if;
      post.argv = {"node", dir + "/" + md.post};
      post.env = penv;
      post.state = *state;
      post.action_path = dir;
      AddPost(std::move(post));
    }
    return r;
  }
  if (md.using_ == "docker")
    return fail("action '" + ref->ToString() + "' is a Docker action, which needs a container engine");
  return fail("action '" + ref->ToString() + "': unsupported runs.using '" + md.using_ + "'");
}

}  // namespace gantry::runner
