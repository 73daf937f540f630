// Blob endpoints: pull (with Range), delete, and the upload protocol (monolithic POST with
// ?digest=, POST then PUT, chunked PATCH with Content-Range, cross-repository mount).
// Request bodies stream straight into the blob store's upload files.
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "base/fs.h"
#include "base/strings.h"
#include "registry/names.h"
#include "registry/registry_impl.h"

namespace gantry::registry {
namespace {

constexpr size_t kCopyBuffer = 1 << 20;

// "a-b" (optionally after "bytes="); false when malformed.
bool ParseRange(std::string_view s, uint64_t* first, std::optional<uint64_t>* last) {
  if (StartsWith(s, "bytes=")) s.remove_prefix(6);
  size_t dash = s.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 19 || s.size() - dash - 1 > 19) return false;
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  std::string_view a = s.substr(0, dash), b = s.substr(dash + 1);
  if (!digits(a) || (!b.empty() && !digits(b))) return false;
  *first = std::stoull(std::string(a));
  if (b.empty()) {
    *last = std::nullopt;
  } else {
    *last = std::stoull(std::string(b));
    if (**last < *first) return false;
  }
  return true;
}

uint64_t CurrentSize(blob::BlobStore& blobs, const std::string& id) {
  auto size = blobs.UploadSize(id);
  return size.ok() ? *size : 0;
}

std::string RangeHeader(uint64_t size) { return size == 0 ? "0-0" : "0-" + std::to_string(size - 1); }

void SendEmpty(http::Response& res, int status, http::Headers headers) {
  headers.push_back({kApiVersionHeader, "registry/2.0"});
  res.Start(status, headers, 0);
  res.Finish();
}

}  // namespace

void Registry::Impl::GetBlob(http::Request& req, http::Response& res, const std::string& name,
                             const std::string& digest) {
  if (!blob::IsValidDigest(digest))
    return SendError(res, 400, "DIGEST_INVALID", "invalid digest \"" + digest.substr(0, 100) + "\"");
  auto size = blobs.Stat(digest);
  if (!size || !HasLayer(name, digest)) return SendError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
  uint64_t offset = 0, length = *size;
  int status = 200;
  http::Headers headers = {{"Content-Type", "application/octet-stream"},
                           {"Docker-Content-Digest", digest},
                           {"Accept-Ranges", "bytes"},
                           {"ETag", "\"" + digest + "\""},
                           {kApiVersionHeader, "registry/2.0"}};
  if (auto range = req.Header("Range"); !range.empty()) {
    uint64_t first;
    std::optional<uint64_t> last;
    if (!ParseRange(range, &first, &last) || first >= *size) {
      http::Headers h = {{"Content-Range", "bytes */" + std::to_string(*size)}};
      SendEmpty(res, 416, h);
      return;
    }
    uint64_t end = std::min(last.value_or(*size - 1), *size - 1);
    offset = first, length = end - first + 1, status = 206;
    headers.push_back(
        {"Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(end) + "/" + std::to_string(*size)});
  }
  if (req.method == "HEAD") {
    res.Start(status, headers, length);
    res.Finish();
    return;
  }
  auto reader = blobs.Open(digest, offset, length);
  if (!reader.ok()) return SendError(res, 404, "BLOB_UNKNOWN", reader.error());
  res.Start(status, headers, length);
  // sendfile from the page cache; on a corrupt blob the body stays short and the client sees it.
  auto sent = (*reader)->SendTo([&res](int fd, uint64_t off, uint64_t n) { return res.WriteFile(fd, off, n); });
  if (sent) {
    if (*sent) res.Finish();
    return;
  }
  std::vector<char> buf(kCopyBuffer);
  for (;;) {
    long long n = (*reader)->Read(buf.data(), buf.size());
    if (n <= 0) break;  // on a corrupt blob the body stays short and the client sees the failure
    if (!res.Write(std::string_view(buf.data(), static_cast<size_t>(n)))) return;
  }
  res.Finish();
}

void Registry::Impl::DeleteBlob(http::Request& req, http::Response& res, const std::string& name,
                                const std::string& digest) {
  if (!blob::IsValidDigest(digest)) return SendError(res, 400, "DIGEST_INVALID", "invalid digest");
  if (!PathExists(RepoDir(name) + "/_layers/" + std::string(blob::DigestHex(digest)))) {
    return SendError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
  }
  ::unlink((RepoDir(name) + "/_layers/" + std::string(blob::DigestHex(digest))).c_str());
  SendEmpty(res, 202, {});
}

namespace {

// Streams the request body into an upload; false after sending the error response.
bool AppendBody(Registry::Impl& reg, http::Request& req, http::Response& res, const std::string& id) {
  auto start = reg.blobs.UploadSize(id);
  if (!start.ok()) {
    SendError(res, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return false;
  }
  uint64_t max = reg.options.max_blob_bytes;
  if (req.content_length && *start + *req.content_length > max) {
    SendError(res, 413, "SIZE_INVALID", "blob larger than the limit of " + std::to_string(max) + " bytes");
    return false;
  }
  if (req.content_length && *req.content_length == 0) return true;
  uint64_t got = 0;
  bool read_error = false;
  blob::ReadFn read = [&](char* buf, size_t n) -> long long {
    long long r = req.ReadBody(buf, n);
    if (r < 0) read_error = true;
    if (r > 0) got += static_cast<uint64_t>(r);
    return r;
  };
  auto appended = reg.blobs.Append(id, read, max);
  if (!appended.ok()) {
    if (*start + got > max) {
      SendError(res, 413, "SIZE_INVALID", "blob larger than the limit of " + std::to_string(max) + " bytes");
    } else if (read_error) {
      SendError(res, 400, "BLOB_UPLOAD_INVALID", "the request body ended early; the chunk was discarded");
    } else {
      SendError(res, 500, "UNKNOWN", appended.error());
    }
    return false;
  }
  return true;
}

}  // namespace

void Registry::Impl::StartUpload(http::Request& req, http::Response& res, const std::string& name) {
  auto mount = req.QueryParam("mount");
  auto from = req.QueryParam("from");
  if (mount && from && blob::IsValidDigest(*mount) && IsValidRepositoryName(*from)) {
    bool may_read = !options.auth || options.auth(req, *from, Access::kPull) == AuthResult::kAllowed;
    std::shared_lock lock(gc_mu);
    if (may_read && HasLayer(*from, *mount)) {
      if (Status s = LinkLayer(name, *mount); !s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
      return SendEmpty(res, 201, {{"Location", "/v2/" + name + "/blobs/" + *mount}, {"Docker-Content-Digest", *mount}});
    }
    // Not mountable: the spec says to fall back to a regular upload session.
  }
  auto digest = req.QueryParam("digest");
  if (digest && !blob::IsValidDigest(*digest)) {
    return SendError(res, 400, "DIGEST_INVALID", "invalid digest \"" + digest->substr(0, 100) + "\"");
  }
  auto id = blobs.BeginUpload();
  if (!id.ok()) return SendError(res, 500, "UNKNOWN", id.error());
  if (digest) {
    if (!AppendBody(*this, req, res, *id)) {
      blobs.CancelUpload(*id);
      return;
    }
    std::shared_lock lock(gc_mu);
    auto info = blobs.Commit(*id, *digest);
    if (!info.ok()) return SendError(res, 400, "DIGEST_INVALID", info.error());
    if (Status s = LinkLayer(name, *digest); !s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
    return SendEmpty(res, 201, {{"Location", "/v2/" + name + "/blobs/" + *digest}, {"Docker-Content-Digest", *digest}});
  }
  if (Status s = WriteFileAtomic(options.data_dir + "/uploads/" + *id, name); !s.ok()) {
    blobs.CancelUpload(*id);
    return SendError(res, 500, "UNKNOWN", s.message());
  }
  if (req.content_length.value_or(1) > 0 && !AppendBody(*this, req, res, *id)) return;
  SendEmpty(res, 202,
            {{"Location", "/v2/" + name + "/blobs/uploads/" + *id},
             {"Range", RangeHeader(CurrentSize(blobs, *id))},
             {"Docker-Upload-UUID", *id}});
}

void Registry::Impl::UploadRequest(http::Request& req, http::Response& res, const std::string& name,
                                   const std::string& id) {
  const std::string& m = req.method;
  if (m != "GET" && m != "PATCH" && m != "PUT" && m != "DELETE") {
    return SendError(res, 405, "UNSUPPORTED", "method " + m + " not allowed here");
  }
  std::string owner_path = options.data_dir + "/uploads/" + id;
  auto owner = id.find_first_not_of("0123456789abcdef") == std::string::npos ? ReadFile(owner_path, 4096)
                                                                             : Result<std::string>::Error("bad id");
  auto size = blobs.UploadSize(id);
  if (!owner.ok() || *owner != name || !size.ok()) {
    return SendError(res, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown to registry");
  }
  std::string location = "/v2/" + name + "/blobs/uploads/" + id;
  if (m == "DELETE") {
    blobs.CancelUpload(id);
    ::unlink(owner_path.c_str());
    return SendEmpty(res, 204, {});
  }
  if (m == "GET") {
    return SendEmpty(res, 204, {{"Location", location}, {"Range", RangeHeader(*size)}, {"Docker-Upload-UUID", id}});
  }
  if (m == "PATCH") {
    if (auto cr = req.Header("Content-Range"); !cr.empty()) {
      uint64_t first;
      std::optional<uint64_t> last;
      if (!ParseRange(cr, &first, &last) || first != *size ||
          (last && req.content_length && *last - first + 1 != *req.content_length)) {
        SendEmpty(res, 416, {{"Location", location}, {"Range", RangeHeader(*size)}, {"Docker-Upload-UUID", id}});
        return;
      }
    }
    if (!AppendBody(*this, req, res, id)) return;
    return SendEmpty(
        res, 202, {{"Location", location}, {"Range", RangeHeader(CurrentSize(blobs, id))}, {"Docker-Upload-UUID", id}});
  }
  // PUT: the last chunk (optional) and the digest that closes the upload.
  auto digest = req.QueryParam("digest");
  if (!digest || !blob::IsValidDigest(*digest)) {
    return SendError(res, 400, "DIGEST_INVALID", "PUT needs ?digest=sha256:<64 hex>");
  }
  if (req.content_length.value_or(1) > 0 && !AppendBody(*this, req, res, id)) return;
  std::shared_lock lock(gc_mu);
  auto info = blobs.Commit(id, *digest);
  ::unlink(owner_path.c_str());  // the session ends either way
  if (!info.ok()) return SendError(res, 400, "DIGEST_INVALID", info.error());
  if (Status s = LinkLayer(name, *digest); !s.ok()) return SendError(res, 500, "UNKNOWN", s.message());
  SendEmpty(res, 201, {{"Location", "/v2/" + name + "/blobs/" + *digest}, {"Docker-Content-Digest", *digest}});
}

}  // namespace gantry::registry
