#include "base/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "base/fs.h"

namespace gantry {
namespace {

struct Captured {
  std::vector<std::string> out, err;
};

ProcessSpec Shell(const std::string& script, Captured* c) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello there"};
  spec.on_line = [c](OutputStream s, std::string_view line) {
    (s == OutputStream::kStdout ? c->out : c->err).emplace_back(line);
  };
  return spec;
}

// A zombie (dead, not yet reaped by its new parent) counts as gone.
bool Alive(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

TEST(Process, CapturesLinesExitCodeAndEnv) {
  Captured c;
  auto r = RunProcess(Shell("echo \"$GREETING\"; printf 'a\\r\\nb'; echo oops >&2; exit 3", &c));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(c.out, (std::vector<std::string>{"hello there", "a", "b"}));
  EXPECT_EQ(c.err, (std::vector<std::string>{"oops"}));
}

TEST(Process, WorkingDirectoryAndStdinIsDevNull) {
  auto dir = MakeTempDir("gantry-proc");
  ASSERT_TRUE(dir.ok());
  Captured c;
  auto spec = Shell("pwd; cat; echo done", &c);
  spec.cwd = *dir;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0], std::string(realpath(dir->c_str(), nullptr) ? *dir : *dir));
  EXPECT_EQ(c.out[1], "done");
  RemoveAll(*dir);
}

TEST(Process, MissingProgramIsAnError) {
  ProcessSpec spec;
  spec.argv = {"gantry-no-such-program"};
  spec.env = {"PATH=/usr/bin:/bin"};
  auto r = RunProcess(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("gantry-no-such-program"), std::string::npos);
}

TEST(Process, LongLinesAreSplitToBoundMemory) {
  Captured c;
  auto spec = Shell("head -c 10000 /dev/zero | tr '\\0' x; echo; echo end", &c);
  spec.max_line_bytes = 4096;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(c.out.size(), 4u);
  EXPECT_EQ(c.out[0].size(), 4096u);
  EXPECT_EQ(c.out[2].size(), 10000u - 2 * 4096u);
  EXPECT_EQ(c.out[3], "end");
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  Captured c;
  // The child starts a grandchild that ignores SIGTERM; both must be gone afterwards.
  auto spec = Shell("sh -c 'trap \"\" TERM; sleep 60' & echo $!; wait", &c);
  spec.timeout_ms = 300;
  spec.kill_grace_ms = 300;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_NE(r->exit_code, 0);
  ASSERT_FALSE(c.out.empty());
  pid_t grandchild = std::stoi(c.out[0]);
  for (int i = 0; i < 100 && Alive(grandchild); ++i) usleep(10000);
  EXPECT_FALSE(Alive(grandchild));
}

TEST(Process, CancelFromAnotherThread) {
  CancelSource cancel;
  Captured c;
  auto spec = Shell("echo started; sleep 60 & sleep 60; wait", &c);
  spec.cancel = &cancel;
  spec.kill_grace_ms = 2000;
  std::thread t([&] {
    usleep(200000);
    cancel.Cancel();
  });
  auto r = RunProcess(spec);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(Process, AlreadyCancelledDoesNotWait) {
  CancelSource cancel;
  cancel.Cancel();
  Captured c;
  auto spec = Shell("sleep 60", &c);
  spec.cancel = &cancel;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
}

TEST(Process, BackgroundChildHoldingPipeDoesNotBlock) {
  Captured c;
  auto spec = Shell("echo hi; (sleep 5; echo late) & exit 0", &c);
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(c.out, (std::vector<std::string>{"hi"}));
}

TEST(Process, FindProgram) {
  EXPECT_EQ(FindProgram("sh", "/nonexistent:/bin:/usr/bin").empty(), false);
  EXPECT_EQ(FindProgram("gantry-none", "/bin"), "");
  EXPECT_EQ(FindProgram("/abs/path", "/bin"), "/abs/path");
}

}  // namespace
}  // namespace gantry
