#include "server/instance_logs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "monitor/app_logs.h"

namespace gantry::server {
namespace {

constexpr uint64_t kMaxReadPerFile = 4u << 20;  // per round: a chatty instance cannot hog it
constexpr size_t kMaxLine = 16 * 1024;          // the LogStore cuts longer lines anyway
constexpr int64_t kKeepShippedMs = 3'600'000;

// "ID.log" / "ID.err" where ID is GROUP-PID-TIME-N (the local fleet's instance ids).
bool InstanceFile(const std::string& name, std::string* id, std::string* stream) {
  if (EndsWith(name, ".log")) {
    *stream = "stdout";
  } else if (EndsWith(name, ".err")) {
    *stream = "stderr";
  } else {
    return false;
  }
  *id = name.substr(0, name.size() - 4);
  auto parts = Split(*id, '-');
  if (parts.size() < 4) return false;
  for (size_t i = parts.size() - 3; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i].find_first_not_of("0123456789") != std::string::npos) return false;
  }
  return !InstanceLogShipper::ServiceOf(*id).empty();
}

}  // namespace

std::string InstanceLogShipper::ServiceOf(const std::string& instance_id) {
  std::string s = instance_id.substr(0, instance_id.find_first_of(".-"));
  return monitor::IsValidServiceName(s) ? s : "";
}

InstanceLogShipper::InstanceLogShipper(std::string dir, monitor::LogStore* logs) : dir_(std::move(dir)), logs_(logs) {}

Status InstanceLogShipper::LoadOffsets() {
  loaded_ = true;
  auto text = ReadFile(dir_ + "/.shipped", 16u << 20);
  if (!text.ok()) return Status::Ok();  // first start: nothing shipped yet
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return Status::Error(dir_ + "/.shipped: not a JSON object; delete it to ship every log again");
  for (const auto& [k, v] : j.items()) {
    if (v.is_number_unsigned()) offsets_[k] = v.get<uint64_t>();
  }
  return Status::Ok();
}

Result<size_t> InstanceLogShipper::Ship(int64_t now_ms) {
  if (!loaded_) {
    if (Status st = LoadOffsets(); !st.ok()) return st;
  }
  std::set<std::string> names;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace(e->d_name);
    ::closedir(d);
  }
  std::vector<monitor::LogLine> lines;
  std::map<std::string, uint64_t> next = offsets_;
  std::vector<std::string> drop;
  for (const auto& name : names) {
    std::string id, stream;
    if (!InstanceFile(name, &id, &stream)) continue;
    const std::string path = dir_ + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    uint64_t& off = next[name];
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size < off) off = 0;  // truncated or replaced: start over
    if (size == off) {
      // Shipped; once the instance is gone (no record) and the file is quiet, delete it.
      if (!names.count(id + ".json") && now_ms - int64_t{st.st_mtime} * 1000 > kKeepShippedMs) {
        drop.push_back(name);
      }
      continue;
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string buf(std::min<uint64_t>(size - off, kMaxReadPerFile), '\0');
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    ::close(fd);
    if (n <= 0) continue;
    buf.resize(static_cast<size_t>(n));
    size_t start = 0;
    for (;;) {
      size_t nl = buf.find('\n', start);
      // A line still being written waits for its newline, unless it is already too long.
      if (nl == std::string::npos) {
        if (buf.size() - start < kMaxLine) break;
        nl = start + kMaxLine;
      }
      monitor::LogLine l;
      l.service = ServiceOf(id);
      l.instance = id;
      l.stream = stream;
      l.text = buf.substr(start, nl - start);
      if (!l.text.empty() && l.text.back() == '\r') l.text.pop_back();
      l.t_ms = now_ms;
      lines.push_back(std::move(l));
      start = nl < buf.size() && buf[nl] == '\n' ? nl + 1 : nl;
      if (start >= buf.size()) break;
    }
    off += start;
  }
  const size_t shipped = lines.size();
  if (!lines.empty()) {
    if (Status st = logs_->Append(std::move(lines)); !st.ok()) return st;
  }
  for (const auto& name : drop) {
    if (::unlink((dir_ + "/" + name).c_str()) == 0 || errno == ENOENT) next.erase(name);
  }
  for (auto it = next.begin(); it != next.end();) {  // files deleted by someone else
    it = names.count(it->first) ? std::next(it) : next.erase(it);
  }
  if (next != offsets_) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : next) j[k] = v;
    if (Status st = WriteFileAtomic(dir_ + "/.shipped", j.dump()); !st.ok()) return st;
    offsets_ = std::move(next);
  }
  return shipped;
}

}  // namespace gantry::server
