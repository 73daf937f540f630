#include "server/results_wire.h"

#include <ctime>

#include "server/json_body.h"

namespace gantry::server {

namespace {

constexpr size_t kMaxString = 4096;

using nlohmann::json;

// The member under its proto name or its JSON (lowerCamelCase) name.
const json* Member(const json& j, const char* proto, const char* camel) {
  auto it = j.find(proto);
  if (it == j.end()) it = j.find(camel);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Status String(const json& j, const char* proto, const char* camel, std::string* out) {
  const json* v = Member(j, proto, camel);
  if (v == nullptr) return Status::Ok();
  if (v->is_number_integer()) {  // the artifact service's int32 `version`
    *out = std::to_string(v->get<int64_t>());
    return Status::Ok();
  }
  if (!v->is_string()) return Status::Error(std::string("body: ") + proto + ": a string is expected");
  *out = v->get<std::string>();
  if (out->size() > kMaxString) return Status::Error(std::string("body: ") + proto + ": longer than 4096 bytes");
  return Status::Ok();
}

// int64 in proto JSON: a decimal string or a number.
Status Int(const json& j, const char* proto, const char* camel, std::optional<int64_t>* out) {
  const json* v = Member(j, proto, camel);
  if (v == nullptr) return Status::Ok();
  if (v->is_number_integer()) {
    *out = v->get<int64_t>();
  } else if (v->is_string()) {
    std::string s = v->get<std::string>();
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Error(std::string("body: ") + proto + ": a non-negative integer is expected");
    }
    *out = std::stoll(s);
  } else {
    return Status::Error(std::string("body: ") + proto + ": an integer is expected");
  }
  if (**out < 0) return Status::Error(std::string("body: ") + proto + ": must not be negative");
  return Status::Ok();
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  if (s.size() < 20 || s.size() > 40) return std::nullopt;
  auto digits = [&](size_t at, size_t n) -> int {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return std::nullopt;
  std::tm tm{};
  int y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return std::nullopt;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (i == s.size()) return std::nullopt;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
    int oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  }
  if (i != s.size()) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

Status CheckCacheKey(std::string_view key) {
  if (key.empty() || key.size() > 512) return Status::Error("cache key: 1 to 512 characters expected");
  if (key.find(',') != std::string_view::npos) return Status::Error("cache key: commas are not allowed");
  return Status::Ok();
}

Result<TwirpRequest> ParseTwirpRequest(std::string_view body) {
  using R = Result<TwirpRequest>;
  auto doc = ParseJsonBody(body);
  if (!doc.ok()) return R::Error(doc.error());
  if (!doc->is_object()) return R::Error("body:1:1: a JSON object is expected");
  const json& j = *doc;
  TwirpRequest r;
  std::optional<int64_t> size, id;
  std::string hash, name_filter, expires;
  for (Status st : {String(j, "workflow_run_backend_id", "workflowRunBackendId", &r.run_backend_id),
                    String(j, "workflow_job_run_backend_id", "workflowJobRunBackendId", &r.job_backend_id),
                    String(j, "name", "name", &r.name), String(j, "key", "key", &r.key),
                    String(j, "version", "version", &r.version), String(j, "hash", "hash", &hash),
                    String(j, "name_filter", "nameFilter", &name_filter),
                    String(j, "expires_at", "expiresAt", &expires), Int(j, "size", "size", &size),
                    Int(j, "size_bytes", "sizeBytes", &size), Int(j, "id_filter", "idFilter", &id)}) {
    if (!st.ok()) return R::Error(st.message());
  }
  if (Member(j, "hash", "hash")) r.hash = hash;
  if (Member(j, "name_filter", "nameFilter")) r.name_filter = name_filter;
  r.id_filter = id;
  if (size) r.size = static_cast<uint64_t>(*size);
  if (!expires.empty()) {
    r.expires_at_s = ParseRfc3339(expires);
    if (!r.expires_at_s) return R::Error("body: expires_at: an RFC 3339 timestamp is expected");
  }
  if (const json* keys = Member(j, "restore_keys", "restoreKeys")) {
    if (!keys->is_array() || keys->size() > 10) return R::Error("body: restore_keys: at most 10 strings expected");
    for (const auto& k : *keys) {
      if (!k.is_string() || k.get_ref<const std::string&>().size() > kMaxString) {
        return R::Error("body: restore_keys: at most 10 strings expected");
      }
      r.restore_keys.push_back(k.get<std::string>());
    }
  }
  return r;
}

}  // namespace gantry::server
