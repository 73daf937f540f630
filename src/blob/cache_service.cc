#include "blob/cache_service.h"

#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::blob {
namespace {

constexpr uint64_t kMaxJsonBody = 64 * 1024;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void SendJson(http::Response& res, int status, const nlohmann::json& body) {
  res.Send(status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void SendMessage(http::Response& res, int status, const std::string& message) {
  SendJson(res, status, {{"message", message}});
}

bool IsDecimal(std::string_view s) {
  return !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Result<std::unique_ptr<CacheService>> CacheService::Open(BlobStore& store, CacheServiceOptions options) {
  if (Status s = MakeDirs(options.data_dir + "/reservations"); !s.ok()) return s;
  auto index = CacheIndex::Open(store, options.data_dir + "/cache.json", options.max_total_bytes);
  if (!index.ok()) return index.status();
  return std::make_unique<CacheService>(store, std::move(options), std::move(*index));
}

CacheService::CacheService(BlobStore& store, CacheServiceOptions options, std::unique_ptr<CacheIndex> index)
    : store_(store),
      options_(std::move(options)),
      index_(std::move(index)),
      next_id_(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count())) {}

http::Handler CacheService::Handler() {
  return [this](http::Request& req, http::Response& res) { Serve(req, res); };
}

void CacheService::Serve(http::Request& req, http::Response& res) {
  std::optional<std::vector<std::string>> scopes =
      options_.scopes ? options_.scopes(req) : std::optional<std::vector<std::string>>({"default"});
  if (!scopes || scopes->empty()) return SendMessage(res, 401, "a runner token is required");
  auto segs = Split(req.path, '/');
  size_t n = segs.size();
  const std::string& m = req.method;
  if (n >= 1 && segs[n - 1] == "cache" && m == "GET") return Lookup(req, res, *scopes);
  if (n >= 1 && segs[n - 1] == "caches" && m == "POST") return Reserve(req, res, scopes->front());
  if (n >= 2 && segs[n - 2] == "caches" && IsDecimal(segs[n - 1])) {
    if (m == "PATCH") return UploadChunk(req, res, segs[n - 1]);
    if (m == "POST") return CommitEntry(req, res, segs[n - 1]);
  }
  if (n >= 2 && segs[n - 2] == "blobs" && (m == "GET" || m == "HEAD")) return Download(req, res, segs[n - 1]);
  SendMessage(res, 404, "no such cache endpoint");
}

void CacheService::Lookup(http::Request& req, http::Response& res, const std::vector<std::string>& scopes) {
  auto keys = Split(req.QueryParam("keys").value_or(""), ',');
  std::string version = req.QueryParam("version").value_or("");
  if (keys.empty() || keys[0].empty() || keys.size() > 10) return SendMessage(res, 400, "keys: 1 to 10 keys expected");
  std::vector<std::string> restore(keys.begin() + 1, keys.end());
  auto hit = index_->Restore(scopes, keys[0], restore, version, Now());
  if (!hit) {
    res.Start(204, {}, 0);
    res.Finish();
    return;
  }
  std::string host(req.Header("Host"));
  std::string base = req.path.substr(0, req.path.rfind('/'));
  SendJson(res, 200,
           {{"cacheKey", hit->key},
            {"scope", hit->scope},
            {"creationTime", hit->created},
            {"archiveLocation", "http://" + host + base + "/blobs/" + hit->digest}});
}

void CacheService::Reserve(http::Request& req, http::Response& res, const std::string& scope) {
  auto body = req.ReadAll(kMaxJsonBody);
  if (!body.ok()) return SendMessage(res, 413, body.error());
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("version") ||
      !j["version"].is_string()) {
    return SendMessage(res, 400, "request:1:1: expected {\"key\": string, \"version\": string, \"cacheSize\": number}");
  }
  if (j.contains("cacheSize") && j["cacheSize"].is_number_unsigned() &&
      j["cacheSize"].get<uint64_t>() > options_.max_entry_bytes) {
    return SendMessage(res, 400, "cache size over the limit of " + std::to_string(options_.max_entry_bytes) + " bytes");
  }
  std::string key = j["key"], version = j["version"];
  for (const auto& e : index_->List(scope)) {
    if (e.key == key && e.version == version) return SendMessage(res, 409, "cache entry already exists: " + key);
  }
  auto upload = store_.BeginUpload();
  if (!upload.ok()) return SendMessage(res, 500, upload.error());
  uint64_t id = next_id_++;
  nlohmann::json r = {{"upload", *upload}, {"scope", scope}, {"key", key}, {"version", version}};
  if (Status s = WriteFileAtomic(options_.data_dir + "/reservations/" + std::to_string(id), r.dump()); !s.ok()) {
    return SendMessage(res, 500, s.message());
  }
  SendJson(res, 201, {{"cacheId", id}});
}

std::optional<CacheService::Reservation> CacheService::FindReservation(const std::string& id) {
  auto text = ReadFile(options_.data_dir + "/reservations/" + id, kMaxJsonBody);
  if (!text.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return Reservation{j.value("upload", ""), j.value("scope", ""), j.value("key", ""), j.value("version", "")};
}

void CacheService::UploadChunk(http::Request& req, http::Response& res, const std::string& id) {
  auto r = FindReservation(id);
  if (!r) return SendMessage(res, 404, "cache reservation " + id + " not found");
  // "bytes a-b/*"
  std::string_view range = req.Header("Content-Range");
  uint64_t first = 0;
  if (StartsWith(range, "bytes ")) {
    std::string_view spec = range.substr(6);
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos || !IsDecimal(spec.substr(0, dash))) {
      return SendMessage(res, 400, "Content-Range: expected bytes a-b/*");
    }
    first = std::stoull(std::string(spec.substr(0, dash)));
  } else if (!range.empty()) {
    return SendMessage(res, 400, "Content-Range: expected bytes a-b/*");
  }
  bool read_error = false;
  ReadFn read = [&](char* buf, size_t n) -> long long {
    long long got = req.ReadBody(buf, n);
    if (got < 0) read_error = true;
    return got;
  };
  auto written = store_.WriteAt(r->upload_id, first, read, options_.max_entry_bytes);
  if (!written.ok()) return SendMessage(res, read_error ? 400 : 413, written.error());
  res.Start(204, {}, 0);
  res.Finish();
}

void CacheService::CommitEntry(http::Request& req, http::Response& res, const std::string& id) {
  auto r = FindReservation(id);
  if (!r) return SendMessage(res, 404, "cache reservation " + id + " not found");
  auto body = req.ReadAll(kMaxJsonBody);
  auto j = body.ok() ? nlohmann::json::parse(*body, nullptr, false) : nlohmann::json();
  if (j.is_discarded() || !j.is_object() || !j.contains("size") || !j["size"].is_number_unsigned()) {
    return SendMessage(res, 400, "request:1:1: expected {\"size\": number}");
  }
  auto size = store_.UploadSize(r->upload_id);
  if (!size.ok() || *size != j["size"].get<uint64_t>()) {
    store_.CancelUpload(r->upload_id);
    ::unlink((options_.data_dir + "/reservations/" + id).c_str());
    return SendMessage(res, 400,
                       "uploaded " + std::to_string(size.ok() ? *size : 0) + " bytes, the commit says " +
                           std::to_string(j["size"].get<uint64_t>()));
  }
  auto info = store_.Commit(r->upload_id, "");
  ::unlink((options_.data_dir + "/reservations/" + id).c_str());
  if (!info.ok()) return SendMessage(res, 500, info.error());
  CacheEntry e;
  e.scope = r->scope, e.key = r->key, e.version = r->version, e.digest = info->digest;
  if (Status s = index_->Save(e, Now()); !s.ok()) return SendMessage(res, 409, s.message());
  res.Start(204, {}, 0);
  res.Finish();
}

void CacheService::Download(http::Request& req, http::Response& res, const std::string& digest) {
  auto size = store_.Stat(digest);
  if (!size) return SendMessage(res, 404, "cache archive not found");
  uint64_t offset = 0, length = *size;
  int status = 200;
  http::Headers headers = {{"Content-Type", "application/octet-stream"}, {"Accept-Ranges", "bytes"}};
  std::string_view range = req.Header("Range");
  if (StartsWith(range, "bytes=")) {
    auto parts = Split(range.substr(6), '-');
    if (parts.size() != 2 || !IsDecimal(parts[0]) || (!parts[1].empty() && !IsDecimal(parts[1]))) {
      return SendMessage(res, 416, "bad Range");
    }
    uint64_t a = std::stoull(parts[0]);
    uint64_t b = parts[1].empty() ? *size - 1 : std::min<uint64_t>(std::stoull(parts[1]), *size - 1);
    if (a >= *size || b < a) return SendMessage(res, 416, "range outside the archive");
    offset = a, length = b - a + 1, status = 206;
    headers.push_back(
        {"Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(*size)});
  }
  if (req.method == "HEAD") {
    res.Start(status, headers, length);
    res.Finish();
    return;
  }
  auto reader = store_.Open(digest, offset, length);
  if (!reader.ok()) return SendMessage(res, 404, reader.error());
  res.Start(status, headers, length);
  std::vector<char> buf(1 << 20);
  for (;;) {
    long long n = (*reader)->Read(buf.data(), buf.size());
    if (n <= 0 || !res.Write(std::string_view(buf.data(), static_cast<size_t>(n)))) break;
  }
  res.Finish();
}

}  // namespace gantry::blob
