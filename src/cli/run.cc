// `gantry run`: GitHub Actions workflows of a repository run on this machine
// (workflow reader -> engine plan/scheduler -> runner). docs/run.md is the user's page.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "cli/cli_util.h"
#include "cli/run_output.h"
#include "engine/engine.h"
#include "runner/action_fetch.h"
#include "runner/env_file.h"
#include "runner/runner.h"
#include "workflow/reader.h"

extern char** environ;

namespace gantry::cli {
namespace {

namespace fs = std::filesystem;
using expr::Value;

struct Flags {
  std::string dir = ".";
  std::string workflows;
  std::string event = "push";
  std::string event_path;
  std::vector<std::string> jobs, inputs, secrets, secret_files, vars, matrix, runs_on_map;
  bool list = false, dry_run = false, json = false, verbose = false;
  int parallel = 0;
  std::string action_dir, workspace, store;
  std::string actions_url, action_cache;
  long long kill_grace_ms = 5000;
};

// Runs a git command in `dir`; the first line of its output, or "" on failure.
std::string Git(const std::string& dir, std::vector<std::string> args) {
  ProcessSpec spec;
  spec.argv = {"git", "-C", dir};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  std::string out;
  spec.on_line = [&](OutputStream s, std::string_view l) {
    if (s == OutputStream::kStdout && out.empty()) out = std::string(l);
  };
  auto r = RunProcess(spec);
  if (!r.ok() || r->exit_code != 0) return "";
  return out;
}

bool SplitKV(const std::string& s, char sep, std::string* k, std::string* v) {
  size_t p = s.find(sep);
  if (p == std::string::npos || p == 0) return false;
  *k = s.substr(0, p);
  *v = s.substr(p + 1);
  return true;
}

std::vector<std::string> FindWorkflowFiles(const std::string& dir, const std::string& w, std::string* err) {
  std::string target = w.empty() ? dir + "/.github/workflows" : w;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) return {target};
  if (!fs::is_directory(target, ec)) {
    *err = target + ": no such workflow file or directory";
    return {};
  }
  for (const auto& e : fs::directory_iterator(target, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) *err = target + ": no workflow files (*.yml, *.yaml) there";
  return files;
}

// SIGINT/SIGTERM are taken by one thread with sigwait, which cancels the run; processes are
// then stopped group by group by the runner.
class SignalWatcher {
 public:
  // The first signal cancels the run (steps with `if: always()` still run); the second
  // also stops those.
  SignalWatcher(engine::CancelToken token, engine::CancelToken force)
      : token_(std::move(token)), force_(std::move(force)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    // A shell starts background jobs with SIGINT ignored; an ignored signal never reaches
    // sigwait, so take the default disposition back (blocked, it stays pending for us).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR1) return;
        if (interrupted_.exchange(true)) force_.Cancel();
        token_.Cancel();
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
  bool interrupted() const { return interrupted_; }

 private:
  engine::CancelToken token_, force_;
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

void PrintList(const std::vector<std::pair<workflow::Workflow, engine::Plan>>& plans, bool dry_run) {
  if (!dry_run) std::printf("%-30s %-30s %-30s %s\n", "WORKFLOW", "JOB ID", "JOB NAME", "NEEDS");
  for (const auto& [wf, plan] : plans) {
    if (dry_run) std::printf("workflow %s (%s)\n", wf.DisplayName().c_str(), wf.file.c_str());
    for (const auto& pj : plan.jobs) {
      std::string needs;
      for (size_t n : pj.needs) needs += (needs.empty() ? "" : ",") + plan.jobs[n].job->id;
      std::string name = pj.job->name ? pj.job->name->value : pj.job->id;
      if (!dry_run) {
        std::printf("%-30s %-30s %-30s %s\n", wf.DisplayName().c_str(), pj.job->id.c_str(), name.c_str(),
                    needs.c_str());
        continue;
      }
      std::printf("  job %s%s\n", pj.job->id.c_str(), needs.empty() ? "" : (" (needs " + needs + ")").c_str());
      if (pj.matrix_deferred) std::printf("    matrix: from an expression, expanded when the job is ready\n");
      for (const auto& m : pj.matrix)
        std::printf("    instance: %s %s\n", engine::InstanceName(*pj.job, m).c_str(), m.ToJson(false).c_str());
      if (pj.job->uses) {
        std::printf("    calls %s%s\n", pj.job->uses->c_str(), pj.job->called ? "" : " (not loaded)");
        if (pj.job->called) {
          for (const auto& cj : pj.job->called->jobs)
            std::printf("      job %s / %s\n", pj.job->id.c_str(), cj.id.c_str());
        }
      }
      for (const auto& s : pj.job->steps) {
        std::string what = s.name ? s.name->value : s.uses ? "uses " + *s.uses : "run";
        std::printf("    step %s\n", what.c_str());
      }
    }
  }
}

int RunCommand(const Flags& f) {
  std::string err;
  std::error_code ec;
  std::string dir = fs::absolute(f.dir, ec).lexically_normal().string();
  if (!dir.empty() && dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "gantry run: %s is not a directory\n", dir.c_str());
    return kExitUsage;
  }
  auto files = FindWorkflowFiles(dir, f.workflows, &err);
  if (files.empty()) {
    std::fprintf(stderr, "gantry run: %s\n", err.c_str());
    return kExitUsage;
  }

  // Read every workflow first: all errors of all files before anything runs.
  std::vector<std::pair<workflow::Workflow, engine::Plan>> plans;
  plans.reserve(files.size());
  bool bad = false;
  engine::Event event;
  event.name = f.event;
  std::string sha = Git(dir, {"rev-parse", "HEAD"});
  std::string ref = Git(dir, {"symbolic-ref", "-q", "HEAD"});
  if (ref.empty()) ref = "refs/heads/main";
  event.ref = ref;
  Value payload = Value::Object();
  if (!f.event_path.empty()) {
    auto text = ReadFile(f.event_path, 16u << 20);
    if (!text.ok()) {
      std::fprintf(stderr, "gantry run: %s\n", text.error().c_str());
      return kExitUsage;
    }
    auto v = Value::FromJson(*text);
    if (!v.ok() || !v->is_object()) {
      std::fprintf(stderr, "gantry run: %s: %s\n", f.event_path.c_str(),
                   v.ok() ? "the event must be a JSON object" : v.error().c_str());
      return kExitUsage;
    }
    payload = *v;
    if (const Value* r = payload.Find("ref"); r != nullptr && r->is_string()) event.ref = r->string_value();
    if (const Value* a = payload.Find("action"); a != nullptr && a->is_string()) event.action = a->string_value();
    if (const Value* pr = payload.Find("pull_request")) {
      if (const Value* base = pr->Find("base"); base && base->Find("ref")) {
        event.base_ref = base->Find("ref")->ToDisplayString();
      }
    }
  }
  engine::PlanOptions popts;
  popts.only_jobs = f.jobs;
  for (const auto& m : f.matrix) {
    std::string k, v;
    if (!SplitKV(m, ':', &k, &v)) {
      std::fprintf(stderr, "gantry run: --matrix %s: expected key:value\n", m.c_str());
      return kExitUsage;
    }
    popts.matrix_filter.emplace_back(k, v);
  }
  // Remote actions and reusable workflows: git from --actions-url / GANTRY_ACTIONS_URL.
  std::string actions_url = f.actions_url;
  if (actions_url.empty()) {
    const char* env = std::getenv("GANTRY_ACTIONS_URL");
    if (env != nullptr) actions_url = env;
  }
  if (!actions_url.empty() && actions_url.find("://") == std::string::npos && actions_url[0] != '/') {
    actions_url = fs::absolute(actions_url, ec).lexically_normal().string();  // a local path
  }
  std::string action_cache = f.action_cache;
  if (action_cache.empty()) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    action_cache =
        xdg ? std::string(xdg) + "/gantry/actions" : std::string(home ? home : "/tmp") + "/.cache/gantry/actions";
  } else {
    action_cache = fs::absolute(action_cache, ec).lexically_normal().string();
  }
  CancelSource fetch_cancel;
  workflow::ReadOptions read_options;
  workflow::CalledWorkflowLoader remote_loader;
  if (!actions_url.empty()) {
    remote_loader = [&](const std::string& uses) -> Result<workflow::CalledWorkflowSource> {
      // owner/repo/path/to/file.yml@ref
      size_t at = uses.rfind('@');
      std::vector<std::string> parts = Split(uses.substr(0, at == std::string::npos ? 0 : at), '/');
      if (at == std::string::npos || parts.size() < 3)
        return Result<workflow::CalledWorkflowSource>::Error("a remote reusable workflow is owner/repo/path@ref: '" +
                                                             uses + "'");
      runner::ActionFetchOptions fo{actions_url, action_cache,
                                    std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin", &fetch_cancel};
      auto repo_dir = runner::FetchRemoteRepository(fo, parts[0], parts[1], uses.substr(at + 1));
      if (!repo_dir.ok()) return Result<workflow::CalledWorkflowSource>::Error(repo_dir.error());
      std::string rel = uses.substr(parts[0].size() + parts[1].size() + 2, at - parts[0].size() - parts[1].size() - 2);
      return workflow::LocalWorkflowLoader(*repo_dir)("./" + rel);
    };
  }
  read_options.load_called_workflow = workflow::LocalWorkflowLoader(dir, remote_loader);
  for (const auto& file : files) {
    auto rr = workflow::ReadWorkflowFile(file, read_options);
    if (!rr.ok()) {
      std::fprintf(stderr, "%s", rr.ErrorText().c_str());
      if (!rr.ErrorText().empty() && rr.ErrorText().back() != '\n') std::fputc('\n', stderr);
      bad = true;
      continue;
    }
    std::string why;
    if (f.workflows.empty() || !fs::is_regular_file(f.workflows, ec)) {
      if (!engine::WorkflowMatches(*rr.workflow, event, &why)) continue;
    }
    plans.emplace_back(std::move(*rr.workflow), engine::Plan{});
  }
  if (bad) return kExitUsage;
  for (auto& [wf, plan] : plans) {
    auto p = engine::PlanWorkflow(wf, popts);
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.error().c_str());
      return kExitUsage;
    }
    plan = std::move(*p);
    plan.workflow = &wf;
  }
  plans.erase(std::remove_if(plans.begin(), plans.end(), [](const auto& p) { return p.second.jobs.empty(); }),
              plans.end());
  if (plans.empty()) {
    std::fprintf(stderr, "gantry run: no workflow runs for event '%s'%s\n", f.event.c_str(),
                 f.jobs.empty() ? "" : " with the jobs given by -j");
    return kExitUsage;
  }
  if (f.list || f.dry_run) {
    PrintList(plans, f.dry_run);
    return kExitOk;
  }

  // Secrets: --secret K=V, --secret K (from the environment), --secret-file (dotenv).
  runner::Masker masker;
  runner::RunnerOptions ro;
  for (const auto& file : f.secret_files) {
    auto text = ReadFile(file, runner::kMaxEnvFileBytes);
    auto vals = text.ok() ? runner::ParseDotenv(*text, file) : Result<runner::NameValues>::Error(text.error());
    if (!vals.ok()) {
      std::fprintf(stderr, "gantry run: %s\n", vals.error().c_str());
      return kExitUsage;
    }
    for (auto& [k, v] : *vals) ro.secrets[k] = v;
  }
  for (const auto& s : f.secrets) {
    std::string k, v;
    if (!SplitKV(s, '=', &k, &v)) {
      k = s;
      const char* e = std::getenv(s.c_str());
      if (e == nullptr) {
        std::fprintf(stderr, "gantry run: --secret %s: not set in the environment\n", s.c_str());
        return kExitUsage;
      }
      v = e;
    }
    ro.secrets[k] = v;
  }
  for (const auto& [k, v] : ro.secrets) masker.Add(v);
  Value vars = Value::Object();
  for (const auto& s : f.vars) {
    std::string k, v;
    if (!SplitKV(s, '=', &k, &v)) {
      std::fprintf(stderr, "gantry run: --var %s: expected NAME=value\n", s.c_str());
      return kExitUsage;
    }
    vars.Set(k, Value::String(v));
  }
  Value inputs = Value::Object();
  for (const auto& [wf, plan] : plans) {
    for (const auto& t : wf.on) {
      for (const auto& in : t.inputs) {
        if (!in.default_value || inputs.Find(in.name)) continue;
        Value d = engine::ToValue(*in.default_value);
        if (in.type == "boolean" && d.is_string()) d = Value::Bool(d.string_value() == "true");
        inputs.Set(in.name, d);
      }
    }
  }
  for (const auto& s : f.inputs) {
    std::string k, v;
    if (!SplitKV(s, '=', &k, &v)) {
      std::fprintf(stderr, "gantry run: --input %s: expected NAME=value\n", s.c_str());
      return kExitUsage;
    }
    const Value* old = inputs.Find(k);
    inputs.Set(k, old != nullptr && old->is_bool() ? Value::Bool(v == "true") : Value::String(v));
  }
  for (const auto& s : f.runs_on_map) {
    std::string k, v;
    if (!SplitKV(s, '=', &k, &v)) {
      std::fprintf(stderr, "gantry run: --runs-on-map %s: expected label=executor\n", s.c_str());
      return kExitUsage;
    }
    ro.runs_on_map[k] = v;
  }
  // Jobs labelled `sandbox` / `sandbox-nonet` use those executors unless mapped otherwise.
  ro.runs_on_map.try_emplace("sandbox", "sandbox");
  ro.runs_on_map.try_emplace("sandbox-nonet", "sandbox-nonet");

  auto temp = MakeTempDir("gantry-run-");
  if (!temp.ok()) {
    std::fprintf(stderr, "gantry run: %s\n", temp.error().c_str());
    return kExitFailed;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() { RemoveAll(dir); }
  } cleanup{*temp};
  std::string event_file = *temp + "/event.json";
  if (payload.size() == 0 && f.event == "push") {
    payload.Set("ref", Value::String(event.ref));
    payload.Set("after", Value::String(sha));
    payload.Set("inputs", inputs);
  } else if (f.event == "workflow_dispatch" && !payload.Find("inputs")) {
    payload.Set("inputs", inputs);
  }
  WriteFileAtomic(event_file, payload.ToJson());

  runner::RunInfo info;
  info.event_name = f.event;
  info.event = payload;
  info.event_path = event_file;
  info.sha = sha.empty() ? std::string(40, '0') : sha;
  info.ref = event.ref;
  info.base_ref = event.base_ref;
  std::string remote = Git(dir, {"config", "--get", "remote.origin.url"});
  std::string base = fs::path(dir).filename().string();
  if (!remote.empty()) {
    std::string r = remote;
    if (EndsWith(r, ".git")) r.resize(r.size() - 4);
    auto parts = Split(ReplaceAll(r, ":", "/"), '/');
    if (parts.size() >= 2) info.repository = parts[parts.size() - 2] + "/" + parts.back();
  } else {
    info.repository = "local/" + base;
  }
  info.workspace = f.workspace.empty() ? dir : fs::absolute(f.workspace, ec).lexically_normal().string();
  info.run_id = static_cast<long long>(std::time(nullptr));
  info.workflow = plans.front().first.DisplayName();
  const char* user = std::getenv("USER");
  if (user != nullptr) info.actor = user;

  ro.workspace = info.workspace;
  ro.repository = dir;
  ro.temp_root = *temp;
  ro.tool_cache = *temp + "/_tool";
  ro.action_dir = f.action_dir.empty() ? "" : fs::absolute(f.action_dir, ec).string();
  ro.actions_url = actions_url;
  ro.action_cache = action_cache;
  ro.event_path = event_file;
  ro.masker = &masker;
  ro.debug = f.verbose;
  ro.kill_grace_ms = f.kill_grace_ms;
  for (char** e = environ; *e != nullptr; ++e) ro.host_env.emplace_back(*e);
  std::string store_root = f.store;
  if (store_root.empty()) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    store_root = xdg ? std::string(xdg) + "/gantry/store" : std::string(home ? home : "/tmp") + "/.cache/gantry/store";
  }
  auto store = runner::MakeLocalStore(store_root);
  ro.store = store.get();
  MakeDirs(info.workspace);
  MakeDirs(ro.tool_cache);

  std::unique_ptr<RunPrinter> printer =
      f.json ? MakeJsonPrinter(stdout) : MakeConsolePrinter(stdout, ::isatty(1) == 1, f.verbose);
  ro.sink = printer.get();

  engine::SchedulerOptions so;
  so.parallel = f.parallel;
  so.github = runner::BuildGithubContext(info);
  so.inputs = inputs;
  so.vars = vars;
  so.observer.job_started = [&](const engine::JobRun& r) { printer->JobStarted(r); };
  so.observer.job_finished = [&](const engine::JobRun& r, const engine::JobOutcome& o) { printer->JobFinished(r, o); };
  so.observer.error = [&](const std::string& m) { printer->RunError(masker.Mask(m)); };
  SignalWatcher signals(so.cancel, so.force_cancel);
  ro.force_cancel = so.force_cancel;
  ro.parallel = f.parallel;
  ro.observer = so.observer;  // the jobs of called workflows show like any other

  runner::Runner runner(ro);
  engine::Scheduler scheduler(runner, so);
  std::vector<engine::Plan> plan_list;
  for (auto& [wf, plan] : plans) plan_list.push_back(plan);
  engine::RunSummary summary = scheduler.Run(plan_list);
  int code = summary.cancelled || signals.interrupted() ? kExitInterrupted : summary.success ? kExitOk : kExitFailed;
  printer->RunFinished(summary, code);
  return code;
}

int Run(int argc, char** argv) {
  Flags f;
  CLI::App app{
      "Run GitHub Actions workflows of a repository on this machine (like act, without Docker).\n"
      "Exit codes: 0 every job succeeded, 1 a job failed, 2 usage error or invalid workflow, 130 interrupted.",
      "gantry run"};
  app.add_option("dir", f.dir, "repository directory (default: .)");
  app.add_option("-W,--workflows", f.workflows, "workflow file or directory (default: DIR/.github/workflows)");
  app.add_option("-e,--event", f.event, "event name (default: push)");
  app.add_option("--eventpath", f.event_path, "JSON file with the event payload");
  app.add_option("-j,--job", f.jobs, "run only this job (and the jobs it needs); repeatable")->allow_extra_args(false);
  app.add_option("--input", f.inputs, "workflow_dispatch input NAME=value; repeatable")->allow_extra_args(false);
  app.add_option("-s,--secret", f.secrets, "secret NAME=value, or NAME to take it from the environment; repeatable")
      ->allow_extra_args(false);
  app.add_option("--secret-file", f.secret_files, "dotenv file of secrets; repeatable")->allow_extra_args(false);
  app.add_option("--var", f.vars, "configuration variable NAME=value (vars context); repeatable")
      ->allow_extra_args(false);
  app.add_option("--matrix", f.matrix, "run only matrix combinations with key:value; repeatable")
      ->allow_extra_args(false);
  app.add_flag("-l,--list", f.list, "list the jobs that would run, do not run them");
  app.add_flag("-n,--dry-run", f.dry_run, "show the plan (jobs, matrix instances, steps), do not run");
  app.add_flag("--json", f.json, "stream JSON events, one per line, instead of console output");
  app.add_flag("-v,--verbose", f.verbose, "show ::debug:: lines and unfold groups");
  app.add_option("-p,--parallel", f.parallel, "jobs at once (default: number of cores)");
  app.add_option("--action-dir", f.action_dir, "directory of remote actions, as DIR/owner/repo@ref");
  app.add_option("--actions-url", f.actions_url,
                 "git URL prefix for remote actions and reusable workflows: owner/repo@ref is fetched from "
                 "URL/owner/repo (default: $GANTRY_ACTIONS_URL)");
  app.add_option("--action-cache", f.action_cache,
                 "where fetched actions are kept, per ref (default: ~/.cache/gantry/actions)");
  app.add_option("--runs-on-map", f.runs_on_map,
                 "run jobs with runs-on LABEL on EXECUTOR (host, sandbox, sandbox-nonet): LABEL=EXECUTOR")
      ->allow_extra_args(false);
  app.add_option("--workspace", f.workspace, "GITHUB_WORKSPACE (default: DIR itself)");
  app.add_option("--store", f.store, "directory for artifacts and cache (default: ~/.cache/gantry/store)");
  app.add_option("--kill-grace", f.kill_grace_ms, "ms between SIGTERM and SIGKILL when cancelling (default 5000)");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  return RunCommand(f);
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("run", "run GitHub Actions workflows locally", gantry::cli::Run);
