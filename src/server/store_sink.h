// A runner::OutputSink that records a run's jobs, steps, log lines, annotations and step
// summaries in the store. Lines are batched and committed at least every 100 ms (and at
// every step boundary), so the API only ever serves committed lines.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runner/output.h"
#include "store/store.h"

namespace gantry::server {

class StoreSink : public runner::OutputSink {
 public:
  StoreSink(store::Store& store, int64_t run_id);
  ~StoreSink() override;  // flushes

  // Called by the scheduler's observer: a job instance is known under its display name.
  // `status` "waiting": the job waits for an approval (its row shows so until it starts).
  int64_t JobStarted(const std::string& display_name, const std::string& job_key, const std::string& matrix_json,
                     const std::string& status = "running");
  // A run resumed after a restart: its waiting job keeps its row.
  void Adopt(const std::string& display_name, int64_t job_id);
  int64_t JobId(const std::string& display_name);
  void Flush();
  // The first failed log write (e.g. disk full), "" if none: the run then fails with it.
  std::string write_error();

  void StepStarted(const std::string& job, const std::string& step) override;
  void Line(const std::string& job, std::string_view line, bool is_stderr) override;
  void GroupStarted(const std::string& job, std::string_view title) override;
  void GroupEnded(const std::string& job) override;
  void Debug(const std::string& job, std::string_view message) override;
  void AnnotationAdded(const runner::Annotation& annotation) override;
  void StepFinished(const std::string& job, const std::string& step, runner::StepConclusion outcome,
                    runner::StepConclusion conclusion, double seconds) override;
  void Error(const std::string& job, std::string_view message) override;
  void StepSummary(const std::string& job, std::string_view markdown) override;

 private:
  struct JobState {
    int64_t id = 0;
    int64_t step_number = 0;  // 0 = before the first step
    int64_t step_id = 0;
    std::vector<std::string> pending;
  };
  JobState& Job(const std::string& display_name);  // mu_ held
  void FlushLocked(JobState& job);
  void AddLine(const std::string& job, std::string line);

  store::Store& store_;
  int64_t run_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, JobState> jobs_;
  bool done_ = false;
  std::string write_error_;
  std::thread flusher_;
};

}  // namespace gantry::server
