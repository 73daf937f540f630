// Reads GitHub Actions workflow YAML into workflow::Workflow, reporting every error of a
// file at once (`file:line:col: message`) before anything runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "workflow/model.h"

namespace gantry::workflow {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  // "file:line:col: message" (or "file: message" without a position).
  std::string ToString() const;
};

// A called (reusable) workflow's text, as found by a CalledWorkflowLoader.
struct CalledWorkflowSource {
  bool found = false;  // false: not available here; the call is read but not checked
  std::string yaml;
  std::string file;  // for messages ("x/.github/workflows/build.yml")
};
// Finds the workflow of `jobs.<id>.uses` ("./.github/workflows/b.yml", "o/r/.github/workflows/b.yml@v1").
// An error is reported at the `uses:` value.
using CalledWorkflowLoader = std::function<Result<CalledWorkflowSource>(const std::string& uses)>;

// Limits on untrusted input. Defaults follow GitHub's documented limits where there is one.
struct ReadOptions {
  uint64_t max_file_bytes = 1u << 20;
  int max_depth = 64;         // YAML nesting
  size_t max_nodes = 200000;  // YAML nodes in one file
  size_t max_jobs = 256;
  size_t max_steps_per_job = 1000;
  size_t max_matrix_combinations = 256;
  size_t max_expression_bytes = 21000;  // GitHub's limit on one `run:` / expression string
  // Reusable workflows: without a loader, calls are read but not checked or run.
  CalledWorkflowLoader load_called_workflow;
  int max_call_depth = 4;              // GitHub: a caller and up to three levels of called workflows
  size_t max_called_workflows = 64;    // called files read in all, nested ones included
  int call_depth = 0;                  // set by the reader for called workflows
  std::shared_ptr<size_t> calls_read;  // shared by the nested reads of one workflow
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

// Loads `./...` calls from files under `repo_root` (a missing file, or a path leaving the
// root, is an error); other calls go to `remote` when given, else are not checked.
CalledWorkflowLoader LocalWorkflowLoader(std::string repo_root, CalledWorkflowLoader remote = nullptr);

}  // namespace gantry::workflow
