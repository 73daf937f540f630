// The portable fallback of Response::WriteFile (servers override it with sendfile).
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/http.h"

namespace gantry::http {

bool Response::WriteFile(int fd, uint64_t offset, uint64_t length) {
  std::string buf(static_cast<size_t>(std::min<uint64_t>(length, 1 << 20)), '\0');
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (!Write(std::string_view(buf.data(), static_cast<size_t>(n)))) return false;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace gantry::http
