// hashFiles(): the runner's algorithm. Patterns (one per argument or per line, '!' to
// exclude, '#' comments) are matched against paths under the workspace with glob rules
// (*, ?, [...], ** across directories, dot files included, a match on a directory includes
// everything below it). Directories are walked depth-first with entries in byte order, symlinks
// to directories are not followed, files outside the workspace are ignored. The result is the
// hex SHA-256 of the concatenated binary SHA-256 digests of the files, or '' if none matched.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/sha256.h"
#include "expr/eval.h"

namespace gantry::expr::detail {

namespace {

constexpr size_t kMaxVisited = 200000;  // directory entries one hashFiles() call may visit

struct Pattern {
  bool negate = false;
  std::vector<std::string> segments;  // of an absolute, normalised path
};

std::vector<std::string> SplitPath(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view seg = p.substr(i, j - i);
    if (seg.empty() || seg == ".") {
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.emplace_back(seg);
    }
    i = j + 1;
  }
  return out;
}

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// One path segment against one glob segment (*, ?, [abc], [!a-z]).
bool MatchSegment(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '*') {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (c == '?') {
        ++pi, ++si;
        continue;
      }
      if (c == '[') {
        size_t close = p.find(']', pi + 2);
        if (close != std::string_view::npos) {
          bool neg = p[pi + 1] == '!' || p[pi + 1] == '^';
          size_t k = pi + 1 + (neg ? 1 : 0);
          bool hit = false;
          for (; k < close; ++k) {
            if (k + 2 < close && p[k + 1] == '-') {
              if (s[si] >= p[k] && s[si] <= p[k + 2]) hit = true;
              k += 2;
            } else if (p[k] == s[si]) {
              hit = true;
            }
          }
          if (hit != neg) {
            pi = close + 1, ++si;
            continue;
          }
        } else if (s[si] == '[') {
          ++pi, ++si;
          continue;
        }
      } else if (c == s[si]) {
        ++pi, ++si;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool MatchSegments(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path, size_t si) {
  while (pi < pat.size()) {
    if (pat[pi] == "**") {
      for (size_t k = si; k <= path.size(); ++k)
        if (MatchSegments(pat, pi + 1, path, k)) return true;
      return false;
    }
    if (si >= path.size() || !MatchSegment(pat[pi], path[si])) return false;
    ++pi, ++si;
  }
  return si == path.size();
}

std::string JoinSegments(const std::vector<std::string>& segs, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "/" + segs[i];
  return s.empty() ? "/" : s;
}

class Walker {
 public:
  Walker(const std::vector<Pattern>& patterns, std::string workspace)
      : patterns_(patterns), prefix_(std::move(workspace) + "/") {}

  Status Walk(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (++visited_ > kMaxVisited)
        return Status::Error("hashFiles() visited more than " + std::to_string(kMaxVisited) + " entries");
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string path = dir + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (Status s = Walk(path); !s.ok()) return s;
        continue;
      }
      if (S_ISLNK(st.st_mode) && (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))) continue;
      if (!S_ISREG(st.st_mode) || path.compare(0, prefix_.size(), prefix_) != 0) continue;
      if (!Matches(SplitPath(path))) continue;
      if (Status s = Add(path); !s.ok()) return s;
    }
    return Status::Ok();
  }

  std::string Result() { return count_ ? outer_.HexDigest() : std::string(); }

 private:
  bool Matches(const std::vector<std::string>& segs) const {
    bool m = false;
    for (const auto& p : patterns_) {
      bool hit = MatchSegments(p.segments, 0, segs, 0);
      m = p.negate ? (m && !hit) : (m || hit);
    }
    return m;
  }

  Status Add(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Error("hashFiles() could not read " + path);
    Sha256 h;
    char buf[65536];
    while (in) {
      in.read(buf, sizeof buf);
      if (in.gcount() > 0) h.Update(std::string_view(buf, static_cast<size_t>(in.gcount())));
    }
    auto digest = h.Digest();
    outer_.Update(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    ++count_;
    return Status::Ok();
  }

  const std::vector<Pattern>& patterns_;
  std::string prefix_;
  Sha256 outer_;
  size_t count_ = 0;
  size_t visited_ = 0;
};

}  // namespace

Result<std::string> HashFiles(const std::string& workspace_in, const std::vector<std::string>& args) {
  std::error_code ec;
  std::string workspace = std::filesystem::weakly_canonical(workspace_in, ec).string();
  if (ec || workspace.empty()) return Result<std::string>::Error("hashFiles(): bad workspace " + workspace_in);
  while (workspace.size() > 1 && workspace.back() == '/') workspace.pop_back();
  std::vector<Pattern> patterns;
  for (const auto& arg : args) {
    size_t i = 0;
    while (i <= arg.size()) {
      size_t j = arg.find('\n', i);
      if (j == std::string::npos) j = arg.size();
      std::string_view line(arg.data() + i, j - i);
      i = j + 1;
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '\r'))
        line.remove_prefix(1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
      if (line.empty() || line[0] == '#') continue;
      Pattern p;
      while (!line.empty() && line[0] == '!') p.negate = !p.negate, line.remove_prefix(1);
      std::string full = line.size() && line[0] == '/' ? std::string(line) : workspace + "/" + std::string(line);
      p.segments = SplitPath(full);
      bool implicit = p.segments.empty() || p.segments.back() != "**";
      patterns.push_back(p);
      if (implicit) {
        p.segments.push_back("**");
        patterns.push_back(std::move(p));
      }
    }
  }
  // Walk only the literal roots of the include patterns, each once.
  std::vector<std::string> roots;
  for (const auto& p : patterns) {
    if (p.negate) continue;
    size_t n = 0;
    while (n < p.segments.size() && !HasGlob(p.segments[n])) ++n;
    std::string root = JoinSegments(p.segments, n);
    struct stat st;
    while (n > 0 && (stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) root = JoinSegments(p.segments, --n);
    roots.push_back(root);
  }
  std::sort(roots.begin(), roots.end());
  std::vector<std::string> unique;
  for (const auto& r : roots) {
    bool covered = false;
    for (const auto& u : unique)
      if (r == u || (r.compare(0, u.size(), u) == 0 && (u == "/" || r[u.size()] == '/'))) covered = true;
    if (!covered) unique.push_back(r);
  }
  Walker walker(patterns, workspace);
  for (const auto& root : unique) {
    // Roots outside the workspace hold nothing hashFiles() may read.
    std::string inside = root == "/" ? "/" : root + "/";
    if (workspace.compare(0, inside.size(), inside) != 0 &&
        root.compare(0, workspace.size() + 1, workspace + "/") != 0 && root != workspace)
      continue;
    std::string start = (workspace.compare(0, inside.size(), inside) == 0) ? workspace : root;
    if (Status s = walker.Walk(start); !s.ok()) return Result<std::string>::Error(s.message());
  }
  return walker.Result();
}

}  // namespace gantry::expr::detail
