// gantry logs [-f] RUN[/JOB]: prints stored log lines; -f follows the live stream (SSE)
// until the run completes. Exit code: 0 when the run succeeded (or is still going without
// -f), 1 when it failed or was cancelled.
// gantry logs service/NAME [--env E] [--instance ID] [--since 10m] [--grep TEXT] [-n N] [-f]:
// the application logs of a deployed service (what its instances print), from the monitor.
#include <cstdio>
#include <ctime>

#include "base/strings.h"
#include "cli/client.h"

namespace gantry::cli {
namespace {

// One NDJSON line of /api/v1/logs as "2026-12-06T05:10:52.123Z web.staging.a-1-2-3 | text";
// stderr lines are marked. Blank keep-alive lines print nothing.
void PrintLogLine(const std::string& line, bool show_instance) {
  if (line.empty()) return;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return;
  const long long t = j.value("t", 0LL);
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t % 1000);
  const bool err = j.value("stream", "") == "stderr";
  std::printf("%s %s%s| %s\n", stamp, show_instance ? (j.value("instance", "") + " ").c_str() : "",
              err ? "(stderr) " : "", j.value("text", "").c_str());
}

int ServiceLogs(const ClientFlags& flags, const std::string& service, const std::string& env,
                const std::string& instance, const std::string& since, const std::string& grep, int limit,
                bool follow) {
  std::string query = "service=" + http::PercentEncode(service);
  if (!env.empty()) query += "&environment=" + http::PercentEncode(env);
  if (!instance.empty()) query += "&instance=" + http::PercentEncode(instance);
  if (!since.empty()) query += "&since=" + http::PercentEncode(since);
  if (!grep.empty()) query += "&grep=" + http::PercentEncode(grep);
  query += "&limit=" + std::to_string(limit);
  if (follow) query += "&follow=1";
  std::string token = flags.token;
  if (token.empty() && std::getenv("GANTRY_TOKEN")) token = std::getenv("GANTRY_TOKEN");
  auto req =
      http::MakeRequest("GET", flags.BaseUrl() + "/api/v1/logs?" + query, "", {{"Authorization", "Bearer " + token}});
  auto stream = http::ClientStream::Open(req);
  if (!stream.ok()) {
    std::fprintf(stderr, "gantry logs: server unavailable: %s\n", stream.error().c_str());
    return kExitUnavailable;
  }
  if ((*stream)->status() != 200) {
    auto body = (*stream)->ReadAll(64 * 1024);
    std::fprintf(stderr, "gantry logs: %d %s\n", (*stream)->status(),
                 body.ok() ? std::string(Trim(*body)).c_str() : "");
    return (*stream)->status() == 401 || (*stream)->status() == 403 ? kExitUnavailable : kExitFailed;
  }
  // The server sends a blank line every idle second; a minute of silence means it is gone.
  (*stream)->set_timeout_ms(60000);
  std::string line;
  while ((*stream)->ReadLine(&line, 1 << 20)) {
    PrintLogLine(line, instance.empty());
    if (follow) std::fflush(stdout);
  }
  if (follow) {
    std::fprintf(stderr, "gantry logs: the server closed the stream\n");
    return kExitUnavailable;
  }
  return kExitOk;
}

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string target, env, instance, since, grep;
  int limit = 1000;
  bool follow = false;
  CLI::App app{
      "Print the logs of a run (all jobs) or of one job (RUN/JOB, JOB = job id).\n"
      "-f follows the run live until it completes; exit 1 if it did not succeed.\n"
      "service/NAME prints what the instances of a deployed service printed (stdout and\n"
      "stderr, kept 7 days): filter with --env, --instance, --since, --grep; -f follows.",
      "gantry logs"};
  app.add_option("target", target, "RUN, RUN/JOB or service/NAME")->required();
  app.add_flag("-f,--follow", follow, "follow: until the run completes, or a service's new lines until Ctrl-C");
  app.add_option("--env", env, "service logs: only this environment");
  app.add_option("--instance", instance, "service logs: only this instance id");
  app.add_option("--since", since, "service logs: only lines of the last DURATION (10m, 2h, 1d)");
  app.add_option("--grep", grep, "service logs: only lines containing TEXT");
  app.add_option("-n,--tail", limit, "service logs: the last N matching lines (default 1000)")
      ->check(CLI::Range(1, 100000));
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (StartsWith(target, "service/")) {
    std::string service = target.substr(8);
    if (service.empty() || service.size() > 100 ||
        service.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      std::fprintf(stderr, "gantry logs: expected service/NAME with NAME like [a-z0-9_-]+, got '%s'\n", target.c_str());
      return kExitUsage;
    }
    return ServiceLogs(flags, service, env, instance, since, grep, limit, follow);
  }
  if (!env.empty() || !instance.empty() || !since.empty() || !grep.empty()) {
    std::fprintf(stderr, "gantry logs: --env, --instance, --since and --grep are for service/NAME\n");
    return kExitUsage;
  }
  std::string run = target, job;
  if (auto slash = target.find('/'); slash != std::string::npos) {
    run = target.substr(0, slash);
    job = target.substr(slash + 1);
  }
  if (run.empty() || run.find_first_not_of("0123456789") != std::string::npos ||
      job.find_first_not_of("0123456789") != std::string::npos) {
    std::fprintf(stderr, "gantry logs: expected RUN or RUN/JOB (numbers), got '%s'\n", target.c_str());
    return kExitUsage;
  }
  auto info = CallApi(flags, "logs", "GET", "runs/" + run);
  if (info.exit_code != kExitOk) return info.exit_code;
  auto result = [&](const nlohmann::json& r) {
    std::string status = r.value("status", ""), conclusion = r.value("conclusion", "");
    return status != "completed" || conclusion == "success" ? kExitOk : kExitFailed;
  };
  if (!follow) {
    for (const auto& j : info.body["jobs"]) {
      std::string id = std::to_string(j.value("id", 0LL));
      if (!job.empty() && id != job) continue;
      long long after = 0;
      for (;;) {
        auto lines =
            CallApi(flags, "logs", "GET", "runs/" + run + "/jobs/" + id + "/logs?after=" + std::to_string(after));
        if (lines.exit_code != kExitOk) return lines.exit_code;
        const auto& list = lines.body["lines"];
        if (list.empty()) break;
        for (const auto& l : list) {
          std::printf("%s%s%s\n", job.empty() ? j.value("name", "").c_str() : "", job.empty() ? " | " : "",
                      l.value("text", "").c_str());
          after = l.value("seq", 0LL);
        }
      }
    }
    return result(info.body);
  }
  std::string token = flags.token;
  if (token.empty() && std::getenv("GANTRY_TOKEN")) token = std::getenv("GANTRY_TOKEN");
  auto req = http::MakeRequest("GET", flags.BaseUrl() + "/api/v1/runs/" + run + "/events", "",
                               {{"Authorization", "Bearer " + token}, {"Accept", "text/event-stream"}});
  req.timeout_ms = 60000;
  auto stream = http::ClientStream::Open(req);
  if (!stream.ok()) {
    std::fprintf(stderr, "gantry logs: server unavailable: %s\n", stream.error().c_str());
    return kExitUnavailable;
  }
  std::string line, event;
  nlohmann::json last = info.body;
  while ((*stream)->ReadLine(&line)) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) != 0) continue;
    auto data = nlohmann::json::parse(line.substr(6), nullptr, false);
    if (event == "log") {
      if (!job.empty() && std::to_string(data.value("job_id", 0LL)) != job) continue;
      std::printf("%s%s%s\n", job.empty() ? data.value("job", "").c_str() : "", job.empty() ? " | " : "",
                  data.value("text", "").c_str());
      std::fflush(stdout);
    } else if (event == "status") {
      last = data;
    }
  }
  if (last.value("status", "") != "completed") {
    std::fprintf(stderr, "gantry logs: the stream ended before the run completed\n");
    return kExitUnavailable;
  }
  return result(last);
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("logs", "print or follow (-f) the logs of a run, or of a deployed service (service/NAME)",
               gantry::cli::Run);
