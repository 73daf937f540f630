#include "blob/cache_index.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/fs.h"

namespace gantry::blob {
namespace {

class CacheIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("cache-index-test");
    store_ = OpenFsBlobStore(dir_ + "/blobs").value();
    index_ = CacheIndex::Open(*store_, dir_ + "/cache.json", 100).value();
  }
  void TearDown() override { RemoveAll(dir_); }
  Status Save(const std::string& scope, const std::string& key, const std::string& data, int64_t now,
              const std::string& version = "v1") {
    auto info = store_->Put(data);
    CacheEntry e;
    e.scope = scope, e.key = key, e.version = version, e.digest = info->digest;
    return index_->Save(e, now);
  }
  std::string Hit(const std::vector<std::string>& scopes, const std::string& key,
                  const std::vector<std::string>& restore = {}, const std::string& version = "v1") {
    auto e = index_->Restore(scopes, key, restore, version, 1000);
    return e ? e->scope + ":" + e->key : "miss";
  }

  std::string dir_;
  std::unique_ptr<BlobStore> store_;
  std::unique_ptr<CacheIndex> index_;
};

TEST_F(CacheIndexTest, GitHubLookupOrder) {
  ASSERT_TRUE(Save("refs/heads/main", "npm-linux-aaa", "a", 1).ok());
  ASSERT_TRUE(Save("refs/heads/main", "npm-linux-bbb", "b", 2).ok());
  ASSERT_TRUE(Save("refs/heads/feature", "npm-linux-ccc", "c", 3).ok());
  std::vector<std::string> feature = {"refs/heads/feature", "refs/heads/main"};
  EXPECT_EQ(Hit(feature, "npm-linux-aaa", {"npm-linux-"}), "refs/heads/feature:npm-linux-ccc")
      << "restore keys and prefixes in the run's branch come before the default branch";
  EXPECT_EQ(Hit({"refs/heads/main"}, "npm-linux-aaa"), "refs/heads/main:npm-linux-aaa") << "exact match";
  EXPECT_EQ(Hit({"refs/heads/main"}, "npm-linux-"), "refs/heads/main:npm-linux-bbb") << "newest prefix match";
  EXPECT_EQ(Hit({"refs/heads/main"}, "npm-mac-x", {"npm-mac-", "npm-"}), "refs/heads/main:npm-linux-bbb");
  EXPECT_EQ(Hit({"refs/heads/other"}, "npm-linux-aaa"), "miss") << "branches do not see each other";
  EXPECT_EQ(Hit({"refs/heads/main"}, "npm-linux-aaa", {}, "v2"), "miss") << "versions must match";
}

TEST_F(CacheIndexTest, ImmutableBoundedAndPersisted) {
  ASSERT_TRUE(Save("s", "k", "data", 1).ok());
  EXPECT_FALSE(Save("s", "k", "other data", 2).ok()) << "caches are immutable";
  EXPECT_FALSE(Save("s", "a,b", "x", 2).ok());
  EXPECT_FALSE(Save("s", "huge", std::string(101, 'x'), 2).ok());
  // LRU eviction: "k" was used recently, "old" was not.
  ASSERT_TRUE(Save("s", "old", std::string(40, 'o'), 3).ok());
  index_->Restore({"s"}, "k", {}, "v1", 10);
  ASSERT_TRUE(Save("s", "new", std::string(60, 'n'), 11).ok());
  EXPECT_EQ(Hit({"s"}, "old"), "miss");
  EXPECT_EQ(Hit({"s"}, "k"), "s:k");
  EXPECT_LE(index_->total_bytes(), 100u);
  // Reopened from disk.
  index_ = CacheIndex::Open(*store_, dir_ + "/cache.json", 100).value();
  EXPECT_EQ(index_->List("s").size(), 2u);
  // Referenced blobs survive the collector; evicted ones do not.
  GcOptions gc;
  gc.min_age = std::chrono::seconds(0);
  ASSERT_TRUE(store_->CollectGarbage(gc).ok());
  EXPECT_TRUE(store_->Stat(DigestOf("data")).has_value());
  EXPECT_FALSE(store_->Stat(DigestOf(std::string(40, 'o'))).has_value());
  ASSERT_TRUE(index_->ExpireUnusedSince(2000).ok());
  EXPECT_TRUE(index_->List("").empty());
}

TEST_F(CacheIndexTest, CorruptIndexIsAnError) {
  std::ofstream(dir_ + "/bad.json") << "{not json";
  auto bad = CacheIndex::Open(*store_, dir_ + "/bad.json", 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("bad.json:1:1"), std::string::npos);
}

}  // namespace
}  // namespace gantry::blob
