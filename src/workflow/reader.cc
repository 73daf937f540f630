// Entry points of the workflow reader: YAML text -> Workflow, every error of a file at once.
#include "workflow/reader.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "base/fs.h"
#include "workflow/reader_internal.h"

namespace gantry::workflow {

std::string Diagnostic::ToString() const {
  if (mark.line == 0) return file + ": " + message;
  return file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " + message;
}

std::string ReadResult::ErrorText() const {
  std::string out;
  for (const Diagnostic& d : errors) out += d.ToString() + "\n";
  return out;
}

namespace internal {

void CheckNeedsGraph(Reader& r, const Workflow& wf) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < wf.jobs.size(); ++i) index.emplace(wf.jobs[i].id, i);
  bool unknown = false;
  for (const Job& job : wf.jobs) {
    for (size_t n = 0; n < job.needs.size(); ++n) {
      if (index.count(job.needs[n]) == 0) {
        r.Error(job.needs_marks[n], "Job '" + job.id + "' depends on unknown job '" + job.needs[n] + "'.");
        unknown = true;
      }
    }
  }
  if (unknown || wf.jobs.empty()) return;
  if (std::none_of(wf.jobs.begin(), wf.jobs.end(), [](const Job& j) { return j.needs.empty(); })) {
    r.Error(wf.jobs.front().mark, "The workflow must contain at least one job with no dependencies.");
    return;
  }
  // Depth-first search; an edge to a job on the current path closes a cycle. Each such edge is
  // reported once, at the `needs` entry that closes it.
  enum class State { kNew, kActive, kDone };
  std::vector<State> state(wf.jobs.size(), State::kNew);
  std::function<void(size_t)> visit = [&](size_t i) {
    state[i] = State::kActive;
    const Job& job = wf.jobs[i];
    for (size_t n = 0; n < job.needs.size(); ++n) {
      size_t j = index[job.needs[n]];
      if (state[j] == State::kActive) {
        r.Error(job.needs_marks[n], "Job '" + job.id + "' depends on job '" + job.needs[n] +
                                        "' which creates a cycle in the dependency graph.");
      } else if (state[j] == State::kNew) {
        visit(j);
      }
    }
    state[i] = State::kDone;
  };
  for (size_t i = 0; i < wf.jobs.size(); ++i) {
    if (state[i] == State::kNew) visit(i);
  }
}

namespace {

// yaml-cpp accepts tags GitHub refuses; only YAML's core-schema tags are allowed.
void CheckTags(Reader& r, const YAML::Node& node, int depth) {
  if (!r.CountNode(node)) return;
  if (depth > r.options().max_depth) {
    r.Error(node, "Maximum object depth exceeded (" + std::to_string(r.options().max_depth) + ")");
    return;
  }
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!") {
    static const char* kAllowed[] = {"tag:yaml.org,2002:str",  "tag:yaml.org,2002:int",  "tag:yaml.org,2002:float",
                                     "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
                                     "tag:yaml.org,2002:map"};
    if (std::find(std::begin(kAllowed), std::end(kAllowed), tag) == std::end(kAllowed)) {
      r.Error(node, "Unexpected tag '" + tag + "'");
    }
  }
  if (node.IsMap()) {
    for (const auto& kv : node) {
      CheckTags(r, kv.first, depth + 1);
      CheckTags(r, kv.second, depth + 1);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) CheckTags(r, item, depth + 1);
  }
}

void ReadRoot(Reader& r, const YAML::Node& root, Workflow& wf) {
  if (!root.IsMap()) {
    r.Error(root, "A workflow must be a mapping with 'on' and 'jobs'");
    return;
  }
  r.Require(root, "on");
  r.Require(root, "jobs");
  r.ForEachKey(root, {"name", "run-name", "description", "on", "env", "defaults", "permissions", "concurrency", "jobs"},
               [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
                 if (k == "name") {
                   wf.name = r.ReadText(v, "", ExprUse::kNone);
                 } else if (k == "run-name") {
                   wf.run_name = r.ReadText(v, "run-name", ExprUse::kTemplate);
                 } else if (k == "description") {
                   r.ReadText(v, "", ExprUse::kNone);
                 } else if (k == "on") {
                   ReadTriggers(r, v, wf);
                 } else if (k == "env") {
                   wf.env = r.ReadTextMap(v, "env");
                 } else if (k == "defaults") {
                   if (!r.ExpectMap(v)) return;
                   r.ForEachKey(v, {"run"}, [&](const std::string&, const YAML::Node&, const YAML::Node& run) {
                     ReadRunDefaults(r, run, "", wf.defaults);
                   });
                 } else if (k == "permissions") {
                   ReadPermissions(r, v, wf.permissions);
                 } else if (k == "concurrency") {
                   ReadConcurrency(r, v, "concurrency", wf.concurrency);
                 } else if (k == "jobs") {
                   ReadJobs(r, v, wf);
                 }
               });
  CheckNeedsGraph(r, wf);
}

}  // namespace
}  // namespace internal

ReadResult ReadWorkflow(std::string_view yaml, const std::string& file, const ReadOptions& options) {
  ReadResult result;
  internal::Reader r(file, options);
  if (yaml.size() > options.max_file_bytes) {
    r.Error(Mark{},
            "The maximum file size of " + std::to_string(options.max_file_bytes) + " characters has been exceeded");
    result.errors = std::move(r.errors());
    return result;
  }
  Workflow wf;
  wf.file = file;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    internal::CheckTags(r, root, 0);
    if (r.errors().empty()) {
      internal::Reader reader(file, options);  // fresh node budget for the typed pass
      internal::ReadRoot(reader, root, wf);
      r.errors() = std::move(reader.errors());
    }
  } catch (const YAML::Exception& e) {
    Mark mark;
    if (!e.mark.is_null()) mark = Mark{e.mark.line + 1, e.mark.column + 1};
    r.Error(mark, e.msg.empty() ? std::string("invalid YAML") : e.msg);
  }
  result.errors = std::move(r.errors());
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
  });
  if (result.errors.empty()) result.workflow = std::move(wf);
  return result;
}

ReadResult ReadWorkflowFile(const std::string& path, const ReadOptions& options) {
  Result<std::string> text = ReadFile(path, options.max_file_bytes);
  if (!text.ok()) {
    ReadResult result;
    result.errors.push_back(Diagnostic{path, Mark{}, text.error()});
    return result;
  }
  return ReadWorkflow(*text, path, options);
}

}  // namespace gantry::workflow
