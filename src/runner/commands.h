// Workflow commands: lines a step prints on stdout such as `::add-mask::value`,
// `::error file=a.c,line=3::message` or `::set-output name=x::v`. This file parses one line;
// the step runner (step_runner.cc) decides what each command does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gantry::runner {

struct WorkflowCommand {
  std::string name;                                        // "error", "add-mask", ...
  std::vector<std::pair<std::string, std::string>> props;  // unescaped, in order
  std::string data;                                        // unescaped message

  const std::string* Prop(std::string_view key) const;
};

// Parses `::name k=v,k2=v2::data` (leading whitespace allowed). nullopt if the line is not a
// command. Escapes: %25 %0D %0A in data, plus %3A %2C in property values.
std::optional<WorkflowCommand> ParseWorkflowCommand(std::string_view line);

// An annotation (`::error`, `::warning`, `::notice`) as shown in the run summary.
struct Annotation {
  std::string level;  // "error", "warning", "notice"
  std::string message;
  std::string file;
  int line = 0;
  int col = 0;
  int end_line = 0;
  int end_col = 0;
  std::string title;
  std::string job;  // filled by the runner: "build (linux, 18)"
};

}  // namespace gantry::runner
