// Which workflows an event triggers: branches / tags / paths filters (and their -ignore forms)
// with GitHub's filter-pattern globs, and activity types.
#include <algorithm>
#include <vector>

#include "base/strings.h"
#include "engine/engine.h"

namespace gantry::engine {
namespace {

// One element of a compiled pattern, repeated between `min` and `max` times (max < 0: any).
struct Token {
  enum class Kind { kChar, kAnyButSlash, kAny, kClass, kDirPrefix } kind = Kind::kChar;
  char c = 0;
  std::vector<std::pair<char, char>> ranges;  // kClass
  int min = 1, max = 1;
  bool Matches(char ch) const {
    switch (kind) {
      case Kind::kChar:
        return ch == c;
      case Kind::kAnyButSlash:
        return ch != '/';
      case Kind::kAny:
        return true;
      case Kind::kClass:
        for (auto [lo, hi] : ranges) {
          if (ch >= lo && ch <= hi) return true;
        }
        return false;
      case Kind::kDirPrefix:
        return true;
    }
    return false;
  }
};

std::vector<Token> Compile(std::string_view p) {
  std::vector<Token> out;
  for (size_t i = 0; i < p.size(); ++i) {
    char ch = p[i];
    Token t;
    if (ch == '\\' && i + 1 < p.size()) {
      t.c = p[++i];
    } else if (ch == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        ++i;
        // "**/" also matches nothing, so "**/README.md" matches a top-level README.md.
        if (i + 1 < p.size() && p[i + 1] == '/' && (i < 2 || p[i - 2] == '/')) {
          ++i;
          t.kind = Token::Kind::kDirPrefix;
        } else {
          t.kind = Token::Kind::kAny;
        }
      } else {
        t.kind = Token::Kind::kAnyButSlash;
      }
      t.min = 0;
      t.max = -1;
    } else if ((ch == '?' || ch == '+') && !out.empty() && out.back().min == 1 && out.back().max == 1) {
      // Quantifiers of the preceding character or class.
      if (ch == '?') {
        out.back().min = 0;
      } else {
        out.back().max = -1;
      }
      continue;
    } else if (ch == '[') {
      size_t close = p.find(']', i + 1);
      if (close == std::string_view::npos) {
        t.c = ch;
      } else {
        t.kind = Token::Kind::kClass;
        for (size_t k = i + 1; k < close; ++k) {
          if (k + 2 < close && p[k + 1] == '-') {
            t.ranges.emplace_back(p[k], p[k + 2]);
            k += 2;
          } else {
            t.ranges.emplace_back(p[k], p[k]);
          }
        }
        i = close;
      }
    } else {
      t.c = ch;
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view s) {
  std::vector<Token> tokens = Compile(pattern);
  const size_t n = s.size();
  // reach[j]: the tokens so far can match s[0, j). Linear in tokens x subject (quadratic only
  // for "**/"), so hostile patterns cannot explode.
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  for (const Token& t : tokens) {
    std::fill(next.begin(), next.end(), 0);
    if (t.kind == Token::Kind::kDirPrefix) {
      bool any = false;
      for (size_t j = 0; j <= n; ++j) {
        if (reach[j]) {
          next[j] = 1;
          any = true;
        }
        // Once reachable, any later position right after a '/' is reachable.
        if (any && j < n && s[j] == '/') next[j + 1] = 1;
      }
    } else {
      // Ascending j: next[j] set earlier in this pass means "already matched at least once".
      for (size_t j = 0; j <= n; ++j) {
        if (t.min == 0 && reach[j]) next[j] = 1;
        if (j == n || !t.Matches(s[j])) continue;
        bool first = reach[j] != 0;
        bool more = t.max < 0 && next[j] != 0;
        if (first || more) next[j + 1] = 1;
      }
    }
    reach.swap(next);
  }
  return reach[n] != 0;
}

bool FilterListMatches(const std::vector<std::string>& patterns, std::string_view subject) {
  bool matched = false;
  for (const std::string& p : patterns) {
    if (!p.empty() && p[0] == '!') {
      if (matched && GlobMatch(std::string_view(p).substr(1), subject)) matched = false;
    } else if (!matched && GlobMatch(p, subject)) {
      matched = true;
    }
  }
  return matched;
}

namespace {

bool RefMatches(const std::optional<std::vector<std::string>>& include,
                const std::optional<std::vector<std::string>>& ignore, std::string_view name) {
  if (include) return FilterListMatches(*include, name);
  if (ignore) return !FilterListMatches(*ignore, name);
  return true;
}

bool PathsMatch(const workflow::RefFilter& f, const Event& event) {
  if (!event.changed_files || (!f.paths && !f.paths_ignore)) return true;
  for (const std::string& file : *event.changed_files) {
    if (f.paths ? FilterListMatches(*f.paths, file) : !FilterListMatches(*f.paths_ignore, file)) return true;
  }
  return false;
}

std::string_view StripPrefix(std::string_view s, std::string_view prefix) {
  return StartsWith(s, prefix) ? s.substr(prefix.size()) : s;
}

}  // namespace

bool WorkflowMatches(const workflow::Workflow& wf, const Event& event, std::string* why_not) {
  auto fail = [&](std::string reason) {
    if (why_not) *why_not = std::move(reason);
    return false;
  };
  const workflow::Trigger* t = wf.FindTrigger(event.name);
  if (!t) return fail("not triggered by '" + event.name + "'");
  const workflow::RefFilter& f = t->filter;
  if (event.name == "pull_request" || event.name == "pull_request_target") {
    std::string action = event.action.empty() ? "opened" : event.action;
    std::vector<std::string> types = t->types;
    if (types.empty()) types = {"opened", "synchronize", "reopened"};
    if (std::find(types.begin(), types.end(), action) == types.end()) {
      return fail("activity type '" + action + "' is not in types");
    }
    std::string_view base = StripPrefix(event.base_ref, "refs/heads/");
    if (!RefMatches(f.branches, f.branches_ignore, base))
      return fail("base branch '" + std::string(base) + "' filtered out");
  } else if (event.name == "push") {
    bool has_branch_filter = f.branches || f.branches_ignore;
    bool has_tag_filter = f.tags || f.tags_ignore;
    if (StartsWith(event.ref, "refs/tags/")) {
      std::string_view tag = StripPrefix(event.ref, "refs/tags/");
      // Only branch filters given: tag pushes do not run the workflow (and vice versa).
      if (has_branch_filter && !has_tag_filter) return fail("tag pushes are not selected");
      if (!RefMatches(f.tags, f.tags_ignore, tag)) return fail("tag '" + std::string(tag) + "' filtered out");
    } else {
      std::string_view branch = StripPrefix(event.ref, "refs/heads/");
      if (has_tag_filter && !has_branch_filter) return fail("branch pushes are not selected");
      if (!RefMatches(f.branches, f.branches_ignore, branch)) {
        return fail("branch '" + std::string(branch) + "' filtered out");
      }
    }
  } else if (!t->types.empty() && !event.action.empty()) {
    if (std::find(t->types.begin(), t->types.end(), event.action) == t->types.end()) {
      return fail("activity type '" + event.action + "' is not in types");
    }
  }
  if ((event.name == "push" && !StartsWith(event.ref, "refs/tags/")) || event.name == "pull_request" ||
      event.name == "pull_request_target") {
    if (!PathsMatch(f, event)) return fail("no changed file matches the paths filter");
  }
  return true;
}

}  // namespace gantry::engine
