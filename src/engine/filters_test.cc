#include <gtest/gtest.h>

#include "engine/engine.h"
#include "workflow/reader.h"

namespace gantry::engine {
namespace {

TEST(Glob, GitHubFilterPatterns) {
  EXPECT_TRUE(GlobMatch("main", "main"));
  EXPECT_FALSE(GlobMatch("main", "main2"));
  EXPECT_TRUE(GlobMatch("feature/*", "feature/x"));
  EXPECT_FALSE(GlobMatch("feature/*", "feature/x/y"));  // * stops at /
  EXPECT_TRUE(GlobMatch("feature/**", "feature/x/y"));
  EXPECT_TRUE(GlobMatch("*", "main"));
  EXPECT_FALSE(GlobMatch("*", "a/b"));
  EXPECT_TRUE(GlobMatch("**", "a/b"));
  EXPECT_TRUE(GlobMatch("v[12].[0-9]+.[0-9]+", "v1.10.3"));
  EXPECT_FALSE(GlobMatch("v[12].[0-9]+.[0-9]+", "v3.1.0"));
  EXPECT_FALSE(GlobMatch("v[12].[0-9]+.[0-9]+", "v1..0"));  // + means one or more
  EXPECT_TRUE(GlobMatch("ab?c", "abc"));                    // ? = zero or one of 'b'
  EXPECT_TRUE(GlobMatch("ab?c", "ac"));
  EXPECT_FALSE(GlobMatch("ab?c", "abbc"));
  EXPECT_TRUE(GlobMatch("**.js", "src/app.js"));
  EXPECT_TRUE(GlobMatch("*.js", "app.js"));
  EXPECT_FALSE(GlobMatch("*.js", "src/app.js"));
  EXPECT_TRUE(GlobMatch("**/README.md", "README.md"));
  EXPECT_TRUE(GlobMatch("**/README.md", "a/b/README.md"));
  EXPECT_TRUE(GlobMatch("docs/**", "docs/a/b.md"));
  EXPECT_TRUE(GlobMatch("**/docs/**", "x/docs/y.md"));
  EXPECT_TRUE(GlobMatch("\\*literal", "*literal"));
  EXPECT_FALSE(GlobMatch("\\*literal", "xliteral"));
  // Hostile patterns stay cheap (linear DP, no backtracking).
  std::string many(200, '*');
  EXPECT_FALSE(GlobMatch(many + "b", std::string(5000, 'a')));
}

TEST(Glob, NegationLastMatchWins) {
  std::vector<std::string> p = {"releases/**", "!releases/**-alpha", "releases/keep-alpha"};
  EXPECT_TRUE(FilterListMatches(p, "releases/1.0"));
  EXPECT_FALSE(FilterListMatches(p, "releases/1.0-alpha"));
  EXPECT_TRUE(FilterListMatches(p, "releases/keep-alpha"));
  EXPECT_FALSE(FilterListMatches(p, "main"));
}

workflow::Workflow Parse(const std::string& yaml) {
  workflow::ReadResult r = workflow::ReadWorkflow(yaml, "w.yml");
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  return r.workflow ? *r.workflow : workflow::Workflow{};
}

const char* kJobs = "jobs:\n  a:\n    runs-on: x\n    steps: [run: x]\n";

Event Push(std::string ref, std::optional<std::vector<std::string>> files = std::nullopt) {
  Event e;
  e.name = "push";
  e.ref = std::move(ref);
  e.changed_files = std::move(files);
  return e;
}

TEST(WorkflowMatches, PushBranchesTagsAndPaths) {
  auto wf = Parse(std::string("on:\n  push:\n    branches: [main, 'rel/**']\n    paths: ['src/**', '!src/docs/**']\n") +
                  kJobs);
  EXPECT_TRUE(WorkflowMatches(wf, Push("refs/heads/main")));
  EXPECT_TRUE(WorkflowMatches(wf, Push("refs/heads/rel/1/2")));
  std::string why;
  EXPECT_FALSE(WorkflowMatches(wf, Push("refs/heads/dev"), &why));
  EXPECT_NE(why.find("dev"), std::string::npos);
  EXPECT_FALSE(WorkflowMatches(wf, Push("refs/tags/v1")));  // only branches filtered: tags do not run
  EXPECT_TRUE(WorkflowMatches(wf, Push("refs/heads/main", std::vector<std::string>{"src/a.cc"})));
  EXPECT_FALSE(WorkflowMatches(wf, Push("refs/heads/main", std::vector<std::string>{"src/docs/a.md"})));
  EXPECT_FALSE(WorkflowMatches(wf, Push("refs/heads/main", std::vector<std::string>{"README.md"})));

  auto tags = Parse(std::string("on:\n  push:\n    tags: ['v*']\n") + kJobs);
  EXPECT_TRUE(WorkflowMatches(tags, Push("refs/tags/v1.0")));
  EXPECT_FALSE(WorkflowMatches(tags, Push("refs/heads/main")));

  auto ignore =
      Parse(std::string("on:\n  push:\n    branches-ignore: ['wip/*']\n    paths-ignore: ['docs/**']\n") + kJobs);
  EXPECT_TRUE(WorkflowMatches(ignore, Push("refs/heads/main")));
  EXPECT_FALSE(WorkflowMatches(ignore, Push("refs/heads/wip/x")));
  EXPECT_FALSE(WorkflowMatches(ignore, Push("refs/heads/main", std::vector<std::string>{"docs/a.md"})));
  EXPECT_TRUE(WorkflowMatches(ignore, Push("refs/heads/main", std::vector<std::string>{"docs/a.md", "x.c"})));

  auto plain = Parse(std::string("on: [push, pull_request]\n") + kJobs);
  EXPECT_TRUE(WorkflowMatches(plain, Push("refs/tags/anything")));
  Event dispatch;
  dispatch.name = "workflow_dispatch";
  EXPECT_FALSE(WorkflowMatches(plain, dispatch));
}

TEST(WorkflowMatches, PullRequestFiltersBaseBranchAndTypes) {
  auto wf = Parse(std::string("on:\n  pull_request:\n    branches: [main]\n") + kJobs);
  Event pr;
  pr.name = "pull_request";
  pr.ref = "refs/pull/1/merge";
  pr.base_ref = "main";
  EXPECT_TRUE(WorkflowMatches(wf, pr));
  pr.action = "closed";  // not a default type
  EXPECT_FALSE(WorkflowMatches(wf, pr));
  pr.action = "synchronize";
  pr.base_ref = "refs/heads/dev";
  EXPECT_FALSE(WorkflowMatches(wf, pr));
  auto typed = Parse(std::string("on:\n  pull_request:\n    types: [closed]\n") + kJobs);
  pr.action = "closed";
  EXPECT_TRUE(WorkflowMatches(typed, pr));
}

}  // namespace
}  // namespace gantry::engine
