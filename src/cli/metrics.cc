// gantry metrics: push custom metrics to a server (from a step or a script) and query the
// time-series store. See docs/monitoring.md.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/http_client.h"
#include "cli/cli_util.h"
#include "monitor/push.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  CLI::App app{
      "Push custom metrics to a Gantry server or query its time series.\n\n"
      "  gantry metrics push 'checkout.orders:1|c|#service:shop' 'queue.depth:42|g'\n"
      "  echo 'build.time:5300|ms' | gantry metrics push -\n"
      "  gantry metrics query gantry_lb_target_response_seconds --stat p99 --period 1m --since 1h "
      "--label target_group:web\n\n"
      "Lines are StatsD-style: name:value|c|g|ms[|@rate][|#tag:value,...].",
      "gantry metrics"};
  std::string url = std::getenv("GANTRY_URL") ? std::getenv("GANTRY_URL") : "http://127.0.0.1:8080";
  std::string token = std::getenv("GANTRY_TOKEN") ? std::getenv("GANTRY_TOKEN") : "";
  app.add_option("--url", url, "server URL (default $GANTRY_URL)");
  app.add_option("--token", token, "API token (default $GANTRY_TOKEN)");
  app.require_subcommand(1);
  auto* push = app.add_subcommand("push", "send StatsD-style lines ('-' reads them from stdin)");
  std::vector<std::string> lines;
  push->add_option("lines", lines, "metric lines")->required();
  auto* query = app.add_subcommand("query", "print datapoints of a metric as JSON");
  std::string metric, stat = "avg", period = "60s", since = "1h";
  std::vector<std::string> labels;
  query->add_option("metric", metric, "metric name")->required();
  query->add_option("--stat", stat, "avg, sum, min, max, count, p50, p90 or p99");
  query->add_option("--period", period, "period, e.g. 60s or 5m");
  query->add_option("--since", since, "how far back, e.g. 10m or 1h");
  query->add_option("--label", labels, "name:value filter (repeatable)");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;

  http::Headers headers;
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  if (push->parsed()) {
    std::string body;
    for (const auto& l : lines) {
      if (l == "-") {
        body.append(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        if (!body.empty() && body.back() != '\n') body += '\n';
      } else {
        body += l + "\n";
      }
    }
    auto parsed = monitor::ParseStatsd(body, "metrics");
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", parsed.error().c_str());
      return kExitUsage;
    }
    headers.push_back({"Content-Type", "text/plain"});
    auto res = http::Fetch(http::MakeRequest("POST", url + "/api/v1/metrics", body, headers));
    if (!res.ok()) {
      std::fprintf(stderr, "gantry metrics: %s\n", res.error().c_str());
      return kExitUnavailable;
    }
    if (res->status == 401 || res->status == 403) {
      std::fprintf(stderr, "gantry metrics: refused (HTTP %d)\n", res->status);
      return kExitUnavailable;
    }
    if (res->status / 100 != 2) {
      std::fprintf(stderr, "gantry metrics: HTTP %d: %s", res->status, res->body.c_str());
      return kExitFailed;
    }
    return kExitOk;
  }
  std::string target = url + "/api/v1/metrics/query?metric=" + http::PercentEncode(metric) +
                       "&stat=" + http::PercentEncode(stat) + "&period=" + http::PercentEncode(period) +
                       "&since=" + http::PercentEncode(since);
  for (const auto& l : labels) target += "&label=" + http::PercentEncode(l);
  auto res = http::Fetch(http::MakeRequest("GET", target, "", headers));
  if (!res.ok()) {
    std::fprintf(stderr, "gantry metrics: %s\n", res.error().c_str());
    return kExitUnavailable;
  }
  if (res->status == 400) {
    std::fprintf(stderr, "gantry metrics: %s\n", res->body.c_str());
    return kExitUsage;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "gantry metrics: HTTP %d\n", res->status);
    return res->status == 401 || res->status == 403 ? kExitUnavailable : kExitFailed;
  }
  std::printf("%s\n", res->body.c_str());
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("metrics", "push custom metrics, query time series", gantry::cli::Run);
