// gantry logs [-f] RUN[/JOB]: prints stored log lines; -f follows the live stream (SSE)
// until the run completes. Exit code: 0 when the run succeeded (or is still going without
// -f), 1 when it failed or was cancelled.
#include <cstdio>

#include "cli/client.h"

namespace gantry::cli {
namespace {

int Run(int argc, char** argv) {
  ClientFlags flags;
  std::string target;
  bool follow = false;
  CLI::App app{
      "Print the logs of a run (all jobs) or of one job (RUN/JOB, JOB = job id).\n"
      "-f follows the run live until it completes; exit 1 if it did not succeed.",
      "gantry logs"};
  app.add_option("run", target, "RUN or RUN/JOB")->required();
  app.add_flag("-f,--follow", follow, "follow until the run completes");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
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

GANTRY_COMMAND("logs", "print or follow (-f) the logs of a run on the server", gantry::cli::Run);
