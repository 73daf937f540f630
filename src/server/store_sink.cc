#include "server/store_sink.h"

#include <chrono>

namespace gantry::server {

StoreSink::StoreSink(store::Store& store, int64_t run_id) : store_(store), run_id_(run_id) {
  flusher_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      for (auto& [name, job] : jobs_) FlushLocked(job);
    }
  });
}

StoreSink::~StoreSink() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  flusher_.join();
  Flush();
}

StoreSink::JobState& StoreSink::Job(const std::string& display_name) {
  auto it = jobs_.find(display_name);
  if (it != jobs_.end()) return it->second;
  // A job the observer did not announce (should not happen): record it anyway.
  store::Job j;
  j.run_id = run_id_;
  j.job_key = display_name;
  j.name = display_name;
  j.status = "running";
  auto id = store_.CreateJob(j);
  JobState& state = jobs_[display_name];
  state.id = id.ok() ? *id : 0;
  return state;
}

void StoreSink::Adopt(const std::string& display_name, int64_t job_id) {
  std::lock_guard lock(mu_);
  jobs_[display_name].id = job_id;
}

int64_t StoreSink::JobStarted(const std::string& display_name, const std::string& job_key,
                              const std::string& matrix_json, const std::string& status) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(display_name);
  if (it != jobs_.end()) return it->second.id;
  store::Job j;
  j.run_id = run_id_;
  j.job_key = job_key;
  j.name = display_name;
  j.matrix_json = matrix_json;
  j.status = status;
  auto id = store_.CreateJob(j);
  jobs_[display_name].id = id.ok() ? *id : 0;
  return jobs_[display_name].id;
}

int64_t StoreSink::JobId(const std::string& display_name) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(display_name);
  return it == jobs_.end() ? 0 : it->second.id;
}

void StoreSink::FlushLocked(JobState& job) {
  if (job.pending.empty() || job.id == 0) return;
  // Every batch is one transaction, so a failed write (disk full) leaves nothing
  // half-written for the API to serve.
  auto st = store_.AppendLog(job.id, job.step_number, job.pending);
  if (st.ok()) {
    job.pending.clear();
  } else {
    // Retrying at every line would crawl (one failed transaction per line) and stall the
    // step on its pipe: drop the batch, remember why, and let the run fail with it.
    if (write_error_.empty()) write_error_ = st.message();
    job.pending.clear();
  }
}

std::string StoreSink::write_error() {
  std::lock_guard lock(mu_);
  return write_error_;
}

void StoreSink::Flush() {
  std::lock_guard lock(mu_);
  for (auto& [name, job] : jobs_) FlushLocked(job);
}

void StoreSink::AddLine(const std::string& job, std::string line) {
  std::lock_guard lock(mu_);
  JobState& state = Job(job);
  state.pending.push_back(std::move(line));
  if (state.pending.size() >= 2000) FlushLocked(state);
}

void StoreSink::StepStarted(const std::string& job, const std::string& step) {
  std::lock_guard lock(mu_);
  JobState& state = Job(job);
  FlushLocked(state);
  ++state.step_number;
  auto id = store_.CreateStep(state.id, state.step_number, step);
  state.step_id = id.ok() ? *id : 0;
}

void StoreSink::Line(const std::string& job, std::string_view line, bool) { AddLine(job, std::string(line)); }

void StoreSink::GroupStarted(const std::string& job, std::string_view title) {
  AddLine(job, "::group::" + std::string(title));
}

void StoreSink::GroupEnded(const std::string& job) { AddLine(job, "::endgroup::"); }

void StoreSink::Debug(const std::string&, std::string_view) {}

void StoreSink::AnnotationAdded(const runner::Annotation& a) {
  int64_t job_id = 0;
  {
    std::lock_guard lock(mu_);
    job_id = Job(a.job).id;
  }
  (void)store_.AddAnnotation(store::Annotation{job_id, a.level, a.message, a.file, a.title, a.line});
}

void StoreSink::StepFinished(const std::string& job, const std::string&, runner::StepConclusion,
                             runner::StepConclusion conclusion, double) {
  std::lock_guard lock(mu_);
  JobState& state = Job(job);
  FlushLocked(state);
  if (state.step_id != 0) (void)store_.FinishStep(state.step_id, runner::ConclusionName(conclusion));
  if (state.pending.empty()) (void)store_.CompressStepLog(state.id, state.step_number);
}

void StoreSink::Error(const std::string& job, std::string_view message) {
  AddLine(job, "##[error]" + std::string(message));
}

void StoreSink::StepSummary(const std::string& job, std::string_view markdown) {
  std::lock_guard lock(mu_);
  JobState& state = Job(job);
  if (state.step_id != 0) (void)store_.SetStepSummary(state.step_id, std::string(markdown));
}

}  // namespace gantry::server
