#include "lb/http_parser.h"

#include <cstring>

namespace gantry::lb::http1 {
namespace {

constexpr size_t kMaxChunkExtension = 4096;
constexpr size_t kMaxTrailers = 16 * 1024;

// RFC 9110 tchar.
constexpr bool IsTokenChar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool EqNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

// True when the comma-separated list `v` holds `token` (case-insensitive).
bool HasToken(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqNoCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// The last element of a comma-separated list.
std::string_view LastToken(std::string_view v) {
  size_t comma = v.rfind(',');
  std::string_view item = comma == std::string_view::npos ? v : v.substr(comma + 1);
  while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
  while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
  return item;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Parses header lines from p (after the start line) up to end (which points at the final CRLF).
// Returns nullptr on success or an error message.
const char* ParseHeaders(const char* p, const char* end, HeaderView* headers, int* num) {
  *num = 0;
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p) + 1));
    if (eol == nullptr || eol[1] != '\n') return "bare CR in header";
    if (*p == ' ' || *p == '\t') return "obsolete line folding in header";
    const char* colon = p;
    while (colon < eol && IsTokenChar(static_cast<unsigned char>(*colon))) ++colon;
    if (colon == p || colon == eol || *colon != ':') return "malformed header name";
    const char* v = colon + 1;
    while (v < eol && (*v == ' ' || *v == '\t')) ++v;
    const char* ve = eol;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) --ve;
    for (const char* q = v; q < ve; ++q) {
      unsigned char c = static_cast<unsigned char>(*q);
      if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in header value";
    }
    if (*num >= kMaxHeaders) return "too many headers";
    headers[*num].name = std::string_view(p, static_cast<size_t>(colon - p));
    headers[*num].value = std::string_view(v, static_cast<size_t>(ve - v));
    ++*num;
    p = eol + 2;
  }
  return nullptr;
}

// Shared framing/connection analysis of a head's headers.
struct HeadFacts {
  bool has_cl = false, has_te = false, te_chunked = false, conn_close = false, conn_keep_alive = false,
       conn_upgrade = false, has_upgrade = false, expect_continue = false, bad_expect = false, multi_host = false;
  uint64_t cl = 0;
  std::string_view host;
  int hosts = 0;
  const char* error = nullptr;
};

HeadFacts Analyze(const HeaderView* h, int n) {
  HeadFacts f;
  for (int i = 0; i < n; ++i) {
    std::string_view name = h[i].name, value = h[i].value;
    switch (name.size()) {
      case 4:
        if (EqNoCase(name, "host")) {
          f.host = value;
          ++f.hosts;
        }
        break;
      case 6:
        if (EqNoCase(name, "expect")) {
          if (EqNoCase(value, "100-continue"))
            f.expect_continue = true;
          else
            f.bad_expect = true;
        }
        break;
      case 7:
        if (EqNoCase(name, "upgrade")) f.has_upgrade = true;
        break;
      case 10:
        if (EqNoCase(name, "connection")) {
          f.conn_close |= HasToken(value, "close");
          f.conn_keep_alive |= HasToken(value, "keep-alive");
          f.conn_upgrade |= HasToken(value, "upgrade");
        }
        break;
      case 14:
        if (EqNoCase(name, "content-length")) {
          uint64_t v = 0;
          if (!ParseDecimal(value, &v)) {
            f.error = "invalid Content-Length";
          } else if (f.has_cl && v != f.cl) {
            f.error = "conflicting Content-Length headers";
          }
          f.has_cl = true;
          f.cl = v;
        }
        break;
      case 17:
        if (EqNoCase(name, "transfer-encoding")) {
          if (f.has_te) f.error = "repeated Transfer-Encoding";
          f.has_te = true;
          f.te_chunked = EqNoCase(LastToken(value), "chunked");
        }
        break;
      default:
        break;
    }
  }
  if (!f.error && f.has_cl && f.has_te) f.error = "both Content-Length and Transfer-Encoding";
  return f;
}

// "HTTP/1.x" -> minor version, or -1.
int ParseVersion(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.") return -1;
  if (v[7] == '0') return 0;
  if (v[7] == '1') return 1;
  return -1;
}

}  // namespace

size_t FindHeadEnd(const char* data, size_t len, size_t* scan) {
  size_t i = *scan > 3 ? *scan - 3 : 0;
  while (i + 3 < len) {
    const void* cr = std::memchr(data + i, '\r', len - i - 3);
    if (cr == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(cr) - data);
    if (data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n') return i + 4;
    ++i;
  }
  *scan = len;
  return 0;
}

bool ParseRequestHead(const char* data, size_t len, RequestHead* out) {
  out->error = nullptr;
  out->error_status = 400;
  const char* end = data + len - 2;  // the final CRLF
  const char* eol = static_cast<const char*>(std::memchr(data, '\r', len));
  if (eol == nullptr || eol[1] != '\n') return out->error = "malformed request line", false;
  std::string_view line(data, static_cast<size_t>(eol - data));
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2 || sp1 == 0) return out->error = "malformed request line", false;
  out->method = line.substr(0, sp1);
  for (char c : out->method)
    if (!IsTokenChar(static_cast<unsigned char>(c))) return out->error = "malformed method", false;
  out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (out->target.empty()) return out->error = "empty request target", false;
  for (char c : out->target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return out->error = "malformed request target", false;
  }
  out->minor_version = ParseVersion(line.substr(sp2 + 1));
  if (out->minor_version < 0) return out->error = "unsupported HTTP version", false;
  if (const char* e = ParseHeaders(eol + 2, end, out->headers, &out->num_headers)) {
    if (out->num_headers >= kMaxHeaders) out->error_status = 431;
    return out->error = e, false;
  }
  HeadFacts f = Analyze(out->headers, out->num_headers);
  if (f.error) return out->error = f.error, false;
  if (f.has_te && !f.te_chunked) {
    out->error_status = 501;
    return out->error = "unsupported Transfer-Encoding", false;
  }
  if (f.has_te && out->minor_version == 0) return out->error = "Transfer-Encoding in an HTTP/1.0 request", false;
  if (f.hosts > 1) return out->error = "more than one Host header", false;
  if (f.hosts == 0 && out->minor_version == 1) return out->error = "missing Host header", false;
  if (f.bad_expect) {
    out->error_status = 417;
    return out->error = "unsupported Expect", false;
  }
  out->host = f.host;
  out->framing = f.has_te ? Framing::kChunked : f.has_cl && f.cl > 0 ? Framing::kLength : Framing::kNone;
  out->content_length = f.cl;
  out->keep_alive = out->minor_version == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
  out->upgrade = f.conn_upgrade && f.has_upgrade;
  out->expect_continue = f.expect_continue && out->framing != Framing::kNone;
  out->head_bytes = len;
  return true;
}

bool ParseResponseHead(const char* data, size_t len, bool request_was_head, ResponseHead* out) {
  out->error = nullptr;
  const char* end = data + len - 2;
  const char* eol = static_cast<const char*>(std::memchr(data, '\r', len));
  if (eol == nullptr || eol[1] != '\n' || eol - data < 12) return out->error = "malformed status line", false;
  std::string_view line(data, static_cast<size_t>(eol - data));
  out->minor_version = ParseVersion(line.substr(0, 8));
  if (out->minor_version < 0 || line[8] != ' ') return out->error = "malformed status line", false;
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return out->error = "malformed status code", false;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || (line.size() > 12 && line[12] != ' ')) return out->error = "malformed status code", false;
  out->status = status;
  out->reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (const char* e = ParseHeaders(eol + 2, end, out->headers, &out->num_headers)) return out->error = e, false;
  HeadFacts f = Analyze(out->headers, out->num_headers);
  if (f.error) return out->error = f.error, false;
  out->keep_alive = out->minor_version == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
  out->content_length = f.cl;
  if (request_was_head || status < 200 || status == 204 || status == 304) {
    out->framing = Framing::kNone;
  } else if (f.has_te) {
    out->framing = f.te_chunked ? Framing::kChunked : Framing::kUntilClose;
    if (!f.te_chunked) out->keep_alive = false;
  } else if (f.has_cl) {
    out->framing = f.cl > 0 ? Framing::kLength : Framing::kNone;
  } else {
    out->framing = Framing::kUntilClose;
    out->keep_alive = false;
  }
  out->head_bytes = len;
  return true;
}

void BodyFramer::Reset(Framing framing, uint64_t length) {
  framing_ = framing;
  body_bytes_ = 0;
  digits_ = 0;
  aux_ = 0;
  remaining_ = length;
  switch (framing) {
    case Framing::kNone:
      state_ = State::kDone;
      break;
    case Framing::kLength:
      state_ = length == 0 ? State::kDone : State::kLength;
      break;
    case Framing::kChunked:
      state_ = State::kSize;
      break;
    case Framing::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

size_t BodyFramer::Consume(const char* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::kDone:
      case State::kError:
        return i;
      case State::kUntilClose:
        body_bytes_ += n - i;
        return n;
      case State::kLength:
      case State::kData: {
        size_t take = n - i < remaining_ ? n - i : static_cast<size_t>(remaining_);
        remaining_ -= take;
        body_bytes_ += take;
        i += take;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataCr;
        break;
      }
      case State::kSize: {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d >= 0) {
          if (++digits_ > 15) return state_ = State::kError, i;
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
          ++i;
        } else if (digits_ == 0) {
          return state_ = State::kError, i;
        } else if (c == ';') {
          state_ = State::kExt;
          aux_ = 0;
          ++i;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return state_ = State::kError, i;
        }
        break;
      }
      case State::kExt: {
        char c = p[i];
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') || ++aux_ > kMaxChunkExtension) {
          return state_ = State::kError, i;
        }
        ++i;
        break;
      }
      case State::kSizeLf:
        if (p[i] != '\n') return state_ = State::kError, i;
        ++i;
        digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::kTrailerStart;
          aux_ = 0;
        } else {
          state_ = State::kData;
        }
        break;
      case State::kDataCr:
        if (p[i] != '\r') return state_ = State::kError, i;
        ++i;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (p[i] != '\n') return state_ = State::kError, i;
        ++i;
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        if (p[i] == '\r') {
          state_ = State::kFinalLf;
        } else if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n') {
          return state_ = State::kError, i;
        } else {
          state_ = State::kTrailer;
        }
        ++i;
        if (++aux_ > kMaxTrailers) return state_ = State::kError, i;
        break;
      case State::kTrailer:
        if (p[i] == '\r')
          state_ = State::kTrailerLf;
        else if (p[i] == '\n')
          return state_ = State::kError, i;
        ++i;
        if (++aux_ > kMaxTrailers) return state_ = State::kError, i;
        break;
      case State::kTrailerLf:
        if (p[i] != '\n') return state_ = State::kError, i;
        ++i;
        state_ = State::kTrailerStart;
        break;
      case State::kFinalLf:
        if (p[i] != '\n') return state_ = State::kError, i;
        ++i;
        state_ = State::kDone;
        return i;
    }
  }
  return i;
}

bool IsIdempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

}  // namespace gantry::lb::http1
