// Runs the workflow-parser conformance cases of ../shared/conformance/gha-workflow-reader:
// each file is `options --- workflow [--- name --- called workflow]... --- expected JSON`.
// We must accept what GitHub accepts and reject what it rejects; where GitHub's message is
// known we also count how many of its messages we reproduce (reported, not required).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/fs.h"
#include "base/strings.h"
#include "testing/test_env.h"
#include "workflow/reader.h"

namespace gantry::workflow {
namespace {

const std::string kDir = gantry::testing::SharedDir() + "/conformance/gha-workflow-reader";

std::vector<std::string> SplitDocuments(const std::string& text) {
  std::vector<std::string> docs(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "---" || line == "---\r") {
      docs.emplace_back();
    } else {
      docs.back() += line + "\n";
    }
  }
  return docs;
}

// "name  # reason" lines; blank lines and comments skipped.
std::map<std::string, std::string> ReadList(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t hash = t.find('#');
    std::string name(Trim(t.substr(0, hash)));
    out[name] = hash == std::string_view::npos ? "" : std::string(Trim(t.substr(hash + 1)));
  }
  return out;
}

// The message part of "path (Line: 3, Col: 5): message" or "path: message".
std::string ExpectedMessage(const std::string& m) {
  size_t p = m.find("): ");
  if (p != std::string::npos) return m.substr(p + 3);
  p = m.find(".yml: ");
  if (p != std::string::npos) return m.substr(p + 6);
  return m;
}

struct Case {
  std::string name;
  std::string workflow;
  bool expect_error = false;
  std::vector<std::string> messages;
  std::map<std::string, std::string> called;  // `uses` -> the called workflow's YAML
};

// Reads a case's workflow with its embedded called workflows available to `uses:`.
ReadResult ReadCase(const Case& c, const std::string& file) {
  ReadOptions o;
  o.load_called_workflow = [&c](const std::string& uses) -> Result<CalledWorkflowSource> {
    CalledWorkflowSource src;
    auto it = c.called.find(uses);
    if (it == c.called.end()) return src;
    src.found = true;
    src.yaml = it->second;
    src.file = uses;
    return src;
  };
  return ReadWorkflow(c.workflow, file, o);
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(kDir + "/reader")) {
    if (e.path().extension() == ".yml") paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    Result<std::string> text = ReadFile(p.string());
    if (!text.ok()) continue;
    std::vector<std::string> docs = SplitDocuments(*text);
    if (docs.size() < 3) continue;
    Case c;
    c.name = p.filename().string();
    c.workflow = docs[1];
    for (size_t i = 2; i + 2 < docs.size(); i += 2) c.called[std::string(Trim(docs[i]))] = docs[i + 1];
    nlohmann::json expected = nlohmann::json::parse(docs.back(), nullptr, /*allow_exceptions=*/false);
    if (expected.is_discarded()) continue;
    if (expected.contains("errors")) {
      c.expect_error = true;
      for (const auto& e : expected["errors"]) c.messages.push_back(ExpectedMessage(e.value("Message", "")));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(Conformance, AcceptsWhatGitHubAcceptsAndRejectsWhatItRejects) {
  if (!std::filesystem::exists(kDir)) GTEST_SKIP() << "no conformance cases at " << kDir;
  std::map<std::string, std::string> upstream_skips = ReadList(kDir + "/skipped-tests.txt");
  std::map<std::string, std::string> our_skips =
      ReadList(gantry::testing::SourceDir() + "/src/workflow/conformance_skips.txt");
  std::vector<Case> cases = LoadCases();
  ASSERT_GT(cases.size(), 150u);
  int passed = 0, skipped = 0, messages_total = 0, messages_matched = 0;
  int upstream_total = 0, upstream_agree = 0;
  std::vector<std::string> failures;
  for (const Case& c : cases) {
    if (our_skips.count(c.name)) {
      ++skipped;
      continue;
    }
    ReadResult r = ReadCase(c, ".github/workflows/" + c.name);
    bool rejected = !r.ok();
    if (upstream_skips.count(c.name)) {
      // GitHub's own TypeScript parser fails these; informational only.
      ++upstream_total;
      if (rejected == c.expect_error) ++upstream_agree;
      continue;
    }
    if (rejected != c.expect_error) {
      failures.push_back(c.name + (c.expect_error ? ": accepted, GitHub rejects: " + Join(c.messages, " | ")
                                                  : ": rejected, GitHub accepts:\n" + r.ErrorText()));
      continue;
    }
    ++passed;
    for (const std::string& m : c.messages) {
      ++messages_total;
      bool found = false;
      for (const Diagnostic& d : r.errors) found = found || d.message == m;
      if (found) {
        ++messages_matched;
      } else if (std::getenv("GANTRY_CONFORMANCE_VERBOSE")) {
        std::cout << c.name << ": GitHub says \"" << m << "\"; we say:\n" << r.ErrorText();
      }
    }
  }
  std::cout << "conformance: " << passed << " passed, " << failures.size() << " failed, " << skipped
            << " skipped (conformance_skips.txt) of " << cases.size() - upstream_total
            << " required; GitHub's exact error message reproduced for " << messages_matched << " of " << messages_total
            << "; informational (upstream skipped-tests.txt): " << upstream_agree << " of " << upstream_total
            << " agree\n";
  for (const std::string& f : failures) ADD_FAILURE() << f;
}

// Every deliberate difference we list must still exist, or the list is stale.
TEST(Conformance, SkipListIsCurrent) {
  if (!std::filesystem::exists(kDir)) GTEST_SKIP();
  std::map<std::string, std::string> our_skips =
      ReadList(gantry::testing::SourceDir() + "/src/workflow/conformance_skips.txt");
  std::map<std::string, Case> by_name;
  for (Case& c : LoadCases()) by_name[c.name] = std::move(c);
  for (const auto& [name, reason] : our_skips) {
    EXPECT_FALSE(reason.empty()) << name << " has no reason";
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      ADD_FAILURE() << name << " is not a conformance case";
      continue;
    }
    ReadResult r = ReadCase(it->second, name);
    EXPECT_EQ(!r.ok(), !it->second.expect_error) << name << " now conforms; remove it from the skip list";
  }
}

}  // namespace
}  // namespace gantry::workflow
