// Where a running job's output goes: the console printer and the --json stream of `gantry
// run` implement it (src/cli/run_output.cc); the server will store it. Every text handed to a
// sink is already masked. Calls come from the job's thread; a sink shared by parallel jobs
// must lock.
#pragma once

#include <string>
#include <string_view>

#include "runner/commands.h"

namespace gantry::runner {

enum class StepConclusion { kSuccess, kFailure, kCancelled, kSkipped };
const char* ConclusionName(StepConclusion c);  // "success", "failure", ...

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // `job` is the instance's display name ("build (linux, 18)").
  virtual void StepStarted(const std::string& job, const std::string& step) = 0;
  virtual void Line(const std::string& job, std::string_view line, bool is_stderr) = 0;
  virtual void GroupStarted(const std::string& job, std::string_view title) = 0;
  virtual void GroupEnded(const std::string& job) = 0;
  virtual void Debug(const std::string& job, std::string_view message) = 0;
  virtual void AnnotationAdded(const Annotation& annotation) = 0;
  virtual void StepFinished(const std::string& job, const std::string& step, StepConclusion outcome,
                            StepConclusion conclusion, double seconds) = 0;
  // A runner message about the job (an action that cannot be found, a bad expression).
  virtual void Error(const std::string& job, std::string_view message) = 0;
  virtual void StepSummary(const std::string& job, std::string_view markdown) = 0;
};

}  // namespace gantry::runner
