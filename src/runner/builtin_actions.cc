// Built-in actions that gantry run provides without a network: actions/checkout, the
// artifact actions and actions/cache (backed by the ActionStore), gantry/deploy and
// gantry/build-image (both run the gantry binary itself as a child process).

#include <filesystem>
#include <functional>
#include <system_error>

#include "base/fs.h"
#include "base/strings.h"
#include "runner/artifact_paths.h"
#include "runner/job.h"

namespace gantry::runner {

namespace fs = std::filesystem;

namespace {

std::string Input(const std::map<std::string, std::string>& in, const char* key, std::string def = "") {
  auto it = in.find(key);
  return it == in.end() || it->second.empty() ? def : it->second;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  for (auto& l : Split(s, '\n')) {
    std::string_view t = Trim(l);
    if (!t.empty() && t[0] != '!') out.emplace_back(t);
  }
  return out;
}

std::string Canonical(const std::string& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// Expands `~` and makes a path absolute against the workspace.
std::string Absolute(const std::string& p, const std::string& workspace) {
  if (StartsWith(p, "~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + p.substr(1);
  }
  return p[0] == '/' ? p : workspace + "/" + p;
}

}  // namespace

std::optional<StepRun> Job::RunBuiltin(const ActionRef& ref, const std::map<std::string, std::string>& in,
                                       const workflow::Step& step) {
  std::string name = ref.owner + "/" + ref.repo + (ref.path.empty() ? "" : "/" + ref.path);
  StepRun r;
  auto fail = [&](const std::string& msg) {
    Error(name + ": " + msg);
    r.outcome = StepConclusion::kFailure;
    return r;
  };
  auto say = [&](const std::string& msg) { opts_.sink->Line(this->name(), opts_.masker->Mask(msg), false); };

  if (name == "actions/checkout") {
    std::string dest = opts_.workspace + (Input(in, "path").empty() ? "" : "/" + Input(in, "path"));
    std::string repo = Canonical(opts_.repository);
    if (Canonical(dest) == repo) {
      say("The workspace is the repository " + repo + "; nothing to check out");
      return r;
    }
    if (auto st = MakeDirs(dest); !st.ok()) return fail(st.message());
    std::string sha = Input(in, "ref", base_contexts_.Find("github")->Find("sha")->ToDisplayString());
    bool git = PathExists(repo + "/.git") && !sha.empty() && sha.find_first_not_of('0') != std::string::npos;
    if (git) {
      ProcessSpec spec;
      spec.argv = {"sh", "-c", "git -C \"$1\" archive --format=tar \"$2\" | tar -xf - -C \"$3\"", "checkout", repo,
                   sha,  dest};
      spec.env = {"PATH=" + host_path_};
      spec.cancel = &cancel();
      std::string err;
      spec.on_line = [&](OutputStream, std::string_view l) { err += std::string(l) + "\n"; };
      auto res = RunProcess(spec);
      if (!res.ok() || res->exit_code != 0) return fail("cannot check out " + sha + " of " + repo + ": " + err);
      say("Checked out " + repo + " at " + sha + " into " + dest);
      return r;
    }
    std::error_code ec;
    std::string dest_c = Canonical(dest);
    for (const auto& e : fs::directory_iterator(repo, ec)) {
      std::string n = e.path().filename().string();
      if (n == ".git" || Canonical(e.path().string()) == dest_c) continue;
      fs::copy(e.path(), fs::path(dest) / n,
               fs::copy_options::recursive | fs::copy_options::overwrite_existing | fs::copy_options::copy_symlinks,
               ec);
      if (ec) return fail("cannot copy " + e.path().string() + ": " + ec.message());
    }
    say("Copied " + repo + " into " + dest);
    return r;
  }

  // The step's view of the server that runs this workflow (empty under a plain `gantry run`).
  auto host_var = [&](std::string_view key) {
    for (const auto& e : host_env_)
      if (StartsWith(e, key) && e.size() > key.size() && e[key.size()] == '=') return e.substr(key.size() + 1);
    return std::string();
  };
  auto github = [&](const char* key) { return base_contexts_.Find("github")->Find(key)->ToDisplayString(); };
  // Runs this gantry binary with `args`, its output in the step log; `line` sees each line.
  auto run_gantry = [&](std::vector<std::string> args, const std::function<void(std::string_view)>& line,
                        int* exit_code) -> std::string {
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return "cannot find the gantry binary";
    ProcessSpec spec;
    spec.argv = {std::string(exe, static_cast<size_t>(n))};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    for (const auto& e : host_env_)
      if (!StartsWith(e, "GANTRY_DATA=")) spec.env.push_back(e);  // the server, never a local data dir
    spec.env.push_back("PATH=" + host_path_);
    spec.cancel = &cancel_;
    spec.on_line = [&](OutputStream, std::string_view l) {
      say(std::string(l));
      if (line) line(l);
    };
    auto res = RunProcess(spec);
    if (!res.ok()) return res.error();
    *exit_code = res->exit_code;
    return "";
  };

  if (name == "gantry/build-image") {
    // `gantry image build` as an action: builds CONTEXT, tags sha-/v-/build-number, pushes to
    // the registry of the server running the workflow (or `repository`'s own registry).
    std::string repository = Input(in, "repository");
    const std::string url = host_var("GANTRY_URL");
    bool plain_http = StartsWith(url, "http://");
    if (repository.empty()) {
      std::string image = Input(in, "image");
      if (image.empty()) return fail("input 'image' (NAME, e.g. team/app) or 'repository' (REGISTRY/NAME) is required");
      if (url.empty()) return fail("no GANTRY_URL: give 'repository' as REGISTRY/NAME outside gantry server");
      std::string host = url.substr(url.find("://") + 3);
      repository = host.substr(0, host.find('/')) + "/" + image;
    } else {
      plain_http = Input(in, "tls-verify", "true") == "false";
    }
    std::vector<std::string> args = {"image", "build", Absolute(Input(in, "context", "."), opts_.workspace),
                                     "--repository", repository};
    if (!Input(in, "file").empty()) args.insert(args.end(), {"--file", Absolute(Input(in, "file"), opts_.workspace)});
    args.insert(args.end(), {"--sha", Input(in, "sha", github("sha"))});
    if (!Input(in, "version").empty()) args.insert(args.end(), {"--version", Input(in, "version")});
    std::string number = Input(in, "build-number", "true");
    if (number == "true") number = github("run_number");
    if (number != "false") args.insert(args.end(), {"--build-number", number});
    for (const auto& t : Lines(Input(in, "tags"))) args.insert(args.end(), {"--tag", t});
    if (!Input(in, "engine").empty()) args.insert(args.end(), {"--engine", Input(in, "engine")});
    if (Input(in, "push", "true") == "true") args.push_back("--push");
    args.push_back(std::string("--tls-verify=") + (plain_http ? "false" : "true"));
    std::string creds = Input(in, "creds");
    if (creds.empty() && !host_var("GANTRY_TOKEN").empty()) creds = "gantry:" + host_var("GANTRY_TOKEN");
    if (!creds.empty()) args.insert(args.end(), {"--creds", creds});
    int code = -1;
    std::string err = run_gantry(
        args,
        [&](std::string_view l) {
          if (StartsWith(l, "tags=")) r.outputs["tags"] = std::string(l.substr(5));
          if (StartsWith(l, "digest=")) r.outputs["digest"] = std::string(l.substr(7));
        },
        &code);
    if (!err.empty()) return fail(err);
    if (code != 0) return fail("the image build failed (exit " + std::to_string(code) + ")");
    if (!r.outputs["digest"].empty()) r.outputs["image"] = repository + "@" + r.outputs["digest"];
    return r;
  }

  if (name == "gantry/deploy") {
    // Runs `gantry deploy` against the server that runs this workflow (GANTRY_URL and the
    // run's GANTRY_TOKEN) and waits for the outcome: a rollback fails the step.
    const std::string service = Input(in, "service");
    if (service.empty()) return fail("input 'service' is required");
    std::string revision = Input(in, "revision", Input(in, "ref"));
    if (revision.empty()) revision = github("sha");
    std::vector<std::string> args = {"deploy",     service,  "--env",       Input(in, "environment", "staging"),
                                     "--revision", revision, "--until-done"};
    if (!Input(in, "project").empty()) args.insert(args.end(), {"--project", Input(in, "project")});
    if (!Input(in, "strategy").empty()) args.insert(args.end(), {"--strategy", Input(in, "strategy")});
    // The branch the run was built from, for the environment's allowed_branches.
    const expr::Value* git_ref = base_contexts_.Find("github")->Find("ref");
    std::string branch = Input(in, "branch");
    if (branch.empty() && git_ref && git_ref->is_string() && StartsWith(git_ref->string_value(), "refs/heads/"))
      branch = git_ref->string_value().substr(11);
    if (!branch.empty()) args.insert(args.end(), {"--branch", branch});
    if (host_var("GANTRY_URL").empty())
      return fail("no GANTRY_URL: gantry/deploy runs in workflows run by gantry server");
    int code = -1;
    if (std::string err = run_gantry(args, nullptr, &code); !err.empty()) return fail(err);
    if (code != 0) return fail("deployment of " + service + " did not succeed (exit " + std::to_string(code) + ")");
    return r;
  }

  bool upload = name == "actions/upload-artifact";
  bool download = name == "actions/download-artifact";
  bool cache = name == "actions/cache" || name == "actions/cache/restore" || name == "actions/cache/save";
  if (!upload && !download && !cache) return std::nullopt;
  if (opts_.store == nullptr) return fail("no artifact/cache store is configured");
  std::string run_space = "artifacts/" + base_contexts_.Find("github")->Find("run_id")->ToDisplayString();

  if (upload) {
    std::string artifact = Input(in, "name", "artifact");
    std::string mode = Input(in, "if-no-files-found", "warn");
    if (mode != "warn" && mode != "error" && mode != "ignore")
      return fail("if-no-files-found must be warn, error or ignore, not '" + mode + "'");
    auto found = FindArtifactFiles(Input(in, "path"), opts_.workspace);
    if (!found.ok()) return fail(found.error());
    if (found->files.empty()) {
      std::string msg =
          "No files were found with the provided path: " + Input(in, "path") + ". No artifacts will be uploaded.";
      if (mode == "error") return fail(msg);
      if (mode == "warn") {
        Annotation a;
        a.level = "warning";
        a.message = msg;
        a.job = this->name();
        opts_.sink->AnnotationAdded(a);
      }
      return r;
    }
    std::string retention = Input(in, "retention-days", "0");
    if (retention.empty() || retention.size() > 5 || retention.find_first_not_of("0123456789") != std::string::npos) {
      return fail("retention-days must be a number of days, got '" + retention + "'");
    }
    if (auto st = opts_.store->SaveArtifact(run_space, artifact, found->root, found->files, std::stoi(retention));
        !st.ok())
      return fail(st.message());
    say("Uploaded artifact '" + artifact + "': " + std::to_string(found->files.size()) + " file(s) from " +
        found->root);
    return r;
  }
  if (download) {
    std::string artifact = Input(in, "name");
    std::string dest = Absolute(Input(in, "path", "."), opts_.workspace);
    std::vector<std::pair<std::string, std::string>> todo;
    if (!artifact.empty()) {
      todo.emplace_back(artifact, dest);
    } else {
      for (const auto& a : opts_.store->List(run_space, "")) todo.emplace_back(a, dest + "/" + a);
    }
    for (const auto& [a, d] : todo) {
      auto ok = opts_.store->Restore(run_space, a, d);
      if (!ok.ok()) return fail(ok.error());
      if (!*ok) return fail("artifact '" + a + "' not found in this run");
      say("Downloaded artifact '" + a + "' into " + d);
    }
    return r;
  }

  // actions/cache: restore now, save when the job ends (if the key was not hit exactly).
  std::string key = Input(in, "key");
  if (key.empty()) return fail("input 'key' is required");
  std::vector<std::string> paths;
  for (const auto& p : Lines(Input(in, "path"))) {
    std::string abs = Canonical(Absolute(p, opts_.workspace));
    paths.push_back(abs.substr(1));  // relative to "/"
  }
  if (paths.empty()) return fail("input 'path' is required");
  bool exact = false;
  if (name != "actions/cache/save") {
    std::string hit;
    std::vector<std::string> candidates = {key};
    for (const auto& k : Lines(Input(in, "restore-keys"))) {
      for (const auto& e : opts_.store->List("cache", k)) candidates.push_back(e);
    }
    for (const auto& c : candidates) {
      auto ok = opts_.store->Restore("cache", c, "/");
      if (!ok.ok()) return fail(ok.error());
      if (*ok) {
        hit = c;
        break;
      }
    }
    exact = hit == key;
    r.outputs["cache-hit"] = exact ? "true" : "false";
    r.outputs["cache-primary-key"] = key;
    r.outputs["cache-matched-key"] = hit;
    say(hit.empty() ? "Cache not found for key " + key : "Cache restored from key " + hit);
  }
  auto save = [this, key, paths]() {
    std::vector<std::string> existing;
    for (const auto& p : paths) {
      if (PathExists("/" + p)) existing.push_back(p);
    }
    if (existing.empty()) return StepConclusion::kSuccess;
    auto st = opts_.store->Save("cache", key, "/", existing);
    if (!st.ok()) {
      Error("actions/cache: " + st.message());
      return StepConclusion::kFailure;
    }
    opts_.sink->Line(this->name(), "Cache saved with key " + key, false);
    return StepConclusion::kSuccess;
  };
  if (name == "actions/cache/save") {
    r.outcome = save();
  } else if (name == "actions/cache" && !exact) {
    PostStep post;
    post.display = "Post " + (step.name ? step.name->value : "Run actions/cache");
    post.condition = "success()";
    post.builtin = save;
    AddPost(std::move(post));
  }
  return r;
}

}  // namespace gantry::runner
