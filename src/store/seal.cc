#include "store/seal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <memory>

#include "base/fs.h"
#include "base/sha256.h"

namespace gantry::store {

Result<std::string> LoadOrCreateKey(const std::string& path) {
  if (PathExists(path)) {
    auto key = ReadFile(path, 64);
    if (!key.ok()) return key;
    if (key->size() != 32) return Result<std::string>::Error(path + ": secrets key must be 32 bytes");
    return key;
  }
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1) {
    return Result<std::string>::Error("cannot generate a secrets key");
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Result<std::string>::Error(path + ": cannot create the secrets key");
  bool ok = ::write(fd, key.data(), key.size()) == 32 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Result<std::string>::Error(path + ": cannot write the secrets key");
  return key;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)>;

Result<std::string> Seal(std::string_view key, std::string_view plaintext) {
  if (key.size() != 32) return Result<std::string>::Error("bad key size");
  unsigned char nonce[12];
  RAND_bytes(nonce, sizeof nonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(reinterpret_cast<char*>(nonce), sizeof nonce);
  out.resize(12 + plaintext.size() + 16);
  int len = 0, total = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + 12;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                         nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), dst, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return Result<std::string>::Error("encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, dst + plaintext.size()) != 1) {
    return Result<std::string>::Error("encryption failed");
  }
  return out;
}

Result<std::string> Unseal(std::string_view key, std::string_view sealed) {
  if (key.size() != 32 || sealed.size() < 28) return Result<std::string>::Error("sealed value is malformed");
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t n = sealed.size() - 28;
  const auto* cipher = nonce + 12;
  std::string tag(sealed.substr(12 + n));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                         nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, cipher, static_cast<int>(n)) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return Result<std::string>::Error("secret cannot be decrypted (wrong key or tampered value)");
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  return ToHex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

std::string Compress(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

Result<std::string> Decompress(std::string_view data, size_t limit) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > limit) {
    return Result<std::string>::Error("compressed log chunk is malformed");
  }
  std::string out(size, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n)) return Result<std::string>::Error("compressed log chunk is malformed");
  out.resize(n);
  return out;
}

}  // namespace gantry::store
