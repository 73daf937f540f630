// Reads GitHub Actions workflow YAML into workflow::Workflow, reporting every error of a
// file at once (`file:line:col: message`) before anything runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workflow/model.h"

namespace gantry::workflow {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  // "file:line:col: message" (or "file: message" without a position).
  std::string ToString() const;
};

// Limits on untrusted input. Defaults follow GitHub's documented limits where there is one.
struct ReadOptions {
  uint64_t max_file_bytes = 1u << 20;
  int max_depth = 64;         // YAML nesting
  size_t max_nodes = 200000;  // YAML nodes in one file
  size_t max_jobs = 256;
  size_t max_steps_per_job = 1000;
  size_t max_matrix_combinations = 256;
  size_t max_expression_bytes = 21000;  // GitHub's limit on one `run:` / expression string
};

struct ReadResult {
  std::optional<Workflow> workflow;  // set only when `errors` is empty
  std::vector<Diagnostic> errors;    // sorted by position
  bool ok() const { return errors.empty(); }
  // All errors, one per line, compiler style.
  std::string ErrorText() const;
};

// Parses `yaml` as the contents of `file` (used only in messages and Workflow::file).
ReadResult ReadWorkflow(std::string_view yaml, const std::string& file, const ReadOptions& options = {});

// Reads and parses a file; a file too large or unreadable is one Diagnostic.
ReadResult ReadWorkflowFile(const std::string& path, const ReadOptions& options = {});

}  // namespace gantry::workflow
