// SHA-256 (OpenSSL) for content addresses, hashFiles() and HMAC signatures.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gantry {

// Incremental hasher: Update() any number of times, then HexDigest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::array<uint8_t, 32> Digest();
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view data);
Result<std::string> Sha256FileHex(const std::string& path);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
std::string ToHex(const uint8_t* data, size_t n);
// Constant-time comparison for secrets and signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace gantry
