#include "server/git_repo.h"

#include "base/process.h"
#include "base/strings.h"

extern char** environ;

namespace gantry::server {

Result<std::string> Git(const std::vector<std::string>& args, const std::string& cwd) {
  ProcessSpec spec;
  spec.argv = {"git"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  spec.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  spec.cwd = cwd;
  spec.timeout_ms = 120000;
  std::string out, err;
  spec.on_line = [&](OutputStream s, std::string_view line) {
    std::string& dst = s == OutputStream::kStdout ? out : err;
    if (dst.size() < (64u << 20)) {
      dst.append(line);
      dst += '\n';
    }
  };
  auto r = RunProcess(spec);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Result<std::string>::Error("git " + (args.empty() ? "" : args[0]) + " failed: " + std::string(Trim(err)));
  }
  return out;
}

CommitSummary DescribeCommit(const std::string& repo, const std::string& sha) {
  CommitSummary out;
  if (sha.empty() || sha.find_first_not_of("0123456789abcdef") != std::string::npos) return out;
  // The author name is one line; the title is the first line of the message body.
  auto r = Git({"--git-dir", repo, "log", "-1", "--format=%an%n%B", sha, "--"});
  if (!r.ok()) return out;
  auto lines = Split(*r, '\n');
  if (lines.size() >= 1) out.author = lines[0].substr(0, 200);
  if (lines.size() >= 2) out.title = lines[1].substr(0, 300);
  return out;
}

Status InitBareRepo(const std::string& path) {
  auto r = Git({"init", "-q", "--bare", "-b", "main", path});
  if (!r.ok()) return r.status();
  r = Git({"--git-dir", path, "config", "http.receivepack", "true"});
  return r.ok() ? Status::Ok() : r.status();
}

std::map<std::string, std::string> ListRefs(const std::string& repo) {
  std::map<std::string, std::string> out;
  auto r = Git({"--git-dir", repo, "for-each-ref", "--format=%(refname) %(objectname)"});
  if (!r.ok()) return out;
  for (const auto& line : Split(*r, '\n')) {
    auto sp = line.find(' ');
    if (sp != std::string::npos) out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

std::vector<std::string> WorkflowFiles(const std::string& repo, const std::string& sha) {
  std::vector<std::string> out;
  for (const char* dir : {".gantry/workflows/", ".github/workflows/"}) {
    auto r = Git({"--git-dir", repo, "ls-tree", "--name-only", sha, dir});
    if (!r.ok()) continue;
    for (const auto& line : Split(*r, '\n')) {
      if (EndsWith(line, ".yml") || EndsWith(line, ".yaml")) out.push_back(line);
    }
    if (!out.empty()) break;
  }
  return out;
}

Result<std::string> ShowFile(const std::string& repo, const std::string& sha, const std::string& path) {
  return Git({"--git-dir", repo, "show", sha + ":" + path});
}

std::vector<std::string> ChangedFiles(const std::string& repo, const std::string& from, const std::string& to) {
  Result<std::string> r = Result<std::string>::Error("");
  if (from.empty() || from == std::string(40, '0')) {
    r = Git({"--git-dir", repo, "ls-tree", "-r", "--name-only", to});
  } else {
    r = Git({"--git-dir", repo, "diff", "--name-only", from, to});
  }
  std::vector<std::string> out;
  if (!r.ok()) return out;
  for (const auto& line : Split(*r, '\n')) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Status Checkout(const std::string& repo, const std::string& sha, const std::string& dest) {
  auto r = Git({"clone", "-q", "--no-checkout", repo, dest});
  if (!r.ok()) return r.status();
  r = Git({"-c", "advice.detachedHead=false", "checkout", "-q", sha}, dest);
  return r.ok() ? Status::Ok() : r.status();
}

bool ValidProjectName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return !EndsWith(name, ".git") && name.find("..") == std::string::npos;
}

}  // namespace gantry::server
