#include "blob/zip.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "base/fs.h"

namespace gantry::blob {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 1 << 20;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string ArchiveError(archive* a, const std::string& what) {
  const char* e = archive_error_string(a);
  return what + ": " + (e != nullptr ? e : "unknown archive error");
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

Status AddFile(archive* a, const fs::path& file, const std::string& name) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error("cannot read " + file.string());
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::Error("cannot stat " + file.string());
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), st.st_mode & 0755);
  archive_entry_set_size(e.get(), st.st_size);
  archive_entry_set_mtime(e.get(), st.st_mtime, 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return Status::Error(ArchiveError(a, "zip " + name));
  std::string buf(kChunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) return Status::Error("cannot read " + file.string());
    if (n == 0) break;
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n) {
      return Status::Error(ArchiveError(a, "zip " + name));
    }
  }
  return Status::Ok();
}

// Feeds libarchive from a ReadFn with one reusable buffer.
struct Source {
  const ReadFn* read;
  std::string buf = std::string(kChunk, '\0');
  bool failed = false;
};

la_ssize_t SourceRead(archive*, void* data, const void** out) {
  auto* s = static_cast<Source*>(data);
  long long n = (*s->read)(s->buf.data(), s->buf.size());
  if (n < 0) {
    s->failed = true;
    return -1;
  }
  *out = s->buf.data();
  return static_cast<la_ssize_t>(n);
}

// Walks every entry, checked, calling `on_entry` with the archive positioned at its data.
Result<ZipSummary> WalkZip(const ReadFn& read, const ZipLimits& limits,
                           const std::function<Status(archive*, const std::string&, bool dir)>& on_entry) {
  ArchivePtr a(archive_read_new());
  archive_read_support_format_zip(a.get());
  Source src{&read};
  if (archive_read_open(a.get(), &src, nullptr, SourceRead, nullptr) != ARCHIVE_OK) {
    return Result<ZipSummary>::Error(ArchiveError(a.get(), "zip: not a readable zip file"));
  }
  ZipSummary sum;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    std::string where = "zip: entry " + std::to_string(sum.entries + 1);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (src.failed) return Result<ZipSummary>::Error(where + ": the upload broke off");
      return Result<ZipSummary>::Error(ArchiveError(a.get(), where));
    }
    if (++sum.entries > limits.max_entries) {
      return Result<ZipSummary>::Error("zip: more than " + std::to_string(limits.max_entries) + " entries");
    }
    const char* p = archive_entry_pathname(e);
    std::string name = p != nullptr ? p : "";
    if (auto st = CheckZipEntryName(name, limits); !st.ok()) {
      return Result<ZipSummary>::Error(where + ": " + st.message());
    }
    where += " '" + name + "'";
    auto type = archive_entry_filetype(e);
    bool dir = type == AE_IFDIR || name.back() == '/';
    if (!dir && type != AE_IFREG) return Result<ZipSummary>::Error(where + ": only files and directories are allowed");
    if (!dir) {
      ++sum.files;
      if (archive_entry_size_is_set(e)) {
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || static_cast<uint64_t>(size) > limits.max_total_bytes) {
          return Result<ZipSummary>::Error(where + ": the archive expands beyond " +
                                           std::to_string(limits.max_total_bytes) + " bytes");
        }
      }
    }
    if (auto st = on_entry(a.get(), name, dir); !st.ok()) return Result<ZipSummary>::Error(where + ": " + st.message());
  }
  return sum;
}

// Reads an entry's data, calling `sink` per block, with the running total under the limit.
Status ReadEntryData(archive* a, uint64_t* total, uint64_t limit,
                     const std::function<Status(const char*, size_t)>& sink) {
  std::string buf(kChunk, '\0');
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return Status::Error(ArchiveError(a, "corrupt data"));
    if (n == 0) return Status::Ok();
    *total += static_cast<uint64_t>(n);
    if (*total > limit) return Status::Error("the archive expands beyond " + std::to_string(limit) + " bytes");
    if (sink) {
      if (auto st = sink(buf.data(), static_cast<size_t>(n)); !st.ok()) return st;
    }
  }
}

}  // namespace

Status CheckZipEntryName(std::string_view name, const ZipLimits& limits) {
  if (name.empty()) return Status::Error("empty entry name");
  if (name.size() > limits.max_name_bytes) {
    return Status::Error("entry name longer than " + std::to_string(limits.max_name_bytes) + " bytes");
  }
  if (name.front() == '/') return Status::Error("absolute entry name '" + std::string(name) + "'");
  if (name.size() >= 2 && name[1] == ':') return Status::Error("drive letter in entry name");
  int depth = 0;
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    bool last = end == name.size() || end + 1 == name.size();
    if (part.empty() && !(last && end == name.size())) return Status::Error("empty path component in entry name");
    if (part == "." || part == "..") return Status::Error("entry name '" + std::string(name) + "' leaves the archive");
    for (char c : part) {
      if (c == '\0' || c == '\\') return Status::Error("NUL or backslash in entry name");
    }
    if (++depth > limits.max_depth) return Status::Error("entry name nested too deeply");
    start = end + 1;
  }
  return Status::Ok();
}

Status WriteZip(const std::string& root, const std::vector<std::string>& paths, const std::string& out_path) {
  ArchivePtr a(archive_write_new());
  archive_write_set_format_zip(a.get());
  if (archive_write_open_filename(a.get(), out_path.c_str()) != ARCHIVE_OK) {
    return Status::Error(ArchiveError(a.get(), "cannot create " + out_path));
  }
  std::error_code ec;
  for (const auto& p : paths) {
    fs::path src = p.empty() ? fs::path(root) : fs::path(root) / p;
    if (fs::is_directory(src, ec)) {
      for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;  // follows links to files, as upload-artifact does
        std::string name = it->path().lexically_relative(root).generic_string();
        if (auto st = AddFile(a.get(), it->path(), name); !st.ok()) return st;
      }
      if (ec) return Status::Error("cannot list " + src.string() + ": " + ec.message());
    } else if (fs::is_regular_file(src, ec)) {
      if (auto st = AddFile(a.get(), src, fs::path(p).generic_string()); !st.ok()) return st;
    } else {
      return Status::Error("not a file or directory: " + src.string());
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return Status::Error(ArchiveError(a.get(), "cannot write " + out_path));
  return Status::Ok();
}

Result<ZipSummary> CheckZip(const ReadFn& read, const ZipLimits& limits) {
  uint64_t total = 0;
  auto sum = WalkZip(read, limits, [&](archive* a, const std::string&, bool dir) {
    if (dir) return Status::Ok();
    return ReadEntryData(a, &total, limits.max_total_bytes, nullptr);
  });
  if (sum.ok()) sum->total_bytes = total;
  return sum;
}

Result<ZipSummary> ExtractZip(const ReadFn& read, const std::string& dest, const ZipLimits& limits) {
  if (auto st = MakeDirs(dest); !st.ok()) return Result<ZipSummary>::Error(st.message());
  uint64_t total = 0;
  auto sum = WalkZip(read, limits, [&](archive* a, const std::string& name, bool dir) -> Status {
    fs::path target = fs::path(dest) / name;
    std::error_code ec;
    if (dir) {
      fs::create_directories(target, ec);
      return ec ? Status::Error("cannot create " + target.string() + ": " + ec.message()) : Status::Ok();
    }
    fs::create_directories(target.parent_path(), ec);
    // O_NOFOLLOW: a link planted by an earlier step can't redirect the write.
    fs::remove(target, ec);
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Error("cannot create " + target.string());
    FdCloser closer{fd};
    return ReadEntryData(a, &total, limits.max_total_bytes, [&](const char* p, size_t n) -> Status {
      while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0) return Status::Error("cannot write " + target.string());
        p += w;
        n -= static_cast<size_t>(w);
      }
      return Status::Ok();
    });
  });
  if (sum.ok()) sum->total_bytes = total;
  return sum;
}

}  // namespace gantry::blob
