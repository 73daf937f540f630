// libFuzzer target for the workflow reader: any input must give a workflow or diagnostics,
// never a crash, hang or unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "workflow/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gantry::workflow::ReadOptions options;
  options.max_file_bytes = 64 * 1024;
  options.max_nodes = 20000;
  gantry::workflow::ReadResult r =
      gantry::workflow::ReadWorkflow(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yml", options);
  if (r.ok() && r.workflow->jobs.empty()) __builtin_trap();  // the reader requires at least one job
  for (const auto& d : r.errors) (void)d.ToString();
  return 0;
}
