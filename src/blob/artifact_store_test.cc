#include "blob/artifact_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "base/fs.h"
#include "blob/block_upload.h"
#include "blob/zip.h"

namespace gantry::blob {
namespace {

ReadFn FromString(const std::string& s) {
  auto pos = std::make_shared<size_t>(0);
  return [s, pos](char* buf, size_t n) -> long long {
    size_t k = std::min(n, s.size() - *pos);
    std::memcpy(buf, s.data() + *pos, k);
    *pos += k;
    return static_cast<long long>(k);
  };
}

class ArtifactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("artifact-test");
    blobs_ = OpenFsBlobStore(dir_ + "/blobs").value();
  }
  void TearDown() override { RemoveAll(dir_); }
  std::string Zip() {
    MakeDirs(dir_ + "/src/sub");
    WriteFileAtomic(dir_ + "/src/a.txt", "alpha");
    WriteFileAtomic(dir_ + "/src/sub/b.txt", std::string(100000, 'b'));
    EXPECT_TRUE(WriteZip(dir_ + "/src", {"a.txt", "sub"}, dir_ + "/x.zip").ok());
    return *ReadFile(dir_ + "/x.zip");
  }
  std::string dir_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(ArtifactTest, ZipRoundTripAndCheck) {
  std::string zip = Zip();
  auto sum = CheckZip(FromString(zip));
  ASSERT_TRUE(sum.ok()) << sum.error();
  EXPECT_EQ(sum->files, 2u);
  EXPECT_EQ(sum->total_bytes, 100005u);
  auto out = ExtractZip(FromString(zip), dir_ + "/out");
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*ReadFile(dir_ + "/out/a.txt"), "alpha");
  EXPECT_EQ(ReadFile(dir_ + "/out/sub/b.txt")->size(), 100000u);
}

TEST_F(ArtifactTest, ZipLimitsAndBadInput) {
  std::string zip = Zip();
  ZipLimits small;
  small.max_total_bytes = 1000;
  auto big = CheckZip(FromString(zip), small);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().find("expands beyond 1000 bytes"), std::string::npos) << big.error();
  small = ZipLimits();
  small.max_entries = 1;
  EXPECT_FALSE(CheckZip(FromString(zip), small).ok());
  EXPECT_FALSE(CheckZip(FromString("PK\3\4 garbage")).ok());
  EXPECT_FALSE(CheckZip(FromString(zip.substr(0, zip.size() / 2))).ok());
  for (const char* bad : {"../x", "a/../../x", "/etc/passwd", "a//b", "c:/x", "a\\..\\b", "", "./a"}) {
    EXPECT_FALSE(CheckZipEntryName(bad).ok()) << bad;
  }
  for (const char* good : {"a", "a/b.txt", "dir/", "a..b/c"}) EXPECT_TRUE(CheckZipEntryName(good).ok()) << good;
}

TEST_F(ArtifactTest, AddFindReplaceRemoveAndPersist) {
  auto store = ArtifactStore::Open(*blobs_, dir_ + "/idx").value();
  auto b1 = *blobs_->Put("one"), b2 = *blobs_->Put("two");
  ASSERT_TRUE(store->Add(7, "dist", b1, 1000, 0).ok());
  auto a = store->Add(7, "dist", b2, 2000, 1);  // replaces
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->expires_ms, 2000 + 86400000);
  EXPECT_EQ(store->List(7).size(), 1u);
  EXPECT_EQ(store->Find(7, "dist")->digest, b2.digest);
  EXPECT_FALSE(store->Find(8, "dist"));
  EXPECT_FALSE(store->Add(7, "a/b", b1, 0, 0).ok());
  EXPECT_FALSE(store->Add(7, "x", b1, 0, -1).ok());
  auto again = ArtifactStore::Open(*blobs_, dir_ + "/idx").value();
  EXPECT_EQ(again->Find(7, "dist")->id, a->id);
  EXPECT_TRUE(*again->Remove(7, "dist"));
  EXPECT_FALSE(*again->Remove(7, "dist"));
}

TEST_F(ArtifactTest, SweepHonoursRetentionAndDeletedRuns) {
  auto store = ArtifactStore::Open(*blobs_, dir_ + "/idx").value();
  auto b1 = *blobs_->Put("short"), b2 = *blobs_->Put("long"), b3 = *blobs_->Put("orphan");
  ASSERT_TRUE(store->Add(1, "short", b1, 0, 1).ok());
  ASSERT_TRUE(store->Add(1, "long", b2, 0, 30).ok());
  ASSERT_TRUE(store->Add(2, "orphan", b3, 0, 0).ok());
  auto exists = [](int64_t run) { return run == 1; };
  EXPECT_EQ(*store->Sweep(86400000 - 1, [](int64_t) { return true; }), 0u);
  EXPECT_EQ(*store->Sweep(86400000, exists), 2u);  // short expired, run 2 is gone
  EXPECT_TRUE(store->Find(1, "long"));
  EXPECT_FALSE(store->Find(1, "short"));
  EXPECT_FALSE(store->Find(2, "orphan"));
  // Their blobs lost their holders: the collector frees them, keeps the live one.
  GcOptions gc;
  gc.min_age = std::chrono::seconds(0);
  ASSERT_TRUE(blobs_->CollectGarbage(gc).ok());
  EXPECT_FALSE(blobs_->Stat(b1.digest));
  EXPECT_FALSE(blobs_->Stat(b3.digest));
  EXPECT_TRUE(blobs_->Stat(b2.digest));
}

TEST(BlockListTest, ParsesAndRefusesBadInput) {
  auto ids = ParseBlockList(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList><Latest>AAAA</Latest><Uncommitted>AAAB</Uncommitted>"
      "</BlockList>");
  ASSERT_TRUE(ids.ok()) << ids.error();
  EXPECT_EQ(*ids, (std::vector<std::string>{"AAAA", "AAAB"}));
  auto bad = ParseBlockList("<BlockList>\n<Latest>AAAA</Wrong></BlockList>");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("blocklist:2:", 0), 0u) << bad.error();
  EXPECT_FALSE(ParseBlockList("<BlockList><Latest>!!</Latest></BlockList>").ok());
  EXPECT_FALSE(ParseBlockList("<BlockList><Latest>AAAA</Latest><Latest>AAAAAAAA</Latest></BlockList>").ok());
  EXPECT_FALSE(ParseBlockList("<BlockList><Latest>AAAA</Latest>").ok());
  EXPECT_FALSE(ParseBlockList("<Other/>").ok());
  BlockLimits limits;
  limits.max_blocks = 1;
  EXPECT_FALSE(ParseBlockList("<BlockList><Latest>AAAA</Latest><Latest>AAAB</Latest></BlockList>", limits).ok());
}

TEST_F(ArtifactTest, BlocksCommitInListOrder) {
  BlockUploads up(*blobs_, dir_ + "/blocks");
  ASSERT_TRUE(up.StageBlock("u1", "AAAB", FromString("world")).ok());
  ASSERT_TRUE(up.StageBlock("u1", "AAAA", FromString("hello ")).ok());
  EXPECT_FALSE(up.StageBlock("../x", "AAAA", FromString("x")).ok());
  EXPECT_FALSE(up.CommitBlockList("u1", {"AAAA", "AAAC"}).ok());  // never staged
  auto info = up.CommitBlockList("u1", {"AAAA", "AAAB"});
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(*blobs_->ReadSmall(info->digest, 100), "hello world");
  BlockLimits limits;
  limits.max_block_bytes = 3;
  BlockUploads small(*blobs_, dir_ + "/blocks", limits);
  EXPECT_FALSE(small.StageBlock("u2", "AAAA", FromString("toolong")).ok());
}

}  // namespace
}  // namespace gantry::blob
