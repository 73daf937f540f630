// `gantry registry`: the OCI registry on its own (tests, benchmarks, a registry-only host).
// `gantry server` mounts the same registry at /v2/ with Gantry's tokens deciding access.
#include "registry/registry.h"

#include <csignal>
#include <cstdio>
#include <map>
#include <thread>

#include "base/http_auth.h"
#include "base/http_server.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "blob/blob_store.h"
#include "blob/cache_service.h"
#include "cli/cli_util.h"

namespace gantry::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct User {
  std::string password;
  bool may_push = false;
};

// --user NAME:PASSWORD:ROLE, ROLE viewer (pull) or operator (pull, push, delete).
registry::AuthHook StaticUsers(std::map<std::string, User> users) {
  return [users = std::move(users)](const http::Request& req, std::string_view, registry::Access access) {
    std::string name, password;
    if (!http::ParseBasicAuth(req.Header("Authorization"), &name, &password)) {
      return registry::AuthResult::kUnauthenticated;
    }
    auto it = users.find(name);
    if (it == users.end() || !ConstantTimeEquals(it->second.password, password)) {
      return registry::AuthResult::kUnauthenticated;
    }
    if (access != registry::Access::kPull && !it->second.may_push) return registry::AuthResult::kDenied;
    return registry::AuthResult::kAllowed;
  };
}

int Serve(const std::string& data, const std::string& listen, const std::vector<std::string>& users,
          const std::string& port_file) {
  auto store = blob::OpenFsBlobStore(data + "/blobs");
  if (!store.ok()) {
    std::fprintf(stderr, "gantry registry: %s\n", store.error().c_str());
    return kExitFailed;
  }
  registry::RegistryOptions options;
  options.data_dir = data + "/registry";
  if (!users.empty()) {
    std::map<std::string, User> table;
    for (const auto& spec : users) {
      auto parts = Split(spec, ':');
      if (parts.size() != 3 || parts[0].empty() || (parts[2] != "viewer" && parts[2] != "operator")) {
        std::fprintf(stderr, "gantry registry: --user %s: expected NAME:PASSWORD:viewer|operator\n", spec.c_str());
        return kExitUsage;
      }
      table[parts[0]] = User{parts[1], parts[2] == "operator"};
    }
    options.auth = StaticUsers(std::move(table));
  }
  registry::Registry reg(**store, options);
  blob::CacheServiceOptions cache_options;
  cache_options.data_dir = data + "/cache";
  auto cache = blob::CacheService::Open(**store, cache_options);
  if (!cache.ok()) {
    std::fprintf(stderr, "gantry registry: %s\n", cache.error().c_str());
    return kExitFailed;
  }
  http::Router router;
  router.Mount("", "/v2", reg.Handler());
  router.Mount("", "/_apis/artifactcache/", (*cache)->Handler());
  http::ServerOptions server_options;
  server_options.listen = listen;
  server_options.max_body_bytes = options.max_blob_bytes;
  http::Server server(server_options);
  if (Status s = server.Start(router.AsHandler()); !s.ok()) {
    std::fprintf(stderr, "gantry registry: %s\n", s.message().c_str());
    return kExitFailed;
  }
  std::printf("gantry registry listening on %s\n", server.address().c_str());
  std::fflush(stdout);
  if (!port_file.empty()) {
    std::FILE* f = std::fopen((port_file + ".tmp").c_str(), "w");
    if (f != nullptr) {
      std::fprintf(f, "%d\n", server.port());
      std::fclose(f);
      std::rename((port_file + ".tmp").c_str(), port_file.c_str());
    }
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  return kExitOk;
}

int Gc(const std::string& data, const std::string& min_age, bool dry_run) {
  long long ms = ParseDurationMs(min_age);
  if (ms < 0) {
    std::fprintf(stderr, "gantry registry gc: --min-age %s: expected a duration like 1h or 0s\n", min_age.c_str());
    return kExitUsage;
  }
  auto store = blob::OpenFsBlobStore(data + "/blobs");
  if (!store.ok()) {
    std::fprintf(stderr, "gantry registry gc: %s\n", store.error().c_str());
    return kExitFailed;
  }
  registry::RegistryOptions options;
  options.data_dir = data + "/registry";
  registry::Registry reg(**store, options);
  registry::GcRunOptions gc;
  gc.blob_min_age = std::chrono::seconds(ms / 1000);
  gc.dry_run = dry_run;
  auto report = reg.CollectGarbage(gc);
  if (!report.ok()) {
    std::fprintf(stderr, "gantry registry gc: %s\n", report.error().c_str());
    return kExitFailed;
  }
  std::printf("%stags deleted: %llu\nmanifests deleted: %llu\nblobs deleted: %llu (%llu bytes)\nblobs kept: %llu\n",
              dry_run ? "(dry run) " : "", static_cast<unsigned long long>(report->tags_deleted),
              static_cast<unsigned long long>(report->manifests_deleted),
              static_cast<unsigned long long>(report->blobs.blobs_deleted),
              static_cast<unsigned long long>(report->blobs.bytes_freed),
              static_cast<unsigned long long>(report->blobs.blobs_kept));
  return kExitOk;
}

int Run(int argc, char** argv) {
  CLI::App app{
      "Runs the OCI registry (Distribution Spec v1.1) on its own, or maintains its data.\n"
      "`gantry server` serves the same registry at /v2/; see docs/registry.md.",
      "gantry registry"};
  std::string data, listen = "127.0.0.1:5000", port_file;
  std::vector<std::string> users;
  app.add_option("--data", data, "Data directory (blobs/ and registry/ inside)")->required();
  app.add_option("--listen", listen, "ADDR:PORT to serve on (port 0: any free port)");
  app.add_option("--user", users,
                 "NAME:PASSWORD:ROLE (viewer pulls, operator also pushes); repeatable. "
                 "Without users anyone may pull and push");
  app.add_option("--port-file", port_file, "Write the bound port to this file once listening");
  auto* gc = app.add_subcommand("gc", "Apply lifecycle policies and delete unreferenced blobs");
  std::string min_age = "1h";
  bool dry_run = false;
  gc->add_option("--min-age", min_age, "Keep unreferenced blobs younger than this (a push in progress)");
  gc->add_flag("--dry-run", dry_run, "Report what would be deleted");
  auto* policy = app.add_subcommand("policy", "Set a repository's lifecycle policy (0 turns a rule off)");
  std::string repo;
  int keep_tags = 0, untagged_days = 0;
  policy->add_option("--repository", repo, "Repository name, e.g. team/app")->required();
  policy->add_option("--keep-tags", keep_tags, "Keep the N most recently pushed tags");
  policy->add_option("--untagged-days", untagged_days, "Delete untagged manifests after D days");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;
  if (gc->parsed()) return Gc(data, min_age, dry_run);
  if (policy->parsed()) {
    auto store = blob::OpenFsBlobStore(data + "/blobs");
    if (!store.ok()) return kExitFailed;
    registry::RegistryOptions options;
    options.data_dir = data + "/registry";
    registry::Registry reg(**store, options);
    if (Status s = reg.SetPolicy(repo, {keep_tags, untagged_days}); !s.ok()) {
      std::fprintf(stderr, "gantry registry policy: %s\n", s.message().c_str());
      return kExitUsage;
    }
    return kExitOk;
  }
  return Serve(data, listen, users, port_file);
}

}  // namespace

GANTRY_COMMAND("registry", "Run the OCI registry standalone; gc and lifecycle policies", Run);

}  // namespace gantry::cli
