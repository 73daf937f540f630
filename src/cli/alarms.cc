// gantry alarms | gantry topics: list, define and delete alarms and notification topics on a
// server at runtime (PUT /api/v1/alarms/NAME, /api/v1/topics/NAME; docs/monitoring.md), the
// way `aws cloudwatch put-metric-alarm` and `aws sns subscribe` do.
#include <cstdio>
#include <iostream>
#include <iterator>

#include "base/fs.h"
#include "cli/client.h"

namespace gantry::cli {
namespace {

// The body of --file PATH ('-': stdin) as JSON; exits with a usage error when unreadable.
bool ReadBodyFile(const std::string& path, const char* command, nlohmann::json* out) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto file = ReadFile(path, 1 << 20);  // the API's body limit
    if (!file.ok()) {
      std::fprintf(stderr, "gantry %s: %s\n", command, file.error().c_str());
      return false;
    }
    text = std::move(*file);
  }
  *out = nlohmann::json::parse(text, nullptr, false);
  if (out->is_discarded()) {
    std::fprintf(stderr, "gantry %s: %s is not JSON\n", command, path.c_str());
    return false;
  }
  return true;
}

int Alarms(int argc, char** argv) {
  ClientFlags flags;
  CLI::App app{
      "List, define and delete alarms on a Gantry server (CloudWatch's model, docs/monitoring.md).\n\n"
      "  gantry alarms\n"
      "  gantry alarms put web-5xx --metric gantry_lb_responses_total \\\n"
      "      --dimension service=web --dimension environment=production --dimension code_class=5xx \\\n"
      "      --statistic sum --period 1m --threshold 10 --missing-data notBreaching \\\n"
      "      --on-alarm deploy:rollback:web:production --on-alarm topic:ops --on-ok topic:ops\n"
      "  gantry alarms put web-bad --rule 'ALARM(web-5xx) OR ALARM(web-slow)' --on-alarm topic:ops\n"
      "  gantry alarms get web-5xx\n"
      "  gantry alarms delete web-5xx",
      "gantry alarms"};
  flags.Add(app);
  auto* list = app.add_subcommand("list", "every alarm with its state (the default)");
  auto* get = app.add_subcommand("get", "one alarm as JSON");
  auto* put = app.add_subcommand("put", "create or replace an alarm");
  auto* del = app.add_subcommand("delete", "delete an alarm made through the API");
  std::string name, metric, statistic, period, comparison, missing, rule, description, file;
  std::vector<std::string> dims, on_alarm, on_ok, on_insufficient;
  double threshold = 0;
  int evaluation_periods = 0, datapoints = 0;
  for (auto* sub : {get, put, del}) sub->add_option("name", name, "alarm name")->required();
  put->add_option("--metric", metric, "metric name (a metric alarm)");
  put->add_option("--dimension", dims, "NAME=VALUE label the series must have (repeatable)");
  put->add_option("--statistic", statistic, "avg, sum, min, max, count, p50, p90 or p99 (default avg)");
  put->add_option("--period", period, "period, e.g. 1m (default 1m)");
  put->add_option("--evaluation-periods", evaluation_periods, "N: periods looked at (default 1)");
  put->add_option("--datapoints-to-alarm", datapoints, "M of N breaching periods that alarm (default N)");
  auto* th = put->add_option("--threshold", threshold, "threshold");
  put->add_option("--comparison", comparison, "> >= < <= (default >)");
  put->add_option("--missing-data", missing, "missing, ignore, breaching or notBreaching (default missing)");
  put->add_option("--rule", rule, "a composite alarm's rule: ALARM(a) OR (ALARM(b) AND NOT OK(c))");
  put->add_option("--on-alarm", on_alarm, "action on ALARM: topic:NAME, deploy:rollback:SERVICE[:ENV] (repeatable)");
  put->add_option("--on-ok", on_ok, "action on OK (repeatable)");
  put->add_option("--on-insufficient-data", on_insufficient, "action on INSUFFICIENT_DATA (repeatable)");
  put->add_option("--description", description, "free text");
  put->add_option("-f,--file", file, "the whole definition as JSON ('-': stdin) instead of flags");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;

  if (put->parsed()) {
    nlohmann::json body = nlohmann::json::object();
    if (!file.empty()) {
      if (!ReadBodyFile(file, "alarms", &body)) return kExitUsage;
    } else if (!rule.empty()) {
      body["rule"] = rule;
    } else {
      if (metric.empty() || th->count() == 0) {
        std::fprintf(stderr, "gantry alarms put: give --metric and --threshold, --rule, or --file\n");
        return kExitUsage;
      }
      body["metric"] = metric;
      body["threshold"] = threshold;
      nlohmann::json d = nlohmann::json::object();
      for (const auto& kv : dims) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::fprintf(stderr, "gantry alarms put: --dimension expects NAME=VALUE, got '%s'\n", kv.c_str());
          return kExitUsage;
        }
        d[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      body["dimensions"] = d;
      if (!statistic.empty()) body["statistic"] = statistic;
      if (!period.empty()) body["period"] = period;
      if (evaluation_periods > 0) body["evaluation_periods"] = evaluation_periods;
      if (datapoints > 0) body["datapoints_to_alarm"] = datapoints;
      if (!comparison.empty()) body["comparison"] = comparison;
      if (!missing.empty()) body["missing_data"] = missing;
    }
    if (file.empty()) {
      body["on_alarm"] = on_alarm;
      body["on_ok"] = on_ok;
      body["on_insufficient_data"] = on_insufficient;
      if (!description.empty()) body["description"] = description;
    }
    auto r = CallApi(flags, "alarms put", "PUT", "alarms/" + http::PercentEncode(name), &body);
    if (r.exit_code != kExitOk) return r.exit_code;
    std::printf("%s %s\n", r.status == 201 ? "created" : "replaced", name.c_str());
    return kExitOk;
  }
  if (del->parsed()) {
    auto r = CallApi(flags, "alarms delete", "DELETE", "alarms/" + http::PercentEncode(name));
    if (r.exit_code != kExitOk) return r.exit_code;
    std::printf("deleted %s\n", name.c_str());
    return kExitOk;
  }
  if (get->parsed()) {
    auto r = CallApi(flags, "alarms get", "GET", "alarms/" + http::PercentEncode(name));
    if (r.exit_code != kExitOk) return r.exit_code;
    std::printf("%s\n", r.body.dump(2).c_str());
    return kExitOk;
  }
  (void)list;
  auto r = CallApi(flags, "alarms", "GET", "alarms");
  if (r.exit_code != kExitOk) return r.exit_code;
  std::printf("%-24s %-18s %-7s %s\n", "NAME", "STATE", "SOURCE", "REASON");
  for (const auto& a : r.body.value("alarms", nlohmann::json::array())) {
    std::printf("%-24s %-18s %-7s %s\n", a.value("name", "").c_str(), a.value("state", "").c_str(),
                a.value("source", "").c_str(), a.value("reason", "").c_str());
  }
  return kExitOk;
}

int Topics(int argc, char** argv) {
  ClientFlags flags;
  CLI::App app{
      "List, define and delete notification topics on a Gantry server (docs/monitoring.md).\n\n"
      "  gantry topics\n"
      "  gantry topics put ops --webhook http://127.0.0.1:9000/hook --secret s3cret \\\n"
      "      --slack http://127.0.0.1:9000/slack --email oncall@example.com\n"
      "  gantry topics put deployments --webhook http://127.0.0.1:9000/hook --events deployment.rolled_back\n"
      "  gantry topics delete ops\n\n"
      "Deployment events go to the topic `deployments`, run events to `runs`; alarms name\n"
      "topics in their actions (topic:NAME).",
      "gantry topics"};
  flags.Add(app);
  auto* list = app.add_subcommand("list", "every topic with its subscriptions (the default)");
  auto* put = app.add_subcommand("put", "create or replace a topic with its subscriptions");
  auto* del = app.add_subcommand("delete", "delete a topic made through the API");
  std::string name, secret, file;
  std::vector<std::string> webhooks, slacks, emails, events;
  for (auto* sub : {put, del}) sub->add_option("name", name, "topic name")->required();
  put->add_option("--webhook", webhooks, "JSON webhook URL (repeatable)");
  put->add_option("--secret", secret, "HMAC-SHA256 key for the webhooks (X-Gantry-Signature-256)");
  put->add_option("--slack", slacks, "Slack incoming-webhook URL (repeatable)");
  put->add_option("--email", emails, "email address (repeatable; the server's SMTP relay sends)");
  put->add_option("--events", events, "only these events (run.failed, deployment.rolled_back, ...)")->delimiter(',');
  put->add_option("-f,--file", file, "the whole definition as JSON ('-': stdin) instead of flags");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;

  if (put->parsed()) {
    nlohmann::json body;
    if (!file.empty()) {
      if (!ReadBodyFile(file, "topics", &body)) return kExitUsage;
    } else {
      nlohmann::json subs = nlohmann::json::array();
      auto add = [&](const std::vector<std::string>& endpoints, const char* protocol, bool signed_) {
        for (const auto& e : endpoints) {
          nlohmann::json s = {{"protocol", protocol}, {"endpoint", e}, {"events", events}};
          if (signed_ && !secret.empty()) s["secret"] = secret;
          subs.push_back(s);
        }
      };
      add(webhooks, "webhook", true);
      add(slacks, "slack", false);
      add(emails, "email", false);
      if (subs.empty()) {
        std::fprintf(stderr, "gantry topics put: give --webhook, --slack or --email (or --file)\n");
        return kExitUsage;
      }
      body = {{"subscriptions", subs}};
    }
    auto r = CallApi(flags, "topics put", "PUT", "topics/" + http::PercentEncode(name), &body);
    if (r.exit_code != kExitOk) return r.exit_code;
    std::printf("%s %s\n", r.status == 201 ? "created" : "replaced", name.c_str());
    return kExitOk;
  }
  if (del->parsed()) {
    auto r = CallApi(flags, "topics delete", "DELETE", "topics/" + http::PercentEncode(name));
    if (r.exit_code != kExitOk) return r.exit_code;
    std::printf("deleted %s\n", name.c_str());
    return kExitOk;
  }
  (void)list;
  auto r = CallApi(flags, "topics", "GET", "topics");
  if (r.exit_code != kExitOk) return r.exit_code;
  std::printf("%-20s %-7s %-8s %s\n", "TOPIC", "SOURCE", "PROTOCOL", "ENDPOINT");
  for (const auto& t : r.body.value("topics", nlohmann::json::array())) {
    for (const auto& s : t.value("subscriptions", nlohmann::json::array())) {
      std::string events;
      for (const auto& e : s.value("events", nlohmann::json::array()))
        events += (events.empty() ? "" : ",") + e.get<std::string>();
      std::printf("%-20s %-7s %-8s %s%s%s\n", t.value("name", "").c_str(), t.value("source", "").c_str(),
                  s.value("protocol", "").c_str(), s.value("endpoint", "").c_str(),
                  s.value("signed", false) ? " (signed)" : "", events.empty() ? "" : (" [" + events + "]").c_str());
    }
  }
  return kExitOk;
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("alarms", "list, define and delete alarms on a server", gantry::cli::Alarms);
GANTRY_COMMAND("topics", "list, define and delete notification topics on a server", gantry::cli::Topics);
