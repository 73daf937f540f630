// git fetch of remote actions into a per-ref cache, safe for parallel jobs (each clones into a
// private temporary directory, then renames it into place; the first rename wins).
#include "runner/action_fetch.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::runner {
namespace {

bool SafeName(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 200) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// A ref as a directory name: branch/tag names may hold '/', which becomes '%2F'.
std::string RefDirName(const std::string& ref) {
  std::string out;
  for (char c : ref) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

struct Git {
  const ActionFetchOptions& o;
  std::string output;
  bool Run(const std::vector<std::string>& args) {
    ProcessSpec spec;
    spec.argv = {"git"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {"PATH=" + o.path_env, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"};
    if (const char* home = std::getenv("HOME")) spec.env.push_back(std::string("HOME=") + home);
    spec.cancel = o.cancel;
    spec.timeout_ms = 10 * 60 * 1000;
    output.clear();
    spec.on_line = [this](OutputStream, std::string_view l) {
      if (output.size() < 4096) output += std::string(l) + "\n";
    };
    auto r = RunProcess(spec);
    if (!r.ok()) {
      output = r.error();
      return false;
    }
    return r->exit_code == 0;
  }
};

}  // namespace

Result<std::string> FetchRemoteRepository(const ActionFetchOptions& o, const std::string& owner,
                                          const std::string& repo, const std::string& ref) {
  if (o.base_url.empty()) return Result<std::string>::Error("no actions URL is configured");
  if (!SafeName(owner) || !SafeName(repo))
    return Result<std::string>::Error("invalid repository name '" + owner + "/" + repo + "'");
  if (ref.empty() || ref[0] == '-' || ref.size() > 250 || ref.find("..") != std::string::npos)
    return Result<std::string>::Error("invalid ref '" + ref + "'");
  std::string dest = o.cache_dir + "/" + owner + "/" + repo + "@" + RefDirName(ref);
  if (PathExists(dest + "/.git")) return dest;
  if (auto st = MakeDirs(o.cache_dir + "/" + owner); !st.ok()) return Result<std::string>::Error(st.message());

  static std::atomic<int> counter{0};
  std::string tmp = dest + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  RemoveAll(tmp);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { RemoveAll(dir); }
  } cleanup{tmp};
  Git git{o, {}};
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string tried, last_error;
  for (const std::string& url : {base + "/" + owner + "/" + repo, base + "/" + owner + "/" + repo + ".git"}) {
    tried += (tried.empty() ? "" : ", ") + url;
    RemoveAll(tmp);
    if (!git.Run({"init", "-q", tmp})) return Result<std::string>::Error("git init failed: " + git.output);
    // A shallow fetch of the ref (branch, tag or commit); a full fetch when the server does not
    // let us ask for a commit directly.
    bool ok = git.Run({"-C", tmp, "fetch", "-q", "--depth", "1", "--", url, ref}) &&
              git.Run({"-C", tmp, "checkout", "-q", "--detach", "FETCH_HEAD"});
    if (!ok) {
      last_error = git.output;
      ok = git.Run({"-C", tmp, "fetch", "-q", "--", url, "+refs/heads/*:refs/remotes/origin/*",
                    "+refs/tags/*:refs/tags/*"}) &&
           git.Run({"-C", tmp, "checkout", "-q", "--detach", ref});
      if (!ok && last_error.empty()) last_error = git.output;
    }
    if (!ok) continue;
    if (std::rename(tmp.c_str(), dest.c_str()) != 0 && !PathExists(dest + "/.git")) {
      return Result<std::string>::Error("cannot move the checkout to " + dest);
    }
    return dest;
  }
  std::string msg(Trim(last_error));
  return Result<std::string>::Error("cannot fetch " + owner + "/" + repo + "@" + ref + " (tried " + tried + ")" +
                                    (msg.empty() ? "" : ": " + msg));
}

}  // namespace gantry::runner
