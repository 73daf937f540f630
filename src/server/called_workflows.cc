#include "server/called_workflows.h"

#include "base/strings.h"
#include "server/git_repo.h"

namespace gantry::server {

workflow::CalledWorkflowLoader CommitWorkflowLoader(std::string repo, std::string sha, uint64_t max_bytes) {
  return [repo = std::move(repo), sha = std::move(sha),
          max_bytes](const std::string& uses) -> Result<workflow::CalledWorkflowSource> {
    using R = Result<workflow::CalledWorkflowSource>;
    workflow::CalledWorkflowSource src;
    if (!StartsWith(uses, "./")) return src;
    std::string rel = uses.substr(2);
    if (rel.find('@') != std::string::npos) return R::Error("a local reusable workflow takes no @ref: '" + uses + "'");
    if (rel.empty() || rel[0] == '/' || ("/" + rel + "/").find("/../") != std::string::npos ||
        ("/" + rel + "/").find("/./") != std::string::npos || rel.find(':') != std::string::npos)
      return R::Error("the reusable workflow path '" + uses + "' must stay inside the repository");
    if (!EndsWith(rel, ".yml") && !EndsWith(rel, ".yaml"))
      return R::Error("a reusable workflow is a .yml or .yaml file: '" + uses + "'");
    src.file = rel;
    // Check the size before reading, so a huge blob is never loaded into memory.
    auto size = Git({"--git-dir", repo, "cat-file", "-s", sha + ":" + rel});
    if (!size.ok()) return R::Error("the called workflow '" + uses + "' was not found at commit " + sha.substr(0, 12));
    uint64_t bytes = std::strtoull(std::string(Trim(*size)).c_str(), nullptr, 10);
    if (bytes > max_bytes)
      return R::Error(rel + ": " + std::to_string(bytes) + " bytes is over the limit of " + std::to_string(max_bytes));
    auto text = ShowFile(repo, sha, rel);
    if (!text.ok()) return R::Error(text.error());
    src.found = true;
    src.yaml = std::move(*text);
    return src;
  };
}

workflow::ReadOptions CommitReadOptions(const std::string& repo, const std::string& sha) {
  workflow::ReadOptions options;
  options.load_called_workflow = CommitWorkflowLoader(repo, sha, options.max_file_bytes);
  return options;
}

}  // namespace gantry::server
