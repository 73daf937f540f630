// Unit tests of the step protocol pieces: masking, workflow commands, env files, dotenv,
// shells, action metadata.
#include <gtest/gtest.h>

#include "runner/action.h"
#include "runner/commands.h"
#include "runner/env_file.h"
#include "runner/masker.h"
#include "runner/shell.h"

namespace gantry::runner {
namespace {

TEST(Masker, MasksEveryValueAndEachLineOfMultiLineValues) {
  Masker m;
  m.Add("s3cr3t");
  m.Add("line one\nline two\r\nx");
  m.Add("a");  // too short to mask
  EXPECT_EQ(m.Mask("token=s3cr3t and s3cr3t"), "token=*** and ***");
  EXPECT_EQ(m.Mask("got line two here"), "got *** here");
  EXPECT_EQ(m.Mask("a b c"), "a b c");
  EXPECT_EQ(m.Mask("line one\nline two"), "***");
}

TEST(Masker, LongerSecretWinsOverItsPrefix) {
  Masker m;
  m.Add("abc");
  m.Add("abcdef");
  EXPECT_EQ(m.Mask("xabcdefx"), "x***x");
}

TEST(WorkflowCommand, ParsesNamePropertiesAndEscapes) {
  auto c = ParseWorkflowCommand("::error file=app.js,line=100,col=20,title=a%3Ab%2Cc::Hello%0Aworld%25");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "error");
  ASSERT_NE(c->Prop("file"), nullptr);
  EXPECT_EQ(*c->Prop("file"), "app.js");
  EXPECT_EQ(*c->Prop("line"), "100");
  EXPECT_EQ(*c->Prop("title"), "a:b,c");
  EXPECT_EQ(c->data, "Hello\nworld%");
  auto g = ParseWorkflowCommand("  ::group::My group");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->name, "group");
  EXPECT_EQ(g->data, "My group");
  auto so = ParseWorkflowCommand("::set-output name=zoo::zar");
  ASSERT_TRUE(so);
  EXPECT_EQ(*so->Prop("name"), "zoo");
  EXPECT_EQ(so->data, "zar");
}

TEST(WorkflowCommand, RejectsNonCommands) {
  EXPECT_FALSE(ParseWorkflowCommand("hello"));
  EXPECT_FALSE(ParseWorkflowCommand("::"));
  EXPECT_FALSE(ParseWorkflowCommand("::nodata"));
  EXPECT_FALSE(ParseWorkflowCommand(":: ::x"));
  EXPECT_FALSE(ParseWorkflowCommand("echo ::error::x"));
}

TEST(EnvFile, SimpleAndHeredocForms) {
  auto r = ParseEnvFile("A=1\nB=x=y\n\nC<<EOF\nl1\nl2\nEOF\nD<<ghadelimiter_1\nv\nghadelimiter_1\nE=\n", "GITHUB_ENV");
  ASSERT_TRUE(r.ok()) << r.error();
  NameValues want = {{"A", "1"}, {"B", "x=y"}, {"C", "l1\nl2"}, {"D", "v"}, {"E", ""}};
  EXPECT_EQ(*r, want);
}

TEST(EnvFile, ErrorsNameFileAndLine) {
  auto r = ParseEnvFile("A=1\nnot a pair\n", "GITHUB_ENV");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("GITHUB_ENV:2:1: ", 0), 0u) << r.error();
  auto h = ParseEnvFile("X<<EOF\nvalue\n", "GITHUB_OUTPUT");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().find("GITHUB_OUTPUT:1:1: matching delimiter 'EOF' not found"), std::string::npos) << h.error();
  EXPECT_FALSE(ParseEnvFile("=v\n", "GITHUB_ENV").ok());
  EXPECT_FALSE(ParseEnvFile(std::string(kMaxEnvFileBytes + 1, 'a'), "GITHUB_ENV").ok());
}

TEST(EnvFile, PathLines) {
  EXPECT_EQ(ParsePathFile("/a\n\n  /b c \n"), (std::vector<std::string>{"/a", "/b c"}));
}

TEST(Dotenv, QuotesCommentsExport) {
  auto r = ParseDotenv("# c\nexport A=1\nB = two words # note\nC='lit $x'\nD=\"l1\\nl2\"\nE=\"multi\nline\"\n", "s.env");
  ASSERT_TRUE(r.ok()) << r.error();
  NameValues want = {{"A", "1"}, {"B", "two words"}, {"C", "lit $x"}, {"D", "l1\nl2"}, {"E", "multi\nline"}};
  EXPECT_EQ(*r, want);
}

TEST(Dotenv, BadInput) {
  auto r = ParseDotenv("A=1\nnovalue\n", "s.env");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("s.env:2:", 0), 0u) << r.error();
  EXPECT_FALSE(ParseDotenv("A=\"open\n", "s.env").ok());
  EXPECT_FALSE(ParseDotenv("1A=x\n", "s.env").ok());
  EXPECT_FALSE(ParseDotenv("A=\"x\" trailing\n", "s.env").ok());
}

TEST(Shell, KnownShellsAndTemplates) {
  auto bash = ResolveShell("bash", "/usr/bin:/bin");
  ASSERT_TRUE(bash.ok());
  EXPECT_EQ(bash->Build("/t/s.sh"),
            (std::vector<std::string>{"bash", "--noprofile", "--norc", "-eo", "pipefail", "/t/s.sh"}));
  auto def = ResolveShell("", "/usr/bin:/bin");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->Build("f"), (std::vector<std::string>{"bash", "-e", "f"}));
  auto nobash = ResolveShell("", "/nonexistent");
  ASSERT_TRUE(nobash.ok());
  EXPECT_EQ(nobash->Build("f"), (std::vector<std::string>{"sh", "-e", "f"}));
  auto py = ResolveShell("python", "");
  ASSERT_TRUE(py.ok());
  EXPECT_EQ(py->extension, ".py");
  auto custom = ResolveShell("perl -w '{0}' \"a b\"", "");
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->Build("x.pl"), (std::vector<std::string>{"perl", "-w", "x.pl", "a b"}));
  EXPECT_FALSE(ResolveShell("fish", "").ok());
  EXPECT_FALSE(ResolveShell("cmd", "").ok());
}

TEST(ActionMetadata, CompositeWithInputsAndOutputs) {
  auto md = ReadActionMetadata(R"(
name: t
inputs:
  who:
    required: true
    default: world
  other:
outputs:
  greeting:
    value: ${{ steps.g.outputs.text }}
runs:
  using: composite
  steps:
    - id: g
      run: echo hi ${{ inputs.who }}
      shell: bash
    - uses: ./nested
      with:
        x: 1
)",
                               "action.yml");
  ASSERT_TRUE(md.ok()) << md.error();
  EXPECT_EQ(md->using_, "composite");
  ASSERT_EQ(md->inputs.size(), 2u);
  EXPECT_EQ(md->inputs[0].default_value.value_or(""), "world");
  EXPECT_TRUE(md->inputs[0].required);
  EXPECT_FALSE(md->inputs[1].default_value.has_value());
  ASSERT_EQ(md->outputs.size(), 1u);
  EXPECT_TRUE(md->outputs[0].value.has_expression);
  ASSERT_EQ(md->steps.size(), 2u);
  EXPECT_EQ(md->steps[0].id, "g");
  EXPECT_EQ(md->steps[0].condition.value, "success()");
  EXPECT_EQ(*md->steps[1].uses, "./nested");
  EXPECT_TRUE(md->steps[1].id_generated);
}

TEST(ActionMetadata, NodeAction) {
  auto md = ReadActionMetadata("runs:\n  using: node20\n  main: dist/index.js\n  post: dist/post.js\n", "a.yml");
  ASSERT_TRUE(md.ok()) << md.error();
  EXPECT_EQ(md->main, "dist/index.js");
  EXPECT_EQ(md->post, "dist/post.js");
  EXPECT_EQ(md->post_if, "always()");
}

TEST(ActionMetadata, ErrorsWithPositions) {
  auto md = ReadActionMetadata("runs:\n  using: composite\n  steps:\n    - run: x\n      bogus: 1\n", "a.yml");
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.error().find("a.yml:5:7: unknown key 'bogus'"), std::string::npos) << md.error();
  EXPECT_NE(md.error().find("needs 'shell'"), std::string::npos) << md.error();
  EXPECT_FALSE(ReadActionMetadata("runs:\n  using: node99\n  main: x\n", "a.yml").ok());
  EXPECT_FALSE(ReadActionMetadata("name: [unclosed\n", "a.yml").ok());
  EXPECT_FALSE(ReadActionMetadata("- a\n", "a.yml").ok());
  std::string deep = "runs:\n  using: composite\n  steps: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_FALSE(ReadActionMetadata(deep, "a.yml").ok());
}

TEST(ActionRef, Forms) {
  auto local = ParseActionRef("./dir/x");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->kind, ActionRef::Kind::kLocal);
  auto remote = ParseActionRef("actions/cache/restore@v4");
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(remote->owner, "actions");
  EXPECT_EQ(remote->repo, "cache");
  EXPECT_EQ(remote->path, "restore");
  EXPECT_EQ(remote->ref, "v4");
  EXPECT_FALSE(ParseActionRef("nover").ok());
  EXPECT_FALSE(ParseActionRef("a/../b@v1").ok());
  auto missing = ResolveRemoteAction(*remote, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("actions/cache/restore@v4"), std::string::npos);
}

}  // namespace
}  // namespace gantry::runner
