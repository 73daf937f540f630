// `gantry image build`: builds a Dockerfile with docker or podman when one is installed,
// else with buildah (chroot isolation, vfs storage: no daemon, no privileges beyond root in
// a container), tags it (sha-<short>, v<semver>, build number, explicit tags) and pushes
// every tag. Prints `tags=` and `digest=` lines, the step outputs of `gantry/build-image`.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "base/fs.h"
#include "base/strings.h"
#include "cli/cli_util.h"

extern char** environ;

namespace gantry::cli {
namespace {

bool OnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : Split(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    if (!dir.empty() && ::access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs argv with inherited stdio; the exit status (or -1 when it could not start).
int RunTool(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool IsSemver(std::string_view v) {
  if (StartsWith(v, "v")) v.remove_prefix(1);
  auto core = Split(v.substr(0, v.find_first_of("-+")), '.');
  if (core.size() != 3) return false;
  for (const auto& part : core) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return false;
  }
  return true;
}

int Run(int argc, char** argv) {
  CLI::App app{
      "Builds a container image from a Dockerfile and pushes it (docs/registry.md).\n"
      "Uses docker or podman when installed, else buildah (--isolation chroot, vfs storage).",
      "gantry image build"};
  auto* build = app.add_subcommand("build", "Build, tag and push an image")->required();
  std::string context = ".", file, repository, sha, version, build_number, engine = "auto", storage, creds;
  std::vector<std::string> tags;
  bool push = false, tls_verify = true;
  build->add_option("context", context, "Build context directory");
  build->add_option("--file,-f", file, "Dockerfile (default CONTEXT/Dockerfile)");
  build->add_option("--repository", repository, "REGISTRY/NAME the derived tags go to, e.g. 127.0.0.1:8080/team/app");
  build->add_option("--sha", sha, "Commit SHA: tags sha-<first 7>");
  build->add_option("--version", version, "Semantic version: tags v<version>");
  build->add_option("--build-number", build_number, "Build number: tags <number>");
  build->add_option("--tag,-t", tags, "Full reference to tag and push (repeatable)");
  build->add_flag("--push", push, "Push every tag");
  build->add_option("--tls-verify", tls_verify, "Verify the registry's TLS (false for plain http)");
  build->add_option("--creds", creds, "USER:PASSWORD for the registry");
  build->add_option("--engine", engine, "auto, docker, podman or buildah")
      ->check(CLI::IsMember({"auto", "docker", "podman", "buildah"}));
  build->add_option("--storage", storage, "buildah storage root (default: a temporary directory)");
  if (int rc = Parse(app, argc, argv); rc >= 0) return rc;

  if (!repository.empty()) {
    if (!sha.empty()) {
      if (sha.size() < 7 || sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
        std::fprintf(stderr, "gantry image build: --sha %s: expected a hex commit SHA\n", sha.c_str());
        return kExitUsage;
      }
      tags.push_back(repository + ":sha-" + sha.substr(0, 7));
    }
    if (!version.empty()) {
      if (!IsSemver(version)) {
        std::fprintf(stderr, "gantry image build: --version %s: expected MAJOR.MINOR.PATCH\n", version.c_str());
        return kExitUsage;
      }
      tags.push_back(repository + ":" + (StartsWith(version, "v") ? version : "v" + version));
    }
    if (!build_number.empty()) tags.push_back(repository + ":" + build_number);
  }
  if (tags.empty()) {
    std::fprintf(
        stderr, "gantry image build: nothing to tag: give --tag or --repository with --sha/--version/--build-number\n");
    return kExitUsage;
  }
  if (file.empty()) file = context + "/Dockerfile";
  if (engine == "auto") engine = OnPath("docker") ? "docker" : OnPath("podman") ? "podman" : "buildah";
  if (!OnPath(engine)) {
    std::fprintf(stderr, "gantry image build: %s is not installed\n", engine.c_str());
    return kExitFailed;
  }
  std::vector<std::string> base = {engine};
  std::string temp_storage;
  if (engine == "buildah") {
    if (storage.empty()) {
      auto dir = MakeTempDir("gantry-buildah");
      if (!dir.ok()) return kExitFailed;
      storage = temp_storage = *dir;
    }
    base.insert(base.end(), {"--storage-driver", "vfs", "--root", storage + "/root", "--runroot", storage + "/run"});
  }
  auto cleanup = [&] {
    if (!temp_storage.empty()) RemoveAll(temp_storage);
  };
  std::vector<std::string> cmd = base;
  cmd.push_back(engine == "buildah" ? "bud" : "build");
  if (engine == "buildah") cmd.insert(cmd.end(), {"--isolation", "chroot"});
  cmd.insert(cmd.end(), {"-f", file});
  for (const auto& t : tags) cmd.insert(cmd.end(), {"-t", t});
  cmd.push_back(context);
  if (int rc = RunTool(cmd); rc != 0) {
    std::fprintf(stderr, "gantry image build: %s build failed (exit %d)\n", engine.c_str(), rc);
    cleanup();
    return kExitFailed;
  }
  std::string digest;
  if (push) {
    for (const auto& t : tags) {
      std::vector<std::string> p = base;
      p.push_back("push");
      std::string digest_file =
          storage.empty() ? "/tmp/gantry-image-digest." + std::to_string(::getpid()) : storage + "/digest";
      if (engine != "docker") {
        p.push_back(std::string("--tls-verify=") + (tls_verify ? "true" : "false"));
        if (!creds.empty()) p.insert(p.end(), {"--creds", creds});
        p.insert(p.end(), {"--digestfile", digest_file});
      }
      p.push_back(t);
      if (engine == "buildah") p.push_back("docker://" + t);
      if (int rc = RunTool(p); rc != 0) {
        std::fprintf(stderr, "gantry image build: push of %s failed (exit %d)\n", t.c_str(), rc);
        cleanup();
        return kExitFailed;
      }
      if (auto d = ReadFile(digest_file, 1024); d.ok()) digest = std::string(Trim(*d));
      ::unlink(digest_file.c_str());
    }
  }
  std::printf("tags=%s\n", Join(tags, ",").c_str());
  if (!digest.empty()) std::printf("digest=%s\n", digest.c_str());
  cleanup();
  return kExitOk;
}

}  // namespace

GANTRY_COMMAND("image", "Build a container image from a Dockerfile, tag it and push it", Run);

}  // namespace gantry::cli
