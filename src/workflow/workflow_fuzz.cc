// libFuzzer target for the workflow reader: any input must give a workflow or diagnostics,
// never a crash, hang or unbounded allocation. An input may hold a second document after a
// line `---called---`: it is then the workflow every `jobs.<id>.uses` calls (so reusable-
// workflow checks, nesting and `${{ insert }}` in `with:` are fuzzed too).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "workflow/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view caller = input, called;
  constexpr std::string_view kSplit = "\n---called---\n";
  if (size_t at = input.find(kSplit); at != std::string_view::npos) {
    caller = input.substr(0, at);
    called = input.substr(at + kSplit.size());
  }
  gantry::workflow::ReadOptions options;
  options.max_file_bytes = 64 * 1024;
  options.max_nodes = 20000;
  options.max_call_depth = 3;
  if (!called.empty()) {
    options.load_called_workflow =
        [called](const std::string& uses) -> gantry::Result<gantry::workflow::CalledWorkflowSource> {
      if (uses.find("missing") != std::string::npos)
        return gantry::Result<gantry::workflow::CalledWorkflowSource>::Error("not found");
      gantry::workflow::CalledWorkflowSource src;
      src.found = true;
      src.yaml = std::string(called);
      src.file = "called.yml";
      return src;
    };
  }
  gantry::workflow::ReadResult r = gantry::workflow::ReadWorkflow(caller, "fuzz.yml", options);
  if (r.ok() && r.workflow->jobs.empty()) __builtin_trap();  // the reader requires at least one job
  if (r.ok()) {
    for (const auto& job : r.workflow->jobs) {
      if (job.called && job.called->jobs.empty()) __builtin_trap();
    }
  }
  for (const auto& d : r.errors) (void)d.ToString();
  return 0;
}
