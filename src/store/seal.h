// Secrets at rest: AES-256-GCM with a random 96-bit nonce per value (nonce || ciphertext ||
// tag), and the key file in the data directory. Also the zstd helpers for log chunks.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace gantry::store {

// Reads the 32-byte key at `path`, creating it (mode 0600) when absent.
Result<std::string> LoadOrCreateKey(const std::string& path);
Result<std::string> Seal(std::string_view key, std::string_view plaintext);
Result<std::string> Unseal(std::string_view key, std::string_view sealed);
// Random bytes as lowercase hex (tokens, webhook secrets).
std::string RandomHex(size_t bytes);

std::string Compress(std::string_view data);
Result<std::string> Decompress(std::string_view data, size_t limit = 1ull << 30);

}  // namespace gantry::store
