// Upload-artifact path patterns: search paths, matching, exclusions, the artifact root.
#include "runner/artifact_paths.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "base/strings.h"

namespace gantry::runner {

namespace fs = std::filesystem;

namespace {

struct Pattern {
  std::string text;  // absolute, normalized
  bool negate = false;
};

std::vector<std::string> Segments(std::string_view p) {
  std::vector<std::string> out;
  for (auto& s : Split(p, '/')) {
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

bool HasWildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// `pat[i..]` against `path[j..]`; `**` matches any number of segments (a pattern matching a
// parent directory is handled by the caller).
bool MatchFrom(const std::vector<std::string>& pat, size_t i, const std::vector<std::string>& path, size_t j,
               int* budget) {
  if (--*budget < 0) return false;  // pathological `**/**/**...` patterns stay bounded
  if (i == pat.size()) return j == path.size();
  if (pat[i] == "**") {
    for (size_t k = j; k <= path.size(); ++k) {
      if (MatchFrom(pat, i + 1, path, k, budget)) return true;
    }
    return false;
  }
  if (j == path.size()) return false;
  // No FNM_PERIOD: dot files match `*` too, as with @actions/glob's `dot: true`.
  if (::fnmatch(pat[i].c_str(), path[j].c_str(), 0) != 0) return false;
  return MatchFrom(pat, i + 1, path, j + 1, budget);
}

std::string Normalize(const std::string& p) {
  std::string n = fs::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

std::string SearchPath(const std::string& pattern) {
  std::string out;
  for (const auto& seg : Segments(pattern)) {
    if (HasWildcard(seg)) break;
    out += "/" + seg;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

bool ArtifactPatternMatches(const std::string& pattern, const std::string& path) {
  std::vector<std::string> pat = Segments(pattern), segs = Segments(path);
  int budget = 100000;
  // The path itself or one of its parents (a matched directory brings everything below it).
  for (size_t n = segs.size(); n > 0; --n) {
    std::vector<std::string> prefix(segs.begin(), segs.begin() + static_cast<long>(n));
    if (MatchFrom(pat, 0, prefix, 0, &budget)) return true;
  }
  return false;
}

Result<ArtifactFiles> FindArtifactFiles(const std::string& path_input, const std::string& workspace, size_t max_files) {
  std::vector<Pattern> patterns;
  for (auto& line : Split(path_input, '\n')) {
    std::string t(Trim(line));
    if (t.empty() || t[0] == '#') continue;
    Pattern p;
    if (t[0] == '!') {
      p.negate = true;
      t = std::string(Trim(t.substr(1)));
      if (t.empty()) continue;
    }
    if (StartsWith(t, "~/")) {
      const char* home = std::getenv("HOME");
      t = std::string(home != nullptr ? home : "") + t.substr(1);
    } else if (t[0] != '/') {
      t = workspace + "/" + t;
    }
    p.text = Normalize(t);
    patterns.push_back(std::move(p));
  }
  std::vector<std::string> search_paths;
  for (const auto& p : patterns) {
    if (p.negate) continue;
    std::string sp = SearchPath(p.text);
    if (std::find(search_paths.begin(), search_paths.end(), sp) == search_paths.end()) search_paths.push_back(sp);
  }
  ArtifactFiles out;
  if (search_paths.empty()) return out;

  auto decide = [&](const std::string& file) {
    bool keep = false;
    for (const auto& p : patterns) {
      if (ArtifactPatternMatches(p.text, file)) keep = !p.negate;
    }
    return keep;
  };
  std::set<std::string> files;
  std::error_code ec;
  for (const auto& sp : search_paths) {
    fs::file_status st = fs::status(sp, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_regular_file(st)) {
      if (decide(sp)) files.insert(sp);
      continue;
    }
    if (!fs::is_directory(st)) continue;
    for (auto it = fs::recursive_directory_iterator(sp, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string f = it->path().string();
      if (!decide(f)) continue;
      files.insert(f);
      if (files.size() > max_files)
        return Result<ArtifactFiles>::Error("more than " + std::to_string(max_files) + " files match the path");
    }
  }
  if (files.empty()) return out;

  // The root: the search paths' least common ancestor; one literal file: its directory.
  if (search_paths.size() == 1) {
    out.root = search_paths[0];
    if (files.size() == 1 && *files.begin() == out.root) out.root = fs::path(out.root).parent_path().string();
  } else {
    std::vector<std::string> common = Segments(search_paths[0]);
    for (size_t i = 1; i < search_paths.size(); ++i) {
      std::vector<std::string> s = Segments(search_paths[i]);
      size_t n = 0;
      while (n < common.size() && n < s.size() && common[n] == s[n]) ++n;
      common.resize(n);
    }
    for (const auto& c : common) out.root += "/" + c;
    if (out.root.empty()) out.root = "/";
    // A search path that is itself a file makes its parent the ancestor.
    if (fs::is_regular_file(out.root, ec)) out.root = fs::path(out.root).parent_path().string();
  }
  for (const auto& f : files) out.files.push_back(fs::path(f).lexically_relative(out.root).string());
  return out;
}

}  // namespace gantry::runner
