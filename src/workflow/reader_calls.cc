// Reusable-workflow calls (`jobs.<id>.uses`): the called workflow is loaded through
// ReadOptions::load_called_workflow, read with the same limits (one level deeper), and the
// caller's `with:` and `secrets:` are checked against its `on.workflow_call` declaration.
#include <algorithm>
#include <set>

#include "base/strings.h"
#include "expr/expr.h"
#include "workflow/reader_internal.h"

namespace gantry::workflow::internal {
namespace {

bool IsBool(const std::string& s) { return s == "true" || s == "false" || s == "True" || s == "False"; }

bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

void ReadCalledWorkflow(Reader& r, Job& job) {
  const ReadOptions& opts = r.options();
  if (!opts.load_called_workflow || !job.uses) return;
  if (opts.call_depth + 1 >= opts.max_call_depth) {
    r.Error(job.uses_mark, "Nested reusable workflow depth exceeded " + std::to_string(opts.max_call_depth - 1) + ".");
    return;
  }
  if (++*r.calls_read() > opts.max_called_workflows) {
    r.Error(job.uses_mark,
            "Too many reusable workflow calls (more than " + std::to_string(opts.max_called_workflows) + " in all)");
    return;
  }
  Result<CalledWorkflowSource> src = opts.load_called_workflow(*job.uses);
  if (!src.ok()) {
    r.Error(job.uses_mark, src.error());
    return;
  }
  if (!src->found) return;
  ReadOptions inner = opts;
  inner.call_depth = opts.call_depth + 1;
  inner.calls_read = r.calls_read();
  ReadResult called = ReadWorkflow(src->yaml, src->file, inner);
  if (!called.ok()) {
    // The called file's own errors, with its name; one line here says who called it.
    r.Error(job.uses_mark, "The called workflow '" + *job.uses + "' is invalid (errors below)");
    for (Diagnostic& d : called.errors) r.errors().push_back(std::move(d));
    return;
  }
  const Trigger* call = called.workflow->FindTrigger("workflow_call");
  if (call == nullptr) {
    r.Error(job.uses_mark, "The workflow '" + *job.uses + "' cannot be called: it has no 'on: workflow_call' trigger");
    return;
  }
  // with: every key a declared input (case-insensitively), of its type when written literally.
  std::set<std::string> given;
  for (const auto& entry : job.with) {
    const std::string& name = entry.first;  // not a structured binding: lambdas below use it
    const Text& text = entry.second;
    if (name == kInsertKey) continue;  // merged at run time; not checkable here
    auto it = std::find_if(call->inputs.begin(), call->inputs.end(),
                           [&](const Input& in) { return ToLower(in.name) == ToLower(name); });
    if (it == call->inputs.end()) {
      r.Error(text.mark, "Invalid input, " + name + " is not defined in the referenced workflow.");
      continue;
    }
    given.insert(ToLower(it->name));
    if (text.has_expression) continue;
    if ((it->type == "boolean" && !IsBool(text.value)) || (it->type == "number" && !IsNumber(text.value))) {
      r.Error(text.mark, "Unexpected value '" + text.value + "'");
    }
  }
  bool inserted = std::any_of(job.with.begin(), job.with.end(), [](const auto& e) { return e.first == kInsertKey; });
  for (const Input& in : call->inputs) {
    if (in.required && !in.default_value && !given.count(ToLower(in.name)) && !inserted) {
      r.Error(job.uses_mark, "Input " + in.name + " is required, but not provided while calling.");
    }
  }
  // secrets: declared ones only; required ones given (unless `inherit`).
  if (!job.secrets_inherit) {
    std::set<std::string> secrets;
    for (const auto& entry : job.secrets) {
      const std::string& name = entry.first;
      const Text& text = entry.second;
      if (name == kInsertKey) continue;
      auto it = std::find_if(call->secrets.begin(), call->secrets.end(),
                             [&](const CallSecret& s) { return ToLower(s.name) == ToLower(name); });
      if (it == call->secrets.end()) {
        r.Error(text.mark, "Invalid secret, " + name + " is not defined in the referenced workflow.");
        continue;
      }
      secrets.insert(ToLower(it->name));
    }
    for (const CallSecret& s : call->secrets) {
      if (s.required && !secrets.count(ToLower(s.name))) {
        r.Error(job.uses_mark, "Secret " + s.name + " is required, but not provided while calling.");
      }
    }
  }
  job.called = std::make_shared<const Workflow>(std::move(*called.workflow));
}

}  // namespace gantry::workflow::internal
