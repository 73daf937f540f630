// The `path:` input of actions/upload-artifact, resolved as the real action does: one pattern
// per line (`*`, `?`, `[...]` within a path segment, `**` across segments), `!pattern` lines
// exclude (the last matching line decides), `#` lines are comments, a matched directory
// means every file below it. Files are stored relative to the least common ancestor of the
// patterns' search paths (their parts before the first wildcard); a single matched file
// named literally is stored by its file name.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::runner {

struct ArtifactFiles {
  std::string root;                // absolute directory the files are relative to
  std::vector<std::string> files;  // sorted, relative to root, regular files only
};

// Patterns are relative to `workspace` unless absolute (`~/` is $HOME). At most `max_files`
// files (an error beyond that).
Result<ArtifactFiles> FindArtifactFiles(const std::string& path_input, const std::string& workspace,
                                        size_t max_files = 100000);

// Matches `path` (absolute, normalized) against `pattern` (absolute, normalized) segment by
// segment; true also when the pattern matches one of the path's parent directories.
bool ArtifactPatternMatches(const std::string& pattern, const std::string& path);

}  // namespace gantry::runner
