// gantry artifacts RUN | artifacts download RUN NAME -o DIR | artifacts upload RUN NAME PATH...
// | artifacts delete RUN NAME — a run's artifacts on the server (docs/artifacts.md).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/fs.h"
#include "blob/zip.h"
#include "cli/client.h"

namespace gantry::cli {
namespace {

std::string Token(const ClientFlags& flags) {
  if (!flags.token.empty()) return flags.token;
  const char* env = std::getenv("GANTRY_TOKEN");
  return env != nullptr ? env : "";
}

struct TempDir {
  std::string path;
  ~TempDir() {
    if (!path.empty()) (void)RemoveAll(path);
  }
};

int List(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  bool as_json = false;
  CLI::App app{"List a run's artifacts (name, size, expiry). Subcommands: download, upload, delete.",
               "gantry artifacts"};
  app.add_option("run", run, "run id")->required();
  app.add_flag("--json", as_json, "print the API's JSON");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  auto r = CallApi(flags, "artifacts", "GET", "runs/" + std::to_string(run) + "/artifacts");
  if (r.exit_code != kExitOk) return r.exit_code;
  if (as_json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%-32s %12s  %s\n", "NAME", "SIZE", "EXPIRES");
  for (const auto& a : r.body.value("artifacts", nlohmann::json::array())) {
    long long exp = a.value("expires_ms", 0LL) / 1000;
    char when[32] = "never";
    if (exp > 0) {
      time_t t = exp;
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
    }
    std::printf("%-32s %12llu  %s\n", a.value("name", "").c_str(),
                static_cast<unsigned long long>(a.value("size", uint64_t{0})), when);
  }
  return kExitOk;
}

int Download(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  std::string name, dir = ".";
  CLI::App app{"Download an artifact's zip and extract it into DIR (entries that would leave DIR are refused).",
               "gantry artifacts download"};
  app.add_option("run", run, "run id")->required();
  app.add_option("name", name, "artifact name")->required();
  app.add_option("-o,--output", dir, "directory to extract into (default: .)");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  std::string token = Token(flags);
  http::Headers headers;
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  auto req = http::MakeRequest(
      "GET",
      flags.BaseUrl() + "/api/v1/runs/" + std::to_string(run) + "/artifacts/" + http::PercentEncode(name) + "/zip", "",
      headers);
  auto stream = http::ClientStream::Open(req);
  if (!stream.ok()) {
    std::fprintf(stderr, "gantry artifacts: server unavailable: %s\n", stream.error().c_str());
    return kExitUnavailable;
  }
  int status = (*stream)->status();
  if (status != 200) {
    auto body = (*stream)->ReadAll(1 << 16);
    auto j = nlohmann::json::parse(body.ok() ? *body : "", nullptr, false);
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                     : "HTTP " + std::to_string(status);
    std::fprintf(stderr, "gantry artifacts: %s\n", msg.c_str());
    return status == 401 || status == 403 || status >= 500 ? kExitUnavailable : kExitFailed;
  }
  // Spooled to a file first, so a transfer that breaks off extracts nothing.
  TempDir tmp;
  auto t = MakeTempDir("gantry-download");
  if (!t.ok()) {
    std::fprintf(stderr, "gantry artifacts: %s\n", t.error().c_str());
    return kExitFailed;
  }
  tmp.path = *t;
  std::string zip = tmp.path + "/artifact.zip";
  {
    std::ofstream out(zip, std::ios::binary);
    std::string buf(1 << 20, '\0');
    for (;;) {
      long long n = (*stream)->Read(buf.data(), buf.size());
      if (n < 0) {
        std::fprintf(stderr, "gantry artifacts: the download of '%s' broke off\n", name.c_str());
        return kExitFailed;
      }
      if (n == 0) break;
      out.write(buf.data(), n);
    }
    if (!out.flush()) {
      std::fprintf(stderr, "gantry artifacts: cannot write %s\n", zip.c_str());
      return kExitFailed;
    }
  }
  std::ifstream in(zip, std::ios::binary);
  blob::ReadFn read = [&in](char* b, size_t n) -> long long {
    in.read(b, static_cast<std::streamsize>(n));
    return in.bad() ? -1 : in.gcount();
  };
  auto sum = blob::ExtractZip(read, dir);
  if (!sum.ok()) {
    std::fprintf(stderr, "gantry artifacts: %s\n", sum.error().c_str());
    return kExitFailed;
  }
  std::printf("extracted %llu file(s), %llu bytes into %s\n", static_cast<unsigned long long>(sum->files),
              static_cast<unsigned long long>(sum->total_bytes), dir.c_str());
  return kExitOk;
}

int Upload(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  int retention = 0;
  std::string name;
  std::vector<std::string> paths;
  CLI::App app{"Zip files and directories (relative to the current directory) into artifact NAME of a run.",
               "gantry artifacts upload"};
  app.add_option("run", run, "run id")->required();
  app.add_option("name", name, "artifact name")->required();
  app.add_option("paths", paths, "files or directories")->required();
  app.add_option("--retention-days", retention, "days to keep it (default and maximum: the server's, 90)");
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  TempDir tmp;
  auto t = MakeTempDir("gantry-upload");
  if (!t.ok()) return kExitFailed;
  tmp.path = *t;
  std::string zip = tmp.path + "/artifact.zip";
  if (auto st = blob::WriteZip(".", paths, zip); !st.ok()) {
    std::fprintf(stderr, "gantry artifacts: %s\n", st.message().c_str());
    return kExitUsage;
  }
  struct stat st {};
  ::stat(zip.c_str(), &st);
  std::string token = Token(flags);
  http::Headers headers = {{"Content-Type", "application/zip"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  std::string url = flags.BaseUrl() + "/api/v1/runs/" + std::to_string(run) + "/artifacts/" +
                    http::PercentEncode(name) + (retention > 0 ? "?retention-days=" + std::to_string(retention) : "");
  auto req = http::MakeRequest("PUT", url, "", headers);
  auto in = std::make_shared<std::ifstream>(zip, std::ios::binary);
  req.body_source = [in](char* b, size_t n) -> long long {
    in->read(b, static_cast<std::streamsize>(n));
    return in->bad() ? -1 : in->gcount();
  };
  req.body_length = static_cast<uint64_t>(st.st_size);
  req.timeout_ms = 120000;
  auto res = http::Fetch(req);
  if (!res.ok()) {
    std::fprintf(stderr, "gantry artifacts: server unavailable: %s\n", res.error().c_str());
    return kExitUnavailable;
  }
  if (res->status != 201) {
    std::fprintf(stderr, "gantry artifacts: HTTP %d: %s", res->status, res->body.c_str());
    return res->status == 401 || res->status == 403 ? kExitUnavailable : kExitFailed;
  }
  std::printf("%s", res->body.c_str());
  return kExitOk;
}

int Delete(int argc, char** argv) {
  ClientFlags flags;
  long long run = 0;
  std::string name;
  CLI::App app{"Delete an artifact of a run. Needs an operator token.", "gantry artifacts delete"};
  app.add_option("run", run, "run id")->required();
  app.add_option("name", name, "artifact name")->required();
  flags.Add(app);
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  return CallApi(flags, "artifacts", "DELETE",
                 "runs/" + std::to_string(run) + "/artifacts/" + http::PercentEncode(name))
      .exit_code;
}

int Run(int argc, char** argv) {
  if (argc >= 2) {
    std::string sub = argv[1];
    if (sub == "download") return Download(argc - 1, argv + 1);
    if (sub == "upload") return Upload(argc - 1, argv + 1);
    if (sub == "delete") return Delete(argc - 1, argv + 1);
  }
  return List(argc, argv);
}

}  // namespace
}  // namespace gantry::cli

GANTRY_COMMAND("artifacts", "list, download, upload or delete a run's artifacts", gantry::cli::Run);
