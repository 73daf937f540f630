// The image unpacker on real tar layers built here with libarchive (plain and gzip), and
// through a real blob store and registry layout for the cache.
#include "deploy/image_rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/fs.h"

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

}  // namespace
}  // namespace gantry::deploy
