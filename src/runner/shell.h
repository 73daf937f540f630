// The `shell:` of a `run:` step turned into a command line, as GitHub's runner does on Linux:
//   (unset)  bash -e {0}  (sh -e {0} when bash is missing)
//   bash     bash --noprofile --norc -eo pipefail {0}
//   sh       sh -e {0}
//   python   python {0}
//   pwsh     pwsh -command ". '{0}'"
//   custom   any command line with {0} where the script file goes ("perl {0}").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::runner {

struct ShellCommand {
  std::vector<std::string> argv;  // each may contain "{0}"
  std::string extension;          // of the script file: ".sh", ".py", ...

  // argv with {0} replaced by `script_path`.
  std::vector<std::string> Build(const std::string& script_path) const;
};

// `path_list` is the PATH used to see whether bash exists (for the default shell).
Result<ShellCommand> ResolveShell(std::string_view shell, std::string_view path_list);

}  // namespace gantry::runner
