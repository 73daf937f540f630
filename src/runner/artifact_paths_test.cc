// actions/upload-artifact path patterns against a real directory tree.
#include "runner/artifact_paths.h"

#include <gtest/gtest.h>

#include "base/fs.h"

namespace gantry::runner {
namespace {

class ArtifactPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("gantry-artifact-paths");
    ASSERT_TRUE(d.ok());
    ws_ = *d;
    for (const char* f :
         {"dist/app.js", "dist/app.js.map", "dist/lib/util.js", "dist/lib/.hidden.js", "dist/lib/deep/x.txt",
          "logs/a.log", "logs/b.log", "logs/keep/c.log", "README.md", "out/one.bin"}) {
      std::string p = ws_ + "/" + f;
      MakeDirs(p.substr(0, p.rfind('/')));
      ASSERT_TRUE(WriteFileAtomic(p, f).ok());
    }
  }
  void TearDown() override { RemoveAll(ws_); }
  ArtifactFiles Find(const std::string& input) {
    auto r = FindArtifactFiles(input, ws_);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : ArtifactFiles{};
  }
  std::string ws_;
};

using V = std::vector<std::string>;

TEST_F(ArtifactPaths, DirectoryIsItsOwnRoot) {
  ArtifactFiles f = Find("dist");
  EXPECT_EQ(f.root, ws_ + "/dist");
  EXPECT_EQ(f.files, (V{"app.js", "app.js.map", "lib/.hidden.js", "lib/deep/x.txt", "lib/util.js"}));
}

TEST_F(ArtifactPaths, SingleLiteralFileIsStoredByName) {
  ArtifactFiles f = Find("out/one.bin");
  EXPECT_EQ(f.root, ws_ + "/out");
  EXPECT_EQ(f.files, (V{"one.bin"}));
}

TEST_F(ArtifactPaths, StarQuestionAndDoubleStar) {
  EXPECT_EQ(Find("dist/*.js").files, (V{"app.js"}));
  EXPECT_EQ(Find("dist/**/*.js").files, (V{"app.js", "lib/.hidden.js", "lib/util.js"}));
  EXPECT_EQ(Find("logs/?.log").files, (V{"a.log", "b.log"}));
  ArtifactFiles f = Find("**/*.log");
  EXPECT_EQ(f.root, ws_);
  EXPECT_EQ(f.files, (V{"logs/a.log", "logs/b.log", "logs/keep/c.log"}));
  EXPECT_EQ(Find("dist/l*").files, (V{"lib/.hidden.js", "lib/deep/x.txt", "lib/util.js"}));  // a dir: all below
}

TEST_F(ArtifactPaths, SeveralLinesUseTheLeastCommonAncestorAndExclusions) {
  ArtifactFiles f = Find("dist/lib/util.js\nlogs/\n# a comment\n!logs/keep\n!**/b.log\n\n");
  EXPECT_EQ(f.root, ws_);
  EXPECT_EQ(f.files, (V{"dist/lib/util.js", "logs/a.log"}));
  // The last matching line decides: re-including after an exclusion.
  f = Find("logs\n!logs/**\nlogs/keep/c.log");
  EXPECT_EQ(f.files, (V{"keep/c.log"}));
  f = Find("dist/lib/deep\nlogs/keep");
  EXPECT_EQ(f.root, ws_);
  EXPECT_EQ(f.files, (V{"dist/lib/deep/x.txt", "logs/keep/c.log"}));
}

TEST_F(ArtifactPaths, NothingMatchesAndAbsolutePaths) {
  EXPECT_TRUE(Find("nothing/*.x\nmissing").files.empty());
  EXPECT_TRUE(Find("!dist").files.empty());
  ArtifactFiles f = Find(ws_ + "/logs/*.log");
  EXPECT_EQ(f.root, ws_ + "/logs");
  EXPECT_EQ(f.files.size(), 2u);
  auto limited = FindArtifactFiles("dist", ws_, 2);
  EXPECT_FALSE(limited.ok());
}

TEST(ArtifactPattern, SegmentsAndParents) {
  EXPECT_TRUE(ArtifactPatternMatches("/w/a/**", "/w/a/b/c"));
  EXPECT_TRUE(ArtifactPatternMatches("/w/**/c", "/w/c"));
  EXPECT_TRUE(ArtifactPatternMatches("/w/a", "/w/a/b/c"));  // a matched directory
  EXPECT_FALSE(ArtifactPatternMatches("/w/*.js", "/w/a/b.js"));
  EXPECT_TRUE(ArtifactPatternMatches("/w/[ab].txt", "/w/b.txt"));
  EXPECT_FALSE(ArtifactPatternMatches("/w/**/**/**/**/**/**/**/**/**/**/z", "/w/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"));
}

}  // namespace
}  // namespace gantry::runner
