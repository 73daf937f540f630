#include "runner/store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "base/fs.h"

namespace gantry::runner {

namespace fs = std::filesystem;

namespace {

// Keys come from workflows; keep them inside the store.
std::string SafeName(const std::string& key) {
  std::string out;
  for (char c : key) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

class LocalStore : public ActionStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  Status Save(const std::string& space, const std::string& key, const std::string& root,
              const std::vector<std::string>& paths) override {
    std::string dir = root_ + "/" + space + "/" + SafeName(key);
    std::string tmp = dir + ".tmp";
    RemoveAll(tmp);
    if (auto st = MakeDirs(tmp); !st.ok()) return st;
    std::error_code ec;
    for (const auto& p : paths) {
      fs::path src = fs::path(root) / p;
      fs::path dst = fs::path(tmp) / p;
      fs::create_directories(dst.parent_path(), ec);
      if (fs::is_directory(src, ec)) {
        fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
      } else {
        fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
      }
      if (ec) return Status::Error("cannot store " + src.string() + ": " + ec.message());
    }
    RemoveAll(dir);
    fs::rename(tmp, dir, ec);
    if (ec) return Status::Error("cannot store entry " + key + ": " + ec.message());
    return Status::Ok();
  }

  Result<bool> Restore(const std::string& space, const std::string& key, const std::string& dest) override {
    std::string dir = root_ + "/" + space + "/" + SafeName(key);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    fs::create_directories(dest, ec);
    fs::copy(dir, dest, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) return Result<bool>::Error("cannot restore " + key + " into " + dest + ": " + ec.message());
    return true;
  }

  std::vector<std::string> List(const std::string& space, const std::string& prefix) override {
    std::vector<std::pair<fs::file_time_type, std::string>> found;
    std::error_code ec;
    std::string safe_prefix = SafeName(prefix);
    if (prefix.empty()) safe_prefix.clear();
    for (const auto& e : fs::directory_iterator(root_ + "/" + space, ec)) {
      std::string name = e.path().filename().string();
      if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") continue;
      if (name.compare(0, safe_prefix.size(), safe_prefix) != 0) continue;
      found.emplace_back(e.last_write_time(ec), name);
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> out;
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
  }

 private:
  std::string root_;
};

}  // namespace

std::unique_ptr<ActionStore> MakeLocalStore(const std::string& root) { return std::make_unique<LocalStore>(root); }

}  // namespace gantry::runner
