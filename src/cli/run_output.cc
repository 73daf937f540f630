#include "cli/run_output.h"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "expr/value.h"

namespace gantry::cli {

namespace {

using runner::Annotation;
using runner::StepConclusion;

const char* kColors[] = {"\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[96m", "\033[93m"};
constexpr const char* kReset = "\033[0m";
constexpr size_t kMaxFoldedLines = 2000;

std::string MatrixText(const expr::Value& m) {
  if (!m.is_object() || m.size() == 0) return "";
  std::string out;
  for (const auto& [k, v] : m.entries()) {
    if (!out.empty()) out += ", ";
    out += k + "=" + (v.is_object() || v.is_array() ? v.ToJson(false) : v.ToDisplayString());
  }
  return out;
}

class ConsolePrinter : public RunPrinter {
 public:
  ConsolePrinter(FILE* out, bool color, bool verbose) : out_(out), color_(color), verbose_(verbose) {}

  void JobStarted(const engine::JobRun& run) override {
    std::lock_guard<std::mutex> lock(mu_);
    Print(run.display_name, "🚀 Start job");
  }
  void JobFinished(const engine::JobRun& run, const engine::JobOutcome& outcome) override {
    std::lock_guard<std::mutex> lock(mu_);
    Print(run.display_name, std::string(outcome.result == engine::JobResult::kSuccess     ? "🏁 Job succeeded"
                                        : outcome.result == engine::JobResult::kSkipped   ? "⏭  Job skipped"
                                        : outcome.result == engine::JobResult::kCancelled ? "🛑 Job cancelled"
                                                                                          : "❌ Job failed"));
  }
  void StepStarted(const std::string& job, const std::string& step) override {
    std::lock_guard<std::mutex> lock(mu_);
    Print(job, "⭐ " + step);
  }
  void Line(const std::string& job, std::string_view line, bool is_stderr) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& st = jobs_[job];
    if (st.in_group && !verbose_) {
      if (st.folded.size() >= kMaxFoldedLines) st.folded.pop_front();
      st.folded.emplace_back(line);
      return;
    }
    Print(job, std::string(st.in_group ? "    | " : "  | ") + std::string(line));
  }
  void GroupStarted(const std::string& job, std::string_view title) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& st = jobs_[job];
    st.in_group = true;
    Print(job, std::string(verbose_ ? "  ▾ " : "  ▸ ") + std::string(title));
  }
  void GroupEnded(const std::string& job) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& st = jobs_[job];
    st.in_group = false;
    st.kept.insert(st.kept.end(), st.folded.begin(), st.folded.end());
    while (st.kept.size() > kMaxFoldedLines) st.kept.pop_front();
    st.folded.clear();
  }
  void Debug(const std::string& job, std::string_view message) override {
    if (!verbose_) return;
    std::lock_guard<std::mutex> lock(mu_);
    Print(job, "  ::debug:: " + std::string(message));
  }
  void AnnotationAdded(const Annotation& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    annotations_.push_back(a);
    std::string where = a.file.empty() ? ""
                                       : " " + a.file + (a.line ? ":" + std::to_string(a.line) : "") +
                                             (a.col ? ":" + std::to_string(a.col) : "");
    Print(a.job, "  " + Level(a.level) + where + ": " + a.message);
  }
  void StepFinished(const std::string& job, const std::string& step, StepConclusion outcome, StepConclusion conclusion,
                    double seconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& st = jobs_[job];
    if (outcome == StepConclusion::kFailure && !verbose_) {
      // The folded lines of a failing step are what the user needs to see.
      for (auto& l : st.kept) Print(job, "    | " + l);
      for (auto& l : st.folded) Print(job, "    | " + l);
    }
    st.kept.clear();
    st.folded.clear();
    st.in_group = false;
    char dur[32];
    std::snprintf(dur, sizeof dur, " [%.2fs]", seconds);
    const char* mark = outcome == StepConclusion::kSuccess      ? "✅ Success - "
                       : outcome == StepConclusion::kSkipped    ? "⏭  Skipped - "
                       : outcome == StepConclusion::kCancelled  ? "🛑 Cancelled - "
                       : conclusion == StepConclusion::kSuccess ? "❌ Failure (continue-on-error) - "
                                                                : "❌ Failure - ";
    Print(job, std::string(mark) + step + dur);
  }
  void Error(const std::string& job, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    Print(job, "  ❗ " + std::string(message));
  }
  void StepSummary(const std::string& job, std::string_view markdown) override {
    std::lock_guard<std::mutex> lock(mu_);
    summaries_.emplace_back(job, std::string(markdown));
  }
  void RunError(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(out_, "gantry: %s\n", message.c_str());
  }
  void RunFinished(const engine::RunSummary& summary, int exit_code) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(out_, "\n%-40s %-30s %-10s %s\n", "JOB", "MATRIX", "RESULT", "DURATION");
    for (const auto& i : summary.instances) {
      double secs = std::chrono::duration<double>(i.duration).count();
      std::string result = engine::ResultName(i.outcome.result);
      if (i.failure_allowed) result += " (allowed)";
      std::fprintf(out_, "%-40s %-30s %-10s %.2fs\n", i.display_name.c_str(), MatrixText(i.matrix).c_str(),
                   result.c_str(), secs);
    }
    if (!annotations_.empty()) {
      std::fprintf(out_, "\nAnnotations:\n");
      for (const auto& a : annotations_) {
        std::string where = a.file.empty() ? ""
                                           : a.file + (a.line ? ":" + std::to_string(a.line) : "") +
                                                 (a.col ? ":" + std::to_string(a.col) : "") + ": ";
        std::fprintf(out_, "  %s [%s] %s%s\n", a.level.c_str(), a.job.c_str(), where.c_str(), a.message.c_str());
      }
    }
    for (const auto& [job, md] : summaries_) std::fprintf(out_, "\nSummary of %s:\n%s\n", job.c_str(), md.c_str());
    std::fprintf(out_, "\n%s\n", exit_code == 0 ? "Run succeeded" : exit_code == 130 ? "Run cancelled" : "Run failed");
    std::fflush(out_);
  }

 private:
  struct JobState {
    bool in_group = false;
    std::deque<std::string> folded, kept;
  };
  std::string Level(const std::string& level) {
    if (!color_) return level;
    const char* c = level == "error" ? "\033[31m" : level == "warning" ? "\033[33m" : "\033[36m";
    return std::string(c) + level + kReset;
  }
  void Print(const std::string& job, const std::string& text) {
    if (color_) {
      auto it = colors_.find(job);
      if (it == colors_.end()) it = colors_.emplace(job, kColors[colors_.size() % 7]).first;
      std::fprintf(out_, "%s[%s]%s %s\n", it->second, job.c_str(), kReset, text.c_str());
    } else {
      std::fprintf(out_, "[%s] %s\n", job.c_str(), text.c_str());
    }
    std::fflush(out_);
  }

  std::mutex mu_;
  FILE* out_;
  bool color_, verbose_;
  std::map<std::string, JobState> jobs_;
  std::map<std::string, const char*> colors_;
  std::vector<Annotation> annotations_;
  std::vector<std::pair<std::string, std::string>> summaries_;
};

class JsonPrinter : public RunPrinter {
 public:
  explicit JsonPrinter(FILE* out) : out_(out) {}
  void JobStarted(const engine::JobRun& run) override {
    Emit({{"type", "job_started"},
          {"job", run.display_name},
          {"job_id", run.job->id},
          {"matrix", nlohmann::json::parse(run.matrix.is_null() ? "{}" : run.matrix.ToJson(false))}});
  }
  void JobFinished(const engine::JobRun& run, const engine::JobOutcome& o) override {
    Emit({{"type", "job_finished"},
          {"job", run.display_name},
          {"job_id", run.job->id},
          {"result", engine::ResultName(o.result)},
          {"outputs", o.outputs}});
  }
  void StepStarted(const std::string& job, const std::string& step) override {
    Emit({{"type", "step_started"}, {"job", job}, {"step", step}});
  }
  void Line(const std::string& job, std::string_view line, bool is_stderr) override {
    Emit({{"type", "line"}, {"job", job}, {"stream", is_stderr ? "stderr" : "stdout"}, {"text", Utf8(line)}});
  }
  void GroupStarted(const std::string& job, std::string_view title) override {
    Emit({{"type", "group"}, {"job", job}, {"title", Utf8(title)}});
  }
  void GroupEnded(const std::string& job) override { Emit({{"type", "endgroup"}, {"job", job}}); }
  void Debug(const std::string& job, std::string_view m) override {
    Emit({{"type", "debug"}, {"job", job}, {"text", Utf8(m)}});
  }
  void AnnotationAdded(const Annotation& a) override {
    Emit({{"type", "annotation"},
          {"job", a.job},
          {"level", a.level},
          {"message", Utf8(a.message)},
          {"file", Utf8(a.file)},
          {"line", a.line},
          {"col", a.col},
          {"title", Utf8(a.title)}});
  }
  void StepFinished(const std::string& job, const std::string& step, StepConclusion outcome, StepConclusion conclusion,
                    double seconds) override {
    Emit({{"type", "step_finished"},
          {"job", job},
          {"step", step},
          {"outcome", runner::ConclusionName(outcome)},
          {"conclusion", runner::ConclusionName(conclusion)},
          {"seconds", seconds}});
  }
  void Error(const std::string& job, std::string_view m) override {
    Emit({{"type", "error"}, {"job", job}, {"message", Utf8(m)}});
  }
  void StepSummary(const std::string& job, std::string_view md) override {
    Emit({{"type", "step_summary"}, {"job", job}, {"markdown", Utf8(md)}});
  }
  void RunError(const std::string& message) override { Emit({{"type", "error"}, {"message", Utf8(message)}}); }
  void RunFinished(const engine::RunSummary& s, int exit_code) override {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& i : s.instances) {
      jobs.push_back({{"job", i.display_name},
                      {"job_id", i.job_id},
                      {"matrix", nlohmann::json::parse(i.matrix.is_null() ? "{}" : i.matrix.ToJson(false))},
                      {"result", engine::ResultName(i.outcome.result)},
                      {"failure_allowed", i.failure_allowed},
                      {"seconds", std::chrono::duration<double>(i.duration).count()}});
    }
    Emit({{"type", "run_finished"},
          {"success", s.success},
          {"cancelled", s.cancelled},
          {"exit_code", exit_code},
          {"jobs", jobs}});
  }

 private:
  // Output of processes need not be UTF-8; JSON must be.
  static std::string Utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
      if (ok) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        out.append("\xEF\xBF\xBD");
        ++i;
      }
    }
    return out;
  }
  void Emit(const nlohmann::json& j) {
    std::string text = j.dump();
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }
  std::mutex mu_;
  FILE* out_;
};

}  // namespace

std::unique_ptr<RunPrinter> MakeConsolePrinter(FILE* out, bool color, bool verbose) {
  return std::make_unique<ConsolePrinter>(out, color, verbose);
}
std::unique_ptr<RunPrinter> MakeJsonPrinter(FILE* out) { return std::make_unique<JsonPrinter>(out); }

}  // namespace gantry::cli
