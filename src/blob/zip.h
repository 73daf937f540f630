// Artifacts travel as zip files (GitHub's format: @actions/artifact uploads one, the API's
// zipped download serves one). These helpers write a zip from files on disk and check or
// extract one from a byte stream, all through libarchive in bounded memory. Entry names come
// from outside (uploaded zips), so every reader refuses absolute names, `..`, links and
// archives beyond the limits (zip-slip and zip bombs), with errors naming the entry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blob/blob_store.h"

namespace gantry::blob {

struct ZipLimits {
  uint64_t max_entries = 100000;
  uint64_t max_total_bytes = 16ull << 30;  // uncompressed
  size_t max_name_bytes = 1024;
  int max_depth = 64;  // path components
};

struct ZipSummary {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t total_bytes = 0;  // uncompressed
};

// An entry name is a relative '/'-separated path without empty, "." or ".." components, NUL,
// backslash or a drive letter; directories may end in '/'. The error says what is wrong.
Status CheckZipEntryName(std::string_view name, const ZipLimits& limits = {});

// Writes the files under `root` named by `paths` (relative to root; directories recursively,
// "" for root itself) into a new zip at `out_path`, names relative to root.
Status WriteZip(const std::string& root, const std::vector<std::string>& paths, const std::string& out_path);

// Reads the whole zip `read` yields and checks every entry (names, types, limits).
Result<ZipSummary> CheckZip(const ReadFn& read, const ZipLimits& limits = {});

// Extracts the zip into `dest` (created if needed). Regular files and directories only.
Result<ZipSummary> ExtractZip(const ReadFn& read, const std::string& dest, const ZipLimits& limits = {});

}  // namespace gantry::blob
