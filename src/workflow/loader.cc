// Where called (reusable) workflows come from: files of the repository for `./` references.
#include "base/fs.h"
#include "base/strings.h"
#include "workflow/reader.h"

namespace gantry::workflow {

CalledWorkflowLoader LocalWorkflowLoader(std::string repo_root, CalledWorkflowLoader remote) {
  return [root = std::move(repo_root),
          remote = std::move(remote)](const std::string& uses) -> Result<CalledWorkflowSource> {
    CalledWorkflowSource src;
    if (!StartsWith(uses, "./")) {
      if (remote) return remote(uses);
      return src;
    }
    std::string rel = uses.substr(2);
    if (rel.find('@') != std::string::npos)
      return Result<CalledWorkflowSource>::Error("a local reusable workflow takes no @ref: '" + uses + "'");
    if (rel.empty() || rel[0] == '/' || ("/" + rel + "/").find("/../") != std::string::npos)
      return Result<CalledWorkflowSource>::Error("the reusable workflow path '" + uses +
                                                 "' must stay inside the repository");
    if (!EndsWith(rel, ".yml") && !EndsWith(rel, ".yaml"))
      return Result<CalledWorkflowSource>::Error("a reusable workflow is a .yml or .yaml file: '" + uses + "'");
    src.file = root.empty() || root == "." ? rel : root + "/" + rel;
    if (!PathExists(src.file))
      return Result<CalledWorkflowSource>::Error("the called workflow '" + uses + "' was not found (no file " +
                                                 src.file + ")");
    Result<std::string> text = ReadFile(src.file, 1u << 20);
    if (!text.ok()) return Result<CalledWorkflowSource>::Error(text.error());
    src.found = true;
    src.yaml = std::move(*text);
    return src;
  };
}

}  // namespace gantry::workflow
