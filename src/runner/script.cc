// Running one process of a step: its environment, its output (workflow commands, masking)
// and the env files it leaves behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/strings.h"
#include "runner/env_file.h"
#include "runner/job.h"

namespace gantry::runner {

namespace {

enum FileIndex { kEnv = 0, kOutput = 1, kPath = 2, kState = 3, kSummary = 4 };

// Makes each env file exist and be empty; only files a step wrote to are touched.
void ResetFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_size != 0) ::truncate(path.c_str(), 0);
    return;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0) ::close(fd);
}

bool NonEmpty(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

int ToInt(const std::string* s) {
  if (s == nullptr) return 0;
  try {
    return std::stoi(*s);
  } catch (...) {
    return 0;
  }
}

}  // namespace

StepConclusion Job::RunScript(const ScriptRequest& req, std::map<std::string, std::string>* outputs) {
  for (const auto& f : files_) ResetFile(f);
  bool unsecure = false;
  if (auto it = req.env.find("ACTIONS_ALLOW_UNSECURE_COMMANDS"); it != req.env.end()) unsecure = it->second == "true";
  bool command_failed = false;
  stop_token_.clear();
  Masker& masker = *opts_.masker;
  OutputSink& sink = *opts_.sink;
  const std::string& job = name();

  ProcessSpec spec;
  spec.argv = req.argv;
  spec.env = ProcessEnv(req.env, req);
  spec.cwd = req.cwd;
  spec.timeout_ms = req.timeout_ms;
  spec.kill_grace_ms = opts_.kill_grace_ms;
  spec.cancel = &cancel();
  spec.on_line = [&](OutputStream stream, std::string_view line) {
    bool is_err = stream == OutputStream::kStderr;
    if (!stop_token_.empty()) {
      std::string_view t = Trim(line);
      if (t.size() == stop_token_.size() + 4 && StartsWith(t, "::") && EndsWith(t, "::") &&
          t.substr(2, stop_token_.size()) == stop_token_) {
        stop_token_.clear();
        return;
      }
      sink.Line(job, masker.Mask(line), is_err);
      return;
    }
    auto cmd = ParseWorkflowCommand(line);
    if (!cmd) {
      sink.Line(job, masker.Mask(line), is_err);
      return;
    }
    const std::string& n = cmd->name;
    if (n == "add-mask") {
      masker.Add(cmd->data);
    } else if (n == "group") {
      sink.GroupStarted(job, masker.Mask(cmd->data));
    } else if (n == "endgroup") {
      sink.GroupEnded(job);
    } else if (n == "debug") {
      sink.Debug(job, masker.Mask(cmd->data));
    } else if (n == "error" || n == "warning" || n == "notice") {
      Annotation a;
      a.level = n;
      a.message = masker.Mask(cmd->data);
      if (auto* f = cmd->Prop("file")) a.file = masker.Mask(*f);
      a.line = ToInt(cmd->Prop("line"));
      a.col = ToInt(cmd->Prop("col"));
      a.end_line = ToInt(cmd->Prop("endLine"));
      a.end_col = ToInt(cmd->Prop("endColumn"));
      if (auto* t = cmd->Prop("title")) a.title = masker.Mask(*t);
      a.job = job;
      sink.AnnotationAdded(a);
    } else if (n == "stop-commands") {
      stop_token_ = std::string(Trim(cmd->data));
    } else if (n == "set-output") {
      if (auto* key = cmd->Prop("name")) (*outputs)[*key] = cmd->data;
    } else if (n == "save-state") {
      if (auto* key = cmd->Prop("name"); key != nullptr && req.state != nullptr) (*req.state)[*key] = cmd->data;
    } else if (n == "set-env" || n == "add-path") {
      if (!unsecure) {
        Error("the `" + n +
              "` command is disabled (as on GitHub); use the GITHUB_ENV / GITHUB_PATH files, or set "
              "ACTIONS_ALLOW_UNSECURE_COMMANDS=true");
        command_failed = true;
      } else if (n == "set-env") {
        if (auto* key = cmd->Prop("name")) AddEnv(*key, cmd->data);
      } else {
        AddPath(cmd->data);
      }
    } else if (n == "echo" || n == "add-matcher" || n == "remove-matcher") {
      // Accepted; they only change how GitHub's log viewer renders output.
    } else {
      sink.Line(job, masker.Mask(line), is_err);
    }
  };
  auto result = executor_->Run(std::move(spec));
  stop_token_.clear();
  StepConclusion conclusion = StepConclusion::kSuccess;
  if (!result.ok()) {
    Error(result.error());
    conclusion = StepConclusion::kFailure;
  } else if (result->cancelled) {
    conclusion = StepConclusion::kCancelled;
  } else if (result->timed_out) {
    Error("the step timed out after " + std::to_string(req.timeout_ms / 1000) + " s and was stopped");
    conclusion = StepConclusion::kFailure;
  } else if (result->exit_code != 0) {
    Error(result->signal != 0 ? "process was killed by signal " + std::to_string(result->signal)
                              : "process completed with exit code " + std::to_string(result->exit_code));
    conclusion = StepConclusion::kFailure;
  }
  if (command_failed && conclusion == StepConclusion::kSuccess) conclusion = StepConclusion::kFailure;

  // Env files are read even after a failure: outputs written before it still count.
  if (NonEmpty(files_[kEnv])) {
    auto text = ReadFile(files_[kEnv], kMaxEnvFileBytes);
    auto vals = text.ok() ? ParseEnvFile(*text, "GITHUB_ENV") : Result<NameValues>::Error(text.error());
    if (!vals.ok()) {
      Error(vals.error());
      conclusion = StepConclusion::kFailure;
    } else {
      for (auto& [k, v] : *vals) AddEnv(k, v);
    }
  }
  if (NonEmpty(files_[kOutput])) {
    auto text = ReadFile(files_[kOutput], kMaxEnvFileBytes);
    auto vals = text.ok() ? ParseEnvFile(*text, "GITHUB_OUTPUT") : Result<NameValues>::Error(text.error());
    if (!vals.ok()) {
      Error(vals.error());
      conclusion = StepConclusion::kFailure;
    } else {
      for (auto& [k, v] : *vals) (*outputs)[k] = v;
    }
  }
  if (NonEmpty(files_[kPath])) {
    auto text = ReadFile(files_[kPath], kMaxEnvFileBytes);
    if (text.ok()) {
      for (auto& p : ParsePathFile(*text)) AddPath(p);
    }
  }
  if (NonEmpty(files_[kState]) && req.state != nullptr) {
    auto text = ReadFile(files_[kState], kMaxEnvFileBytes);
    auto vals = text.ok() ? ParseEnvFile(*text, "GITHUB_STATE") : Result<NameValues>::Error(text.error());
    if (vals.ok()) {
      for (auto& [k, v] : *vals) (*req.state)[k] = v;
    }
  }
  if (NonEmpty(files_[kSummary])) {
    auto text = ReadFile(files_[kSummary], kMaxEnvFileBytes);
    if (text.ok()) sink.StepSummary(job, masker.Mask(*text));
  }
  return conclusion;
}

}  // namespace gantry::runner
