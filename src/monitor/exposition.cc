#include "monitor/exposition.h"

#include <charconv>
#include <cmath>

namespace gantry::monitor {

void AppendNumber(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  std::to_chars_result r;
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v);
  }
  out->append(buf, r.ptr);
}

void AppendEscapedLabelValue(std::string_view v, std::string* out) {
  for (char c : v) {
    switch (c) {
      case '\\':
        *out += "\\\\";
        break;
      case '"':
        *out += "\\\"";
        break;
      case '\n':
        *out += "\\n";
        break;
      default:
        *out += c;
    }
  }
}

static void AppendHelp(std::string_view help, std::string* out) {
  for (char c : help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

// name{labels[,le="bound"]}
static void AppendSeriesName(std::string_view name, std::string_view suffix, const Labels& labels,
                             const std::string* le, std::string* out) {
  *out += name;
  *out += suffix;
  if (labels.empty() && !le) return;
  *out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) *out += ',';
    first = false;
    *out += k;
    *out += "=\"";
    AppendEscapedLabelValue(v, out);
    *out += '"';
  }
  if (le) {
    if (!first) *out += ',';
    *out += "le=\"";
    *out += *le;
    *out += '"';
  }
  *out += '}';
}

void RenderPrometheus(const Registry& registry, std::string* out) {
  registry.ForEach([out](const Family& family) {
    if (family.series.empty()) return;
    *out += "# HELP ";
    *out += family.name;
    *out += ' ';
    AppendHelp(family.help, out);
    *out += "\n# TYPE ";
    *out += family.name;
    *out += ' ';
    *out += MetricTypeName(family.type);
    *out += '\n';
    std::vector<std::string> le_strings;
    if (family.type == MetricType::kHistogram) {
      for (double b : family.bounds) {
        std::string s;
        AppendNumber(b, &s);
        le_strings.push_back(std::move(s));
      }
      le_strings.push_back("+Inf");
    }
    for (const Series& series : family.series) {
      switch (family.type) {
        case MetricType::kCounter:
          AppendSeriesName(family.name, "", series.labels, nullptr, out);
          *out += ' ';
          AppendNumber(series.counter->Value(), out);
          *out += '\n';
          break;
        case MetricType::kGauge:
          AppendSeriesName(family.name, "", series.labels, nullptr, out);
          *out += ' ';
          AppendNumber(series.callback ? series.callback() : series.gauge->Value(), out);
          *out += '\n';
          break;
        case MetricType::kHistogram: {
          Histogram::Snapshot snap = series.histogram->Take();
          for (size_t i = 0; i < snap.cumulative.size(); ++i) {
            AppendSeriesName(family.name, "_bucket", series.labels, &le_strings[i], out);
            *out += ' ';
            AppendNumber(static_cast<double>(snap.cumulative[i]), out);
            *out += '\n';
          }
          AppendSeriesName(family.name, "_sum", series.labels, nullptr, out);
          *out += ' ';
          AppendNumber(snap.sum, out);
          *out += '\n';
          AppendSeriesName(family.name, "_count", series.labels, nullptr, out);
          *out += ' ';
          AppendNumber(static_cast<double>(snap.count), out);
          *out += '\n';
          break;
        }
      }
    }
  });
}

std::string RenderPrometheus(const Registry& registry) {
  std::string out;
  out.reserve(64 * 1024);
  RenderPrometheus(registry, &out);
  return out;
}

http::Handler MetricsHandler(const Registry& registry) {
  return [&registry](http::Request& req, http::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.Send(405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}});
      return;
    }
    std::string body = RenderPrometheus(registry);
    res.Send(200, kPrometheusContentType, req.method == "HEAD" ? std::string_view() : body);
  };
}

}  // namespace gantry::monitor
