// JSON in and out of Values: toJSON()'s pretty printing (JavaScript's JSON.stringify with a
// two-space indent) and fromJSON()'s parsing (nlohmann's SAX parser, kept inside this file).
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <system_error>

#include "expr/value.h"
#include "expr/value_rep.h"

namespace gantry::expr {

namespace {

// JavaScript's Number.prototype.toString: shortest round-trip digits, fixed notation for
// exponents in [-7, 21), otherwise "1e+21" / "1e-7".
void AppendJsNumber(std::string& out, double n) {
  if (std::isnan(n) || std::isinf(n)) {
    out += "null";  // JSON.stringify(NaN) and (Infinity)
    return;
  }
  if (n == 0) {
    out += '0';
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  std::string digits;
  bool negative = false;
  size_t i = 0;
  if (sci[i] == '-') negative = true, ++i;
  for (; i < sci.size() && sci[i] != 'e'; ++i)
    if (sci[i] != '.') digits += sci[i];
  int exp = 0;
  std::from_chars(sci.data() + i + 1 + (sci[i + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = static_cast<int>(digits.size());
  int point = exp + 1;  // ECMAScript's n
  if (negative) out += '-';
  if (k <= point && point <= 21) {
    out += digits;
    out.append(static_cast<size_t>(point - k), '0');
  } else if (0 < point && point <= 21) {
    out.append(digits, 0, static_cast<size_t>(point));
    out += '.';
    out.append(digits, static_cast<size_t>(point));
  } else if (-6 < point && point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += point - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(point - 1));
  }
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Write(std::string& out, const Value& v, bool pretty, int indent) {
  auto newline = [&](int level) {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  switch (v.kind()) {
    case Kind::kNull:
      out += "null";
      return;
    case Kind::kBoolean:
      out += v.bool_value() ? "true" : "false";
      return;
    case Kind::kNumber:
      AppendJsNumber(out, v.number_value());
      return;
    case Kind::kString:
      AppendJsonString(out, v.string_value());
      return;
    case Kind::kArray: {
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        newline(indent + 1);
        Write(out, items[i], pretty, indent + 1);
      }
      newline(indent);
      out += ']';
      return;
    }
    case Kind::kObject: {
      const auto& entries = v.entries();
      if (entries.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += ',';
        newline(indent + 1);
        AppendJsonString(out, entries[i].first);
        out += pretty ? ": " : ":";
        Write(out, entries[i].second, pretty, indent + 1);
      }
      newline(indent);
      out += '}';
      return;
    }
  }
}

// Builds Values from SAX events with an explicit stack (no recursion) and a depth limit.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Builder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return Add(Value()); }
  bool boolean(bool b) override { return Add(Value::Bool(b)); }
  bool number_integer(number_integer_t n) override { return Add(Value::Number(static_cast<double>(n))); }
  bool number_unsigned(number_unsigned_t n) override { return Add(Value::Number(static_cast<double>(n))); }
  bool number_float(number_float_t n, const string_t&) override { return Add(Value::Number(n)); }
  bool string(string_t& s) override { return Add(Value::String(std::move(s))); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(Value::Object()); }
  bool key(string_t& k) override {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Value::Array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = ex.what();
    // nlohmann's messages start with "[json.exception.parse_error.101] parse error at ...".
    if (auto p = error_.find("] "); p != std::string::npos) error_ = error_.substr(p + 2);
    (void)position;
    return false;
  }

  Value result;
  std::string error_;

 private:
  struct Frame {
    Value container;
    std::string key;
  };

  bool Add(Value v) {
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    Frame& f = stack_.back();
    if (f.container.is_array()) {
      f.container.Push(std::move(v));
      return true;
    }
    // JSON.parse keeps the last of exact duplicates; GitHub's dictionary then ignores keys
    // that differ from an earlier one only in case.
    auto* obj = const_cast<detail::ObjectRep*>(detail::Access::Obj(f.container));
    int at = obj->IndexOf(f.key);
    if (at < 0) {
      obj->Insert(std::move(f.key), std::move(v));
    } else if (obj->entries[at].first == f.key) {
      obj->entries[at].second = std::move(v);
    }
    return true;
  }
  bool Open(Value container) {
    if (stack_.size() >= max_depth_) {
      error_ = "nesting deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    stack_.push_back({std::move(container), {}});
    return true;
  }
  bool Close() {
    Value done = std::move(stack_.back().container);
    stack_.pop_back();
    return Add(std::move(done));
  }

  size_t max_depth_;
  std::vector<Frame> stack_;
};

}  // namespace

std::string Value::ToJson(bool pretty) const {
  std::string out;
  Write(out, *this, pretty, 0);
  return out;
}

Result<Value> Value::FromJson(std::string_view json, const JsonLimits& limits) {
  if (json.size() > limits.max_bytes)
    return Result<Value>::Error("JSON input of " + std::to_string(json.size()) + " bytes exceeds the limit of " +
                                std::to_string(limits.max_bytes) + " bytes");
  Builder builder(limits.max_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(json.begin(), json.end(), &builder);
  } catch (const std::exception& e) {
    builder.error_ = e.what();
  }
  if (!ok) return Result<Value>::Error("invalid JSON: " + (builder.error_.empty() ? "parse error" : builder.error_));
  return std::move(builder.result);
}

}  // namespace gantry::expr
