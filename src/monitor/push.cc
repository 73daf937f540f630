#include "monitor/push.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace gantry::monitor {

std::vector<double> TimingBucketsMs() { return {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000}; }

namespace {

std::string Where(std::string_view source, size_t line, size_t col) {
  return std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
}

std::optional<double> ParseDouble(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string SanitizeName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.' || c == '-' || c == '/') c = '_';
  }
  return out;
}

Status SortAndCheckLabels(Labels* labels, const std::string& where) {
  std::sort(labels->begin(), labels->end());
  for (size_t i = 0; i < labels->size(); ++i) {
    if (!IsValidLabelName((*labels)[i].first)) {
      return Status::Error(where + "invalid tag name \"" + (*labels)[i].first.substr(0, 100) + "\"");
    }
    if (i > 0 && (*labels)[i].first == (*labels)[i - 1].first) {
      return Status::Error(where + "tag \"" + (*labels)[i].first + "\" given twice");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<PushedSample>> ParseStatsd(std::string_view text, std::string_view source,
                                              const PushLimits& limits) {
  using R = Result<std::vector<PushedSample>>;
  if (text.size() > limits.max_bytes) {
    return R::Error(Where(source, 1, 1) + "input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_bytes));
  }
  std::vector<PushedSample> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) {
      if (end == text.size()) break;
      continue;
    }
    if (line.size() > limits.max_line_length) {
      return R::Error(Where(source, line_no, limits.max_line_length + 1) + "line longer than " +
                      std::to_string(limits.max_line_length) + " bytes");
    }
    if (out.size() >= limits.max_samples) {
      return R::Error(Where(source, line_no, 1) + "more than " + std::to_string(limits.max_samples) + " samples");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return R::Error(Where(source, line_no, 1) + "expected name:value|type");
    }
    PushedSample s;
    s.name = SanitizeName(line.substr(0, colon));
    if (!IsValidMetricName(s.name) || s.name.size() > 200) {
      return R::Error(Where(source, line_no, 1) + "invalid metric name \"" +
                      std::string(line.substr(0, std::min<size_t>(colon, 100))) + "\"");
    }
    // Fields after the name are separated by '|': value, type, then optional @rate and #tags.
    std::vector<std::string_view> fields;
    size_t fstart = colon + 1;
    for (;;) {
      size_t bar = line.find('|', fstart);
      fields.push_back(line.substr(fstart, bar == std::string_view::npos ? std::string_view::npos : bar - fstart));
      if (bar == std::string_view::npos) break;
      fstart = bar + 1;
      if (fields.size() > 8) return R::Error(Where(source, line_no, fstart) + "too many '|' fields");
    }
    if (fields.size() < 2) return R::Error(Where(source, line_no, colon + 2) + "expected value|type after ':'");
    std::string_view value = fields[0];
    std::string_view type = fields[1];
    size_t value_col = colon + 2;
    size_t type_col = value_col + value.size() + 1;
    bool relative = !value.empty() && (value[0] == '+' || value[0] == '-');
    auto v = ParseDouble(!value.empty() && value[0] == '+' ? value.substr(1) : value);
    if (!v)
      return R::Error(Where(source, line_no, value_col) + "invalid number \"" + std::string(value.substr(0, 50)) +
                      "\"");
    s.value = *v;
    if (type == "c") {
      s.kind = SampleKind::kCounter;
      if (s.value < 0) return R::Error(Where(source, line_no, value_col) + "a counter cannot be negative");
    } else if (type == "g") {
      s.kind = relative ? SampleKind::kGaugeDelta : SampleKind::kGauge;
    } else if (type == "ms" || type == "h" || type == "d") {
      s.kind = SampleKind::kTiming;
    } else {
      return R::Error(Where(source, line_no, type_col) + "unknown type \"" + std::string(type.substr(0, 20)) +
                      "\", expected c, g, ms, h or d");
    }
    size_t col = type_col + type.size() + 1;
    for (size_t i = 2; i < fields.size(); ++i) {
      std::string_view f = fields[i];
      if (!f.empty() && f[0] == '@') {
        auto rate = ParseDouble(f.substr(1));
        if (!rate || *rate <= 0 || *rate > 1) {
          return R::Error(Where(source, line_no, col) + "sample rate must be in (0, 1]");
        }
        s.rate = *rate;
      } else if (!f.empty() && f[0] == '#') {
        for (const auto& tag : Split(f.substr(1), ',')) {
          if (tag.empty()) continue;
          if (s.labels.size() >= limits.max_tags) {
            return R::Error(Where(source, line_no, col) + "more than " + std::to_string(limits.max_tags) + " tags");
          }
          size_t c = tag.find(':');
          std::string k = SanitizeName(tag.substr(0, c));
          std::string val = c == std::string::npos ? "" : tag.substr(c + 1);
          if (val.size() > 1024) return R::Error(Where(source, line_no, col) + "tag value longer than 1024 bytes");
          s.labels.emplace_back(std::move(k), std::move(val));
        }
      } else {
        return R::Error(Where(source, line_no, col) + "expected @rate or #tags, got \"" + std::string(f.substr(0, 30)) +
                        "\"");
      }
      col += f.size() + 1;
    }
    Status st = SortAndCheckLabels(&s.labels, Where(source, line_no, col));
    if (!st.ok()) return st;
    out.push_back(std::move(s));
    if (end == text.size()) break;
  }
  return out;
}

Result<std::vector<PushedSample>> ParsePushJson(std::string_view text, std::string_view source,
                                                const PushLimits& limits) {
  using R = Result<std::vector<PushedSample>>;
  if (text.size() > limits.max_bytes) {
    return R::Error(Where(source, 1, 1) + "input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_bytes));
  }
  // Depth limit before parsing: nlohmann recurses per nesting level.
  int depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') {
      if (++depth > 16) return R::Error(Where(source, 1, 1) + "JSON nested deeper than 16 levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return R::Error(TextPosition(source, text, e.byte > 0 ? e.byte - 1 : 0) + ": invalid JSON");
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    return R::Error(Where(source, 1, 1) + "invalid JSON: " + e.what());
  }
  const nlohmann::json* list = &doc;
  if (doc.is_object()) {
    auto it = doc.find("metrics");
    if (it == doc.end()) return R::Error(Where(source, 1, 1) + "expected an object with a \"metrics\" array");
    list = &*it;
  }
  if (!list->is_array()) return R::Error(Where(source, 1, 1) + "\"metrics\" must be an array");
  if (list->size() > limits.max_samples) {
    return R::Error(Where(source, 1, 1) + "more than " + std::to_string(limits.max_samples) + " metrics");
  }
  std::vector<PushedSample> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& m = (*list)[i];
    std::string where = std::string(source) + ": metrics[" + std::to_string(i) + "]: ";
    if (!m.is_object()) return R::Error(where + "expected an object");
    PushedSample s;
    auto name = m.find("name");
    if (name == m.end() || !name->is_string()) return R::Error(where + "\"name\" must be a string");
    s.name = name->get<std::string>();
    if (s.name.size() > 200 || !IsValidMetricName(s.name)) return R::Error(where + "invalid metric name");
    auto value = m.find("value");
    if (value == m.end() || !value->is_number()) return R::Error(where + "\"value\" must be a number");
    s.value = value->get<double>();
    if (!std::isfinite(s.value)) return R::Error(where + "\"value\" must be finite");
    std::string type = m.value("type", std::string("gauge"));
    if (type == "counter") {
      s.kind = SampleKind::kCounter;
      if (s.value < 0) return R::Error(where + "a counter cannot be negative");
    } else if (type == "gauge") {
      s.kind = SampleKind::kGauge;
    } else if (type == "histogram" || type == "timing") {
      s.kind = SampleKind::kTiming;
    } else {
      return R::Error(where + "unknown type \"" + type.substr(0, 20) + "\", expected counter, gauge or histogram");
    }
    if (auto help = m.find("help"); help != m.end()) {
      if (!help->is_string()) return R::Error(where + "\"help\" must be a string");
      s.help = help->get<std::string>().substr(0, 1024);
    }
    if (auto labels = m.find("labels"); labels != m.end()) {
      if (!labels->is_object()) return R::Error(where + "\"labels\" must be an object");
      if (labels->size() > limits.max_tags) {
        return R::Error(where + "more than " + std::to_string(limits.max_tags) + " labels");
      }
      for (const auto& [k, v] : labels->items()) {
        if (!v.is_string()) return R::Error(where + "label " + k.substr(0, 100) + " must be a string");
        s.labels.emplace_back(k, v.get<std::string>());
      }
    }
    Status st = SortAndCheckLabels(&s.labels, where);
    if (!st.ok()) return st;
    out.push_back(std::move(s));
  }
  return out;
}

Status ApplySamples(const std::vector<PushedSample>& samples, Registry* registry) {
  for (const auto& s : samples) {
    std::string help = s.help.empty() ? "Pushed metric." : s.help;
    switch (s.kind) {
      case SampleKind::kCounter: {
        auto c = registry->MakeCounter(s.name, help, s.labels);
        if (!c.ok()) return c.status();
        (*c)->Inc(s.value / s.rate);
        break;
      }
      case SampleKind::kGauge:
      case SampleKind::kGaugeDelta: {
        auto g = registry->MakeGauge(s.name, help, s.labels);
        if (!g.ok()) return g.status();
        if (s.kind == SampleKind::kGauge) {
          (*g)->Set(s.value);
        } else {
          (*g)->Add(s.value);
        }
        break;
      }
      case SampleKind::kTiming: {
        auto h = registry->MakeHistogram(s.name, help, s.labels, TimingBucketsMs());
        if (!h.ok()) return h.status();
        (*h)->Observe(s.value);
        break;
      }
    }
  }
  return Status::Ok();
}

http::Handler PushHandler(Registry* registry, PushLimits limits) {
  return [registry, limits](http::Request& req, http::Response& res) {
    if (req.method != "POST") {
      res.Send(405, "text/plain; charset=utf-8", "use POST\n", {{"Allow", "POST"}});
      return;
    }
    auto body = req.ReadAll(limits.max_bytes);
    if (!body.ok()) {
      res.Send(413, "text/plain; charset=utf-8", body.error() + "\n");
      return;
    }
    bool json = FindHeader(req.headers, "Content-Type").find("json") != std::string_view::npos;
    auto samples = json ? ParsePushJson(*body, "request body", limits) : ParseStatsd(*body, "request body", limits);
    if (!samples.ok()) {
      res.Send(400, "text/plain; charset=utf-8", samples.error() + "\n");
      return;
    }
    Status st = ApplySamples(*samples, registry);
    if (!st.ok()) {
      res.Send(400, "text/plain; charset=utf-8", st.message() + "\n");
      return;
    }
    res.Send(204, "", "");
  };
}

}  // namespace gantry::monitor
