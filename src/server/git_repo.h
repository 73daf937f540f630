// The hosted bare repositories under <data>/git/<project>.git, read with the git binary.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::server {

// Runs git with `args`; stdout on success, an error with stderr otherwise.
Result<std::string> Git(const std::vector<std::string>& args, const std::string& cwd = "");
// git init --bare, with receive-pack enabled for smart HTTP.
Status InitBareRepo(const std::string& path);
// Every ref and its commit ("refs/heads/main" -> sha).
std::map<std::string, std::string> ListRefs(const std::string& repo);
// Workflow files at `sha`: .gantry/workflows/*.yml|yaml, else .github/workflows/*.
std::vector<std::string> WorkflowFiles(const std::string& repo, const std::string& sha);
Result<std::string> ShowFile(const std::string& repo, const std::string& sha, const std::string& path);
// Files changed between two commits (all files of `to` when `from` is empty/zero).
std::vector<std::string> ChangedFiles(const std::string& repo, const std::string& from, const std::string& to);
// A commit's title (its message's first line, at most 300 bytes) and author name; empty
// strings when `sha` is not a commit of `repo`.
struct CommitSummary {
  std::string title, author;
};
CommitSummary DescribeCommit(const std::string& repo, const std::string& sha);
// Checks out `sha` into a new directory `dest` (a local clone).
Status Checkout(const std::string& repo, const std::string& sha, const std::string& dest);
// Project names: letters, digits, '-', '_', '.', not starting with '.', at most 64.
bool ValidProjectName(const std::string& name);

}  // namespace gantry::server
