// Console and JSON-lines output of `gantry run` (runner::OutputSink implementations).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "runner/output.h"

namespace gantry::cli {

class RunPrinter : public runner::OutputSink {
 public:
  // Also told about jobs and the run as a whole.
  virtual void JobStarted(const engine::JobRun& run) = 0;
  virtual void JobFinished(const engine::JobRun& run, const engine::JobOutcome& outcome) = 0;
  virtual void RunError(const std::string& message) = 0;
  virtual void RunFinished(const engine::RunSummary& summary, int exit_code) = 0;
};

// Lines prefixed "[job] ", colour when `color`, groups folded (their lines shown only when the
// step fails, or always with `verbose`), summary table and annotations at the end.
std::unique_ptr<RunPrinter> MakeConsolePrinter(FILE* out, bool color, bool verbose);
// One JSON object per line: {"type":"line","job":...,"text":...} and so on (docs/run.md).
std::unique_ptr<RunPrinter> MakeJsonPrinter(FILE* out);

}  // namespace gantry::cli
