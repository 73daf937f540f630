// Executors and the local store, with real processes and directories.
#include "runner/executor.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "runner/store.h"

namespace gantry::runner {
namespace {

ProcessSpec Sh(const std::string& script, std::vector<std::string>* out) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.on_line = [out](OutputStream s, std::string_view l) {
    if (s == OutputStream::kStdout) out->emplace_back(l);
  };
  return spec;
}

TEST(Executor, HostRunsProcesses) {
  auto ex = MakeExecutor("host", {});
  ASSERT_TRUE(ex.ok()) << ex.error();
  std::vector<std::string> out;
  auto r = (*ex)->Run(Sh("echo hi; exit 4", &out));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(out, std::vector<std::string>{"hi"});
}

TEST(Executor, UnknownNameListsKnownOnes) {
  auto ex = MakeExecutor("nosuch", {});
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.error().find("host"), std::string::npos);
  EXPECT_NE(ex.error().find("sandbox"), std::string::npos);
}

TEST(Executor, RegisteredByName) {
  RegisterExecutor("test-echo", [](const ExecutorConfig&) { return MakeExecutor("host", {}); });
  EXPECT_TRUE(MakeExecutor("test-echo", {}).ok());
}

TEST(Executor, SandboxOnlyWritesWhereAllowed) {
  if (FindProgram("bwrap", "/usr/bin:/bin").empty()) GTEST_SKIP() << "bwrap not installed";
  auto ws = MakeTempDir("gantry-sb-ws");
  auto other = MakeTempDir("gantry-sb-other");
  ASSERT_TRUE(ws.ok() && other.ok());
  ExecutorConfig cfg;
  cfg.writable_paths = {*ws};
  cfg.unshare_net = true;
  auto ex = MakeExecutor("sandbox", cfg);
  ASSERT_TRUE(ex.ok()) << ex.error();
  std::vector<std::string> out;
  auto spec = Sh("echo ok > f && (echo x > " + *other + "/g 2>/dev/null && echo escaped || echo blocked); pwd; " +
                     "tail -n +3 /proc/net/dev | wc -l",
                 &out);
  spec.cwd = *ws;
  auto r = (*ex)->Run(spec);
  ASSERT_TRUE(r.ok()) << r.error();
  if (r->exit_code != 0 && !out.empty() && out[0].find("bwrap") != std::string::npos) GTEST_SKIP() << out[0];
  EXPECT_EQ(r->exit_code, 0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "blocked");
  EXPECT_EQ(out[1], *ws);
  EXPECT_EQ(out[2], "1");  // only loopback
  EXPECT_TRUE(PathExists(*ws + "/f"));
  EXPECT_FALSE(PathExists(*other + "/g"));
  RemoveAll(*ws);
  RemoveAll(*other);
}

TEST(LocalStore, SaveRestoreListAndKeysStayInside) {
  auto root = MakeTempDir("gantry-store");
  auto src = MakeTempDir("gantry-src");
  auto dst = MakeTempDir("gantry-dst");
  ASSERT_TRUE(root.ok() && src.ok() && dst.ok());
  ASSERT_TRUE(MakeDirs(*src + "/d/e").ok());
  ASSERT_TRUE(WriteFileAtomic(*src + "/d/e/f.txt", "content").ok());
  ASSERT_TRUE(WriteFileAtomic(*src + "/top.txt", "top").ok());
  auto store = MakeLocalStore(*root);
  ASSERT_TRUE(store->Save("cache", "../../escape-key", *src, {"d", "top.txt"}).ok());
  EXPECT_FALSE(PathExists(*root + "/../escape-key"));
  auto list = store->List("cache", "../..");
  ASSERT_EQ(list.size(), 1u);
  auto ok = store->Restore("cache", "../../escape-key", *dst);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  EXPECT_EQ(*ReadFile(*dst + "/d/e/f.txt"), "content");
  EXPECT_EQ(*ReadFile(*dst + "/top.txt"), "top");
  auto missing = store->Restore("cache", "nope", *dst);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
  for (auto& d : {*root, *src, *dst}) RemoveAll(d);
}

}  // namespace
}  // namespace gantry::runner
