// Remote actions (and reusable workflows) fetched with git from a configurable base URL:
// `owner/repo@ref` is cloned from `<base>/owner/repo` (or `<base>/owner/repo.git`) at `ref`
// into `<cache>/owner/repo@ref`, once per ref. No network but what the base URL names.
#pragma once

#include <string>

#include "base/process.h"
#include "base/status.h"

namespace gantry::runner {

struct ActionFetchOptions {
  std::string base_url;   // "file:///srv/actions", "http://127.0.0.1:8080/git"; empty: no fetching
  std::string cache_dir;  // where checked-out refs are kept
  std::string path_env;   // PATH for git
  const CancelSource* cancel = nullptr;
};

// The directory holding `owner/repo` at `ref` (cached; fetched when absent). Errors name the
// URLs tried and git's message.
Result<std::string> FetchRemoteRepository(const ActionFetchOptions& options, const std::string& owner,
                                          const std::string& repo, const std::string& ref);

}  // namespace gantry::runner
