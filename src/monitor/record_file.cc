#include "monitor/record_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/fs.h"

namespace gantry::monitor {

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutU16(std::string* out, uint16_t v) { out->append(reinterpret_cast<const char*>(&v), 2); }
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutI64(std::string* out, int64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutF64(std::string* out, double v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool PayloadReader::Take(void* out, size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    std::memset(out, 0, n);
    return false;
  }
  std::memcpy(out, data_.data() + pos_, n);
  pos_ += n;
  return true;
}
uint16_t PayloadReader::U16() {
  uint16_t v;
  Take(&v, 2);
  return v;
}
uint32_t PayloadReader::U32() {
  uint32_t v;
  Take(&v, 4);
  return v;
}
int64_t PayloadReader::I64() {
  int64_t v;
  Take(&v, 8);
  return v;
}
double PayloadReader::F64() {
  double v;
  Take(&v, 8);
  return v;
}
std::string PayloadReader::String(size_t limit) {
  uint32_t n = U32();
  if (!ok_ || n > limit || data_.size() - pos_ < n) {
    ok_ = false;
    return {};
  }
  std::string s(data_.substr(pos_, n));
  pos_ += n;
  return s;
}

Status AppendRecords(const std::string& path, const std::vector<std::string>& payloads, bool sync) {
  if (payloads.empty()) return Status::Ok();
  std::string buf;
  for (const auto& p : payloads) {
    if (p.size() > kMaxRecordBytes) return Status::Error(path + ": record larger than the limit");
    PutU32(&buf, static_cast<uint32_t>(p.size()));
    PutU32(&buf, Crc32(p));
    buf += p;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error(path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::Error(path + ": write: " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fdatasync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return Status::Error(path + ": fdatasync: " + std::strerror(e));
  }
  ::close(fd);
  return Status::Ok();
}

Result<RecordScan> ReadRecords(const std::string& path, uint64_t limit) {
  RecordScan scan;
  if (!PathExists(path)) return scan;
  auto data = ReadFile(path, limit);
  if (!data.ok()) return data.status();
  std::string_view d = *data;
  scan.file_bytes = d.size();
  size_t pos = 0;
  while (d.size() - pos >= 8) {
    uint32_t len, crc;
    std::memcpy(&len, d.data() + pos, 4);
    std::memcpy(&crc, d.data() + pos + 4, 4);
    if (len > kMaxRecordBytes || d.size() - pos - 8 < len) break;
    std::string_view payload = d.substr(pos + 8, len);
    if (Crc32(payload) != crc) break;
    scan.payloads.emplace_back(payload);
    pos += 8 + len;
  }
  scan.valid_bytes = pos;
  return scan;
}

Result<uint64_t> RepairRecordFile(const std::string& path) {
  auto scan = ReadRecords(path);
  if (!scan.ok()) return scan.status();
  if (scan->valid_bytes == scan->file_bytes) return uint64_t{0};
  if (::truncate(path.c_str(), static_cast<off_t>(scan->valid_bytes)) != 0) {
    return Result<uint64_t>::Error(path + ": truncate: " + std::strerror(errno));
  }
  return scan->file_bytes - scan->valid_bytes;
}

}  // namespace gantry::monitor
