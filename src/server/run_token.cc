#include "server/run_token.h"

#include <sys/stat.h>

#include <mutex>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "store/seal.h"

namespace gantry::server {
namespace {

std::string Key(const std::string& data_dir) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  const std::string path = data_dir + "/run-token.key";
  auto key = ReadFile(path, 4096);
  if (key.ok() && Trim(*key).size() >= 32) return std::string(Trim(*key));
  std::string fresh = store::RandomHex(32);
  (void)WriteFileAtomic(path, fresh + "\n");
  chmod(path.c_str(), 0600);
  return fresh;
}

}  // namespace

std::string MakeRunToken(const std::string& data_dir, int64_t run_id) {
  const std::string id = std::to_string(run_id);
  return "gtr_" + id + "_" + HmacSha256Hex(Key(data_dir), "run:" + id);
}

std::optional<int64_t> RunOfToken(const std::string& data_dir, const std::string& token) {
  if (!StartsWith(token, "gtr_") || token.size() > 120) return std::nullopt;
  const size_t sep = token.find('_', 4);
  if (sep == std::string::npos || sep == 4 || sep > 24) return std::nullopt;
  int64_t id = 0;
  for (size_t i = 4; i < sep; ++i) {
    if (token[i] < '0' || token[i] > '9') return std::nullopt;
    id = id * 10 + (token[i] - '0');
  }
  if (!ConstantTimeEquals(token, MakeRunToken(data_dir, id))) return std::nullopt;
  return id;
}

}  // namespace gantry::server
