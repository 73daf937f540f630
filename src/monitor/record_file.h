// Append-only files of checksummed records, the on-disk form of the time-series segments
// and the application logs. Each record is [u32 length][u32 crc32 of the payload][payload].
// A crash can tear only the tail of a file being appended; readers stop at the first bad
// record and Repair() cuts it off, so a restart never sees half a record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gantry::monitor {

uint32_t Crc32(std::string_view data);

inline constexpr uint32_t kMaxRecordBytes = 1 << 20;

// Frames and appends records in one write; with `sync`, fdatasync()s before returning.
Status AppendRecords(const std::string& path, const std::vector<std::string>& payloads, bool sync);

struct RecordScan {
  std::vector<std::string> payloads;
  uint64_t valid_bytes = 0;  // the good prefix
  uint64_t file_bytes = 0;
};
// Reads every whole, valid record; a missing file is an empty scan.
Result<RecordScan> ReadRecords(const std::string& path, uint64_t limit = 1ull << 30);
// Truncates a torn or corrupt tail; returns the bytes cut off.
Result<uint64_t> RepairRecordFile(const std::string& path);

// Little-endian field helpers for payloads.
void PutU16(std::string* out, uint16_t v);
void PutU32(std::string* out, uint32_t v);
void PutI64(std::string* out, int64_t v);
void PutF64(std::string* out, double v);
void PutString(std::string* out, std::string_view s);  // u32 length + bytes

// Reads fields in order; any overrun sets ok() to false and yields zeros.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view data) : data_(data) {}
  uint16_t U16();
  uint32_t U32();
  int64_t I64();
  double F64();
  std::string String(size_t limit = kMaxRecordBytes);
  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  bool Take(void* out, size_t n);
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace gantry::monitor
