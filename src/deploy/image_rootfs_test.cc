// The image unpacker on real tar layers built here with libarchive (plain and gzip), and
// through a real blob store and registry layout for the cache.
#include "deploy/image_rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "blob/blob_store.h"

namespace gantry::deploy {
namespace {

struct Entry {
  std::string path;
  char type = 'f';   // f file, d dir, l symlink, h hard link
  std::string data;  // file content or link target
};

std::string Tar(const std::vector<Entry>& entries, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  std::string out(8 << 20, '\0');
  size_t used = 0;
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_perm(ae, e.type == 'd' ? 0755 : 0644);
    if (e.type == 'd') archive_entry_set_filetype(ae, AE_IFDIR);
    if (e.type == 'f') {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
    }
    if (e.type == 'l') {
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e.data.c_str());
    }
    if (e.type == 'h') {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_hardlink(ae, e.data.c_str());
    }
    archive_write_header(a, ae);
    if (e.type == 'f') archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

class ApplyLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("gantry-image-test-");
    ASSERT_TRUE(d.ok());
    root_ = *d;
  }
  void TearDown() override { (void)RemoveAll(root_); }
  Status Apply(const std::string& tar, UnpackLimits limits = {}) {
    size_t pos = 0;
    std::function<long long(char*, size_t)> read = [&](char* b, size_t n) -> long long {
      n = std::min(n, tar.size() - pos);
      memcpy(b, tar.data() + pos, n);
      pos += n;
      return static_cast<long long>(n);
    };
    return ApplyLayer(root_ + "/rootfs", read, "layer", limits, &counters_);
  }
  std::string Read(const std::string& p) {
    auto r = ReadFile(root_ + "/rootfs/" + p);
    return r.ok() ? *r : "<missing>";
  }
  std::string root_;
  LayerCounters counters_;
};

TEST_F(ApplyLayerTest, LayersInOrderWithWhiteouts) {
  ASSERT_TRUE(MakeDirs(root_ + "/rootfs").ok());
  ASSERT_TRUE(Apply(Tar({{"./", 'd', ""},
                         {"./bin/", 'd', ""},
                         {"./bin/app", 'f', "v1"},
                         {"etc/old.txt", 'f', "old"},
                         {"etc/keep.txt", 'f', "keep"},
                         {"var/cache/a", 'f', "a"},
                         {"bin/sh", 'l', "app"},
                         {"bin/app2", 'h', "bin/app"}},
                        /*gzip=*/true))
                  .ok());
  EXPECT_EQ(Read("bin/app"), "v1");
  EXPECT_EQ(Read("bin/app2"), "v1");
  EXPECT_EQ(Read("bin/sh"), "v1");  // through the symlink, inside the root
  ASSERT_TRUE(
      Apply(Tar({{"bin/app", 'f', "v2"}, {"etc/.wh.old.txt", 'f', ""}, {"var/cache/.wh..wh..opq", 'f', ""}})).ok());
  EXPECT_EQ(Read("bin/app"), "v2");
  EXPECT_EQ(Read("etc/old.txt"), "<missing>");
  EXPECT_EQ(Read("etc/keep.txt"), "keep");
  EXPECT_EQ(Read("var/cache/a"), "<missing>");
  EXPECT_TRUE(PathExists(root_ + "/rootfs/var/cache"));
}

TEST_F(ApplyLayerTest, LargeFileInSmallReads) {
  ASSERT_TRUE(MakeDirs(root_ + "/rootfs").ok());
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  ASSERT_TRUE(Apply(Tar({{"big", 'f', big}, {"after", 'f', "x"}}, true)).ok());
  EXPECT_EQ(Read("big"), big);
  EXPECT_EQ(Read("after"), "x");
}

TEST_F(ApplyLayerTest, RefusesPathsOutOfTheRoot) {
  ASSERT_TRUE(MakeDirs(root_ + "/rootfs").ok());
  Status st = Apply(Tar({{"../escape", 'f', "x"}}));
  EXPECT_EQ(st.message(), "layer: ../escape: path leaves the image root");
  EXPECT_FALSE(PathExists(root_ + "/escape"));
  // A symlink to outside, then a file written through it.
  st = Apply(Tar({{"link", 'l', root_}, {"link/escape", 'f', "x"}}));
  EXPECT_EQ(st.message(), "layer: link/escape: path goes through a symlink");
  EXPECT_FALSE(PathExists(root_ + "/escape"));
  st = Apply(Tar({{"h", 'h', "../../etc/passwd"}}));
  EXPECT_EQ(st.message(), "layer: h: hard link leaves the image root");
  st = Apply(std::string(1000, 'x'));
  EXPECT_FALSE(st.ok());
}

TEST_F(ApplyLayerTest, SizeAndEntryLimits) {
  ASSERT_TRUE(MakeDirs(root_ + "/rootfs").ok());
  UnpackLimits limits;
  limits.max_bytes = 10;
  Status st = Apply(Tar({{"a", 'f', "12345"}, {"b", 'f', "1234567"}}), limits);
  EXPECT_EQ(st.message(), "layer: b: image larger than 10 bytes unpacked");
  counters_ = {};
  limits = {};
  limits.max_entries = 2;
  st = Apply(Tar({{"a", 'f', "1"}, {"b", 'f', "2"}, {"c", 'f', "3"}}), limits);
  EXPECT_EQ(st.message(), "layer: c: more than 2 entries");
}

// An image index with two platforms in a real blob store and registry layout.
class UnpackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-unpacker-test-");
    blobs_ = std::move(blob::OpenFsBlobStore(dir_ + "/blobs").value());
  }
  void TearDown() override { (void)RemoveAll(dir_); }
  std::string Descriptor(const char* media, const std::string& data, const std::string& platform = "") {
    auto info = blobs_->Put(data);
    EXPECT_TRUE(info.ok());
    return std::string(R"({"mediaType":")") + media + R"(","digest":")" + info->digest + R"(","size":)" +
           std::to_string(info->size) + platform + "}";
  }
  // An image whose only file says which architecture it is for.
  std::string Image(const std::string& arch) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
           Descriptor("application/vnd.oci.image.config.v1+json", R"({"config":{"Cmd":["/bin/app"]}})") +
           R"(,"layers":[)" + Descriptor("application/vnd.oci.image.layer.v1.tar", Tar({{"arch", 'f', arch}})) + "]}";
  }
  void Tag(const std::string& tag, const std::string& manifest) {
    ASSERT_TRUE(MakeDirs(dir_ + "/registry/repositories/app/_tags").ok());
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/registry/repositories/app/_tags/" + tag, blobs_->Put(manifest)->digest).ok());
  }
  std::string Index(const std::vector<std::pair<std::string, std::string>>& entries) {  // platform json, arch
    std::string out = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
    for (size_t i = 0; i < entries.size(); ++i) {
      out += (i ? "," : "") + Descriptor("application/vnd.oci.image.manifest.v1+json", Image(entries[i].second),
                                         entries[i].first.empty() ? "" : R"(,"platform":)" + entries[i].first);
    }
    return out + "]}";
  }
  std::string dir_;
  std::unique_ptr<blob::BlobStore> blobs_;
};

TEST_F(UnpackerTest, ChoosesTheImageOfThePlatformFromAnIndex) {
  Tag("multi", Index({{R"({"os":"unknown","architecture":"unknown"})", "attestation"},
                      {R"({"os":"linux","architecture":"arm64","variant":"v8"})", "arm64"},
                      {R"({"os":"linux","architecture":"amd64"})", "amd64"}}));
  ImageUnpacker u(*blobs_, dir_ + "/registry", dir_ + "/cache");
  u.set_platform("linux/amd64");
  auto amd = u.Unpack("app:multi");
  ASSERT_TRUE(amd.ok()) << amd.error();
  EXPECT_EQ(*ReadFile(amd->rootfs + "/arch"), "amd64");
  u.set_platform("linux/arm64/v8");
  auto arm = u.Unpack("127.0.0.1:8080/app:multi");
  ASSERT_TRUE(arm.ok()) << arm.error();
  EXPECT_EQ(*ReadFile(arm->rootfs + "/arch"), "arm64");
  EXPECT_NE(arm->manifest_digest, amd->manifest_digest);
  u.set_platform("linux/s390x");
  auto none = u.Unpack("app:multi");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("no linux/s390x image (it has linux/arm64/v8, linux/amd64)"), std::string::npos)
      << none.error();
  // An index that does not say which platform is which: its first image.
  Tag("plain", Index({{"", "first"}, {"", "second"}}));
  auto plain = u.Unpack("app:plain");
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_EQ(*ReadFile(plain->rootfs + "/arch"), "first");
  EXPECT_EQ(ImageUnpacker::HostPlatform().rfind("linux/", 0), 0u);
}

TEST_F(UnpackerTest, PruneKeepsImagesInUseOrRecentlyAskedFor) {
  Tag("a", Image("a"));
  Tag("b", Image("b"));
  ImageUnpacker u(*blobs_, dir_ + "/registry", dir_ + "/cache");
  auto a = u.Unpack("app:a");
  auto b = u.Unpack("app:b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(MakeDirs(dir_ + "/cache/.unpack-abc123/rootfs").ok());  // an interrupted unpack
  EXPECT_EQ(*u.Prune({}), 1);                                         // recent images stay
  EXPECT_FALSE(PathExists(dir_ + "/cache/.unpack-abc123"));
  EXPECT_EQ(*u.Prune({a->rootfs}, -1), 1);  // "unused for a while": only b goes
  EXPECT_TRUE(PathExists(a->rootfs + "/arch"));
  EXPECT_FALSE(PathExists(b->rootfs));
  auto again = u.Unpack("app:b");  // unpacked anew when asked for again
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*ReadFile(again->rootfs + "/arch"), "b");
}

}  // namespace
}  // namespace gantry::deploy
