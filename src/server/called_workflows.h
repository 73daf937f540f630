// Reusable workflows on the server: `jobs.<id>.uses: ./...` read from the pushed commit.
#pragma once

#include <string>

#include "workflow/reader.h"

namespace gantry::server {

// Loads `./path.yml` with `git show <sha>:<path>` from the hosted repository, refusing
// files over `max_bytes` (the reader's file limit) and paths leaving the repository.
// Remote references (`owner/repo/...@ref`) are read but not checked (found = false).
workflow::CalledWorkflowLoader CommitWorkflowLoader(std::string repo, std::string sha, uint64_t max_bytes = 1u << 20);

// The reader options for a workflow of the hosted repository at `sha`.
workflow::ReadOptions CommitReadOptions(const std::string& repo, const std::string& sha);

}  // namespace gantry::server
