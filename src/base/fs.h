// File helpers: whole-file reads with a size limit, atomic writes (temp + fsync + rename).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gantry {

// Reads a whole file; refuses files larger than `limit` bytes with a clear message.
Result<std::string> ReadFile(const std::string& path, uint64_t limit = 64ull << 20);
// Writes `data` to `path` atomically: a reader sees the old file or the new one, never a part.
Status WriteFileAtomic(const std::string& path, std::string_view data);
// Appends to a file, creating it if needed.
Status AppendFile(const std::string& path, std::string_view data);
// mkdir -p
Status MakeDirs(const std::string& path);
// A new private directory under $TMPDIR (or /tmp) whose name starts with `prefix`.
Result<std::string> MakeTempDir(std::string_view prefix);
// rm -rf; missing paths are fine.
Status RemoveAll(const std::string& path);
bool PathExists(const std::string& path);

}  // namespace gantry
