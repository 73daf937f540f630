#include "deploy/image_rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"
#include "blob/blob_store.h"
#include "registry/manifest.h"
#include "registry/names.h"

namespace gantry::deploy {
namespace {

using Json = nlohmann::json;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

struct ReadCtx {
  const std::function<long long(char*, size_t)>* read;
  std::vector<char> buf = std::vector<char>(1 << 16);
};

la_ssize_t ReadCallback(archive* a, void* data, const void** out) {
  auto* ctx = static_cast<ReadCtx*>(data);
  const long long n = (*ctx->read)(ctx->buf.data(), ctx->buf.size());
  if (n < 0) {
    archive_set_error(a, EIO, "layer read failed");
    return -1;
  }
  *out = ctx->buf.data();
  return static_cast<la_ssize_t>(n);
}

// The entry's path as components inside the root; refuses "..". Empty: the root itself.
Result<std::vector<std::string>> CleanPath(std::string_view p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    if (c == "..") return Result<std::vector<std::string>>::Error("path leaves the image root");
    if (!c.empty() && c != ".") parts.emplace_back(c);
    i = j + 1;
  }
  return parts;
}

std::string Join(const std::string& root, const std::vector<std::string>& parts, size_t n) {
  std::string out = root;
  for (size_t k = 0; k < n && k < parts.size(); ++k) out += "/" + parts[k];
  return out;
}

// Every directory above the entry must be a real directory inside the root: following a
// symlink a layer planted would write outside it.
Status CheckParents(const std::string& root, const std::vector<std::string>& parts) {
  for (size_t k = 1; k < parts.size(); ++k) {
    const std::string dir = Join(root, parts, k);
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) {
      if (mkdir(dir.c_str(), 0755) != 0) return Status::Error("cannot create " + dir);
      continue;
    }
    if (S_ISLNK(st.st_mode)) return Status::Error("path goes through a symlink");
    if (!S_ISDIR(st.st_mode)) return Status::Error("a parent is not a directory");
  }
  return Status::Ok();
}

// Clears what is at `path` unless both it and the new entry are directories.
void Replace(const std::string& path, bool new_is_dir) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode) && new_is_dir) return;
  if (S_ISDIR(st.st_mode))
    (void)RemoveAll(path);
  else
    unlink(path.c_str());
}

}  // namespace

Status ApplyLayer(const std::string& root, const std::function<long long(char*, size_t)>& read, const std::string& what,
                  const UnpackLimits& limits, LayerCounters* counters) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  ReadCtx ctx{&read};
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK)
    return Status::Error(what + ": not a tar layer: " + (archive_error_string(a.get()) ?: "?"));
  std::vector<char> buf(1 << 16);
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return Status::Error(what + ": " + (archive_error_string(a.get()) ?: "bad tar entry"));
    const char* name_c = archive_entry_pathname(e);
    const std::string name = name_c ? name_c : "";
    auto fail = [&](const std::string& why) { return Status::Error(what + ": " + name + ": " + why); };
    if (++counters->entries > limits.max_entries)
      return fail("more than " + std::to_string(limits.max_entries) + " entries");
    if (name.size() > limits.max_path) return fail("path too long");
    auto parts = CleanPath(name);
    if (!parts.ok()) return fail(parts.error());
    if (parts->empty()) continue;  // the root directory itself
    if (Status st = CheckParents(root, *parts); !st.ok()) return fail(st.message());
    const std::string base = parts->back();
    const std::string parent = Join(root, *parts, parts->size() - 1);
    if (base == ".wh..wh..opq") {  // opaque directory: lower layers' contents are hidden
      if (Status st = RemoveAll(parent); !st.ok()) return fail(st.message());
      mkdir(parent.c_str(), 0755);
      continue;
    }
    if (base.rfind(".wh.", 0) == 0) {
      const std::string victim = parent + "/" + base.substr(4);
      if (base.size() == 4) return fail("empty whiteout");
      Replace(victim, false);
      continue;
    }
    const std::string path = Join(root, *parts, parts->size());
    const mode_t mode = (archive_entry_perm(e) & 01777);  // no setuid/setgid
    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = CleanPath(hl);
      if (!target.ok() || target->empty()) return fail("hard link leaves the image root");
      if (Status st = CheckParents(root, *target); !st.ok()) return fail("hard link: " + st.message());
      const std::string tpath = Join(root, *target, target->size());
      struct stat st;
      if (lstat(tpath.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return fail("hard link to a missing file");
      Replace(path, false);
      if (link(tpath.c_str(), path.c_str()) != 0) return fail(std::string("link: ") + strerror(errno));
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: {
        Replace(path, true);
        if (mkdir(path.c_str(), mode | 0700) != 0 && errno != EEXIST) return fail("cannot create directory");
        chmod(path.c_str(), mode | 0700);
        break;
      }
      case AE_IFLNK: {
        Replace(path, false);
        const char* t = archive_entry_symlink(e);
        if (!t || symlink(t, path.c_str()) != 0) return fail("cannot create symlink");
        break;
      }
      case AE_IFREG: {
        Replace(path, false);
        const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode | 0600);
        if (fd < 0) return fail(std::string("cannot create: ") + strerror(errno));
        for (;;) {
          const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
          if (n < 0) {
            close(fd);
            return fail(archive_error_string(a.get()) ?: "read error");
          }
          if (n == 0) break;
          counters->bytes += static_cast<uint64_t>(n);
          if (counters->bytes > limits.max_bytes) {
            close(fd);
            return fail("image larger than " + std::to_string(limits.max_bytes) + " bytes unpacked");
          }
          if (write(fd, buf.data(), static_cast<size_t>(n)) != n) {
            close(fd);
            return fail("write failed (disk full?)");
          }
        }
        fchmod(fd, mode);
        close(fd);
        break;
      }
      default:
        break;  // devices and fifos: not created by an unprivileged fleet
    }
  }
  return Status::Ok();
}

namespace {

// The child manifest of an index for `platform` ("os/arch[/variant]"). An index whose
// entries say nothing of platforms gives its first; attestation entries ("unknown") are
// never chosen.
Result<std::string> ChooseFromIndex(const registry::Manifest& index, const std::string& platform,
                                    const std::string& what) {
  using R = Result<std::string>;
  if (index.manifests.empty()) return R::Error(what + ": empty image index");
  const auto want = Split(platform, '/');
  bool described = false;
  std::string have;
  for (const auto& d : index.manifests) {
    if (d.platform_os.empty() && d.platform_arch.empty()) continue;
    described = true;
    if (d.platform_os == "unknown") continue;
    if (want.size() >= 2 && d.platform_os == want[0] && d.platform_arch == want[1] &&
        (want.size() < 3 || d.platform_variant.empty() || d.platform_variant == want[2]))
      return d.digest;
    have += (have.empty() ? "" : ", ") + d.platform_os + "/" + d.platform_arch +
            (d.platform_variant.empty() ? "" : "/" + d.platform_variant);
  }
  if (!described) return index.manifests[0].digest;
  return R::Error(what + ": the image index has no " + platform + " image (it has " + (have.empty() ? "none" : have) +
                  ")");
}

}  // namespace

std::string ImageUnpacker::HostPlatform() {
  utsname u{};
  if (::uname(&u) != 0) return "linux/amd64";
  const std::string m = u.machine;
  if (m == "x86_64") return "linux/amd64";
  if (m == "aarch64" || m == "arm64") return "linux/arm64/v8";
  if (StartsWith(m, "armv7")) return "linux/arm/v7";
  if (StartsWith(m, "armv6")) return "linux/arm/v6";
  if (m == "i386" || m == "i686") return "linux/386";
  return "linux/" + m;  // ppc64le, s390x, riscv64 are spelled the same
}

struct ImageUnpacker::Impl {
  Impl(blob::BlobStore& b, std::string r, std::string c, UnpackLimits l)
      : blobs(b), registry_dir(std::move(r)), cache_dir(std::move(c)), limits(l) {}
  blob::BlobStore& blobs;
  std::string registry_dir, cache_dir;
  UnpackLimits limits;
  std::string platform = HostPlatform();
  std::mutex mu;  // one unpack at a time: a second asker waits and then hits the cache

  Result<std::string> ManifestDigest(const std::string& reference, std::string* name);
  Result<ImageRootfs> ReadCached(const std::string& dir, const std::string& digest);
};

Result<std::string> ImageUnpacker::Impl::ManifestDigest(const std::string& reference, std::string* name) {
  using R = Result<std::string>;
  std::string ref = reference;
  // A leading registry host ("127.0.0.1:8080/", "registry.local/", "localhost/") names us.
  if (auto slash = ref.find('/'); slash != std::string::npos) {
    const std::string first = ref.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") ref = ref.substr(slash + 1);
  }
  std::string tag = "latest", digest;
  if (auto at = ref.find('@'); at != std::string::npos) {
    digest = ref.substr(at + 1);
    ref = ref.substr(0, at);
    if (!blob::IsValidDigest(digest)) return R::Error("image " + reference + ": bad digest");
  } else if (auto colon = ref.rfind(':'); colon != std::string::npos && ref.find('/', colon) == std::string::npos) {
    tag = ref.substr(colon + 1);
    ref = ref.substr(0, colon);
  }
  if (!registry::IsValidRepositoryName(ref)) return R::Error("image " + reference + ": bad repository name");
  if (!registry::IsValidTag(tag)) return R::Error("image " + reference + ": bad tag");
  *name = ref;
  if (!digest.empty()) return digest;
  auto text = ReadFile(registry_dir + "/repositories/" + ref + "/_tags/" + tag, 4096);
  if (!text.ok()) return R::Error("image " + reference + ": not in the registry (push it first)");
  const std::string d = text->substr(0, text->find('\n'));
  if (!blob::IsValidDigest(d)) return R::Error("image " + reference + ": corrupt tag link");
  return d;
}

Result<ImageRootfs> ImageUnpacker::Impl::ReadCached(const std::string& dir, const std::string& digest) {
  using R = Result<ImageRootfs>;
  auto text = ReadFile(dir + "/run.json", 1 << 20);
  if (!text.ok()) return R::Error(text.error());
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return R::Error(dir + "/run.json: not JSON");
  ImageRootfs out;
  out.manifest_digest = digest;
  out.rootfs = dir + "/rootfs";
  try {
    out.entrypoint = j.value("entrypoint", std::vector<std::string>{});
    out.cmd = j.value("cmd", std::vector<std::string>{});
    out.env = j.value("env", std::vector<std::string>{});
    out.working_dir = j.value("working_dir", std::string{});
  } catch (const Json::exception&) {
    return R::Error(dir + "/run.json: bad fields");
  }
  return out;
}

ImageUnpacker::ImageUnpacker(blob::BlobStore& blobs, std::string registry_dir, std::string cache_dir,
                             UnpackLimits limits)
    : impl_(std::make_unique<Impl>(blobs, std::move(registry_dir), std::move(cache_dir), limits)) {}
ImageUnpacker::~ImageUnpacker() = default;

Result<ImageRootfs> ImageUnpacker::Unpack(const std::string& reference) {
  using R = Result<ImageRootfs>;
  Impl& m = *impl_;
  std::string name;
  auto digest = m.ManifestDigest(reference, &name);
  if (!digest.ok()) return R::Error(digest.error());
  std::lock_guard lock(m.mu);
  const std::string what = "image " + reference;
  auto text = m.blobs.ReadSmall(*digest, registry::kMaxManifestBytes);
  if (!text.ok()) return R::Error(what + ": manifest " + *digest + ": " + text.error());
  auto manifest = registry::ParseManifest(*text, "");
  if (!manifest.ok()) return R::Error(what + ": " + manifest.error());
  if (manifest->is_index) {  // the image for this machine's platform
    auto chosen = ChooseFromIndex(*manifest, m.platform, what);
    if (!chosen.ok()) return R::Error(chosen.error());
    auto child = m.blobs.ReadSmall(*chosen, registry::kMaxManifestBytes);
    if (!child.ok()) return R::Error(what + ": " + child.error());
    manifest = registry::ParseManifest(*child, "");
    if (!manifest.ok() || manifest->is_index) return R::Error(what + ": nested index or bad child manifest");
    *digest = *chosen;  // the cache holds images, not indexes
  }
  const std::string dir = m.cache_dir + "/" + std::string(blob::DigestHex(*digest));
  if (PathExists(dir + "/run.json")) {
    ::utimes((dir + "/run.json").c_str(), nullptr);  // last used now (Prune keeps it)
    return m.ReadCached(dir, *digest);
  }
  if (!manifest->config) return R::Error(what + ": manifest without config");
  if (static_cast<int>(manifest->layers.size()) > m.limits.max_layers) return R::Error(what + ": too many layers");
  auto config_text = m.blobs.ReadSmall(manifest->config->digest, 1 << 20);
  if (!config_text.ok()) return R::Error(what + ": config: " + config_text.error());
  Json config = Json::parse(*config_text, nullptr, false);
  if (!config.is_object()) return R::Error(what + ": config is not a JSON object");
  Json run = Json::object();
  try {
    const Json c = config.value("config", Json::object());
    auto strings = [&](const char* key) {
      return c.contains(key) && c[key].is_array() ? c[key].get<std::vector<std::string>>() : std::vector<std::string>{};
    };
    run = {{"entrypoint", strings("Entrypoint")},
           {"cmd", strings("Cmd")},
           {"env", strings("Env")},
           {"working_dir", c.contains("WorkingDir") && c["WorkingDir"].is_string() ? c["WorkingDir"] : ""}};
  } catch (const Json::exception& e) {
    return R::Error(what + ": config: " + e.what());
  }
  if (Status st = MakeDirs(m.cache_dir); !st.ok()) return R::Error(st.message());
  std::string tmpl = m.cache_dir + "/.unpack-XXXXXX";  // same filesystem: renamed into place
  if (!mkdtemp(tmpl.data())) return R::Error(m.cache_dir + ": cannot create a temp dir");
  const std::string* tmp = &tmpl;
  auto cleanup = [&] { (void)RemoveAll(*tmp); };
  const std::string root = *tmp + "/rootfs";
  mkdir(root.c_str(), 0755);
  LayerCounters counters;
  for (size_t k = 0; k < manifest->layers.size(); ++k) {
    const auto& layer = manifest->layers[k];
    auto reader = m.blobs.Open(layer.digest);
    if (!reader.ok()) {
      cleanup();
      return R::Error(what + ": layer " + layer.digest + ": " + reader.error());
    }
    auto* r = reader->get();
    std::function<long long(char*, size_t)> read = [r](char* b, size_t n) { return r->Read(b, n); };
    Status st = ApplyLayer(root, read, what + " layer " + std::to_string(k + 1), m.limits, &counters);
    if (!st.ok()) {
      cleanup();
      return R::Error(st.message());
    }
  }
  // Mount points bubblewrap needs in a read-only root.
  for (const char* d : {"/dev", "/proc", "/tmp"}) mkdir((root + d).c_str(), 0755);
  if (Status st = WriteFileAtomic(*tmp + "/run.json", run.dump()); !st.ok()) {
    cleanup();
    return R::Error(st.message());
  }
  if (rename(tmp->c_str(), dir.c_str()) != 0) {
    cleanup();
    if (!PathExists(dir + "/run.json")) return R::Error(dir + ": cannot store the unpacked image");
  }
  return m.ReadCached(dir, *digest);
}

void ImageUnpacker::set_platform(std::string platform) {
  std::lock_guard lock(impl_->mu);
  impl_->platform = std::move(platform);
}

Result<int> ImageUnpacker::Prune(const std::set<std::string>& in_use, int64_t keep_unused_ms) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);  // no unpack runs meanwhile: every .unpack-* dir is a leftover
  std::vector<std::string> names;
  if (DIR* d = ::opendir(m.cache_dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  const int64_t now_s = ::time(nullptr);
  int removed = 0;
  for (const auto& name : names) {
    const std::string path = m.cache_dir + "/" + name;
    bool drop = StartsWith(name, ".unpack-");
    if (!drop && name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos) {
      if (in_use.count(path + "/rootfs")) continue;
      struct stat st {};
      drop = ::stat((path + "/run.json").c_str(), &st) != 0 ||
             (now_s - static_cast<int64_t>(st.st_mtime)) * 1000 > keep_unused_ms;
    }
    if (!drop) continue;
    if (Status st = RemoveAll(path); !st.ok()) return st;
    ++removed;
  }
  return removed;
}

}  // namespace gantry::deploy
