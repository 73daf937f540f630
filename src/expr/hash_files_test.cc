// hashFiles(): matching, ordering, exclusions and the workspace boundary, on real files.
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "expr/expr.h"

namespace gantry::expr {
namespace {

class HashFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("gantry-hashfiles");
    ASSERT_TRUE(d.ok());
    root_ = *d;
    ws_ = root_ + "/ws";
    Write("ws/a.txt", "a");
    Write("ws/src/b.txt", "b");
    Write("ws/src/deep/c.txt", "c");
    Write("ws/src/deep/d.lock", "d");
    Write("ws/.hidden/e.txt", "e");
    Write("outside/secret.txt", "s");
    ASSERT_EQ(symlink((root_ + "/outside").c_str(), (ws_ + "/link").c_str()), 0);
  }
  void TearDown() override { RemoveAll(root_); }

  void Write(const std::string& rel, const std::string& data) {
    std::string path = root_ + "/" + rel;
    ASSERT_TRUE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  }

  // The runner's algorithm written out: sha256 over the binary sha256 of each file's content.
  static std::string Expected(const std::vector<std::string>& contents) {
    Sha256 outer;
    for (const auto& c : contents) {
      Sha256 inner;
      inner.Update(c);
      auto d = inner.Digest();
      outer.Update(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    }
    return outer.HexDigest();
  }

  std::string Hash(const std::string& args) {
    auto e = Parse("hashFiles(" + args + ")");
    EXPECT_TRUE(e.ok()) << e.error();
    EvalContext ctx;
    ctx.workspace = ws_;
    auto v = e->Evaluate(ctx);
    return v.ok() ? v->string_value() : "error: " + v.error();
  }

  std::string root_, ws_;
};

TEST_F(HashFilesTest, GlobsInDepthFirstByteOrder) {
  // .hidden/e.txt, a.txt, src/b.txt, src/deep/c.txt (dot files included, '.' sorts first)
  EXPECT_EQ(Hash("'**/*.txt'"), Expected({"e", "a", "b", "c"}));
  EXPECT_EQ(Hash("'src/**'"), Expected({"b", "c", "d"}));
  EXPECT_EQ(Hash("'src/*.txt'"), Expected({"b"}));
  EXPECT_EQ(Hash("'src/deep/?.lock'"), Expected({"d"}));
  EXPECT_EQ(Hash("'src/deep/[a-c].*'"), Expected({"c"}));
}

TEST_F(HashFilesTest, DirectoriesIncludeTheirContentsAndNegationExcludes) {
  EXPECT_EQ(Hash("'src'"), Expected({"b", "c", "d"}));
  EXPECT_EQ(Hash("'src', '!src/deep'"), Expected({"b"}));
  EXPECT_EQ(Hash("'**/*.txt\n!**/deep/**\n# a comment'"), Expected({"e", "a", "b"}));
}

TEST_F(HashFilesTest, NothingOutsideTheWorkspace) {
  EXPECT_EQ(Hash("'../outside/*.txt'"), "");
  EXPECT_EQ(Hash("'" + root_ + "/outside/secret.txt'"), "");
  EXPECT_EQ(Hash("'link/**'"), "");  // symlinked directories are not followed
  EXPECT_EQ(Hash("'no/such/*.c'"), "");
}

TEST_F(HashFilesTest, NeedsAWorkspace) {
  auto e = Parse("hashFiles('*')");
  auto v = e->Evaluate(EvalContext{});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().find("workspace"), std::string::npos);
}

}  // namespace
}  // namespace gantry::expr
