// Instance log shipping: complete lines of ID.log / ID.err reach the LogStore once, a partial
// line waits for its newline, a restarted shipper neither repeats nor loses lines, and the
// files of instances that are gone are deleted once shipped.
#include "server/instance_logs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include "base/fs.h"
#include "monitor/app_logs.h"

namespace gantry::server {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

struct Fixture {
  std::string dir = *MakeTempDir("gantry-instance-logs");
  std::unique_ptr<monitor::LogStore> logs;
  Fixture() {
    monitor::LogStoreOptions o;
    o.dir = dir + "/logs";
    logs = std::move(monitor::LogStore::Open(o).value());
    (void)MakeDirs(dir + "/instances");
  }
  ~Fixture() { (void)RemoveAll(dir); }
  std::vector<monitor::LogLine> All(const std::string& grep = "") {
    monitor::LogQuery q;
    q.grep = grep;
    return *logs->Query(q);
  }
};

const char* kId = "web.staging.a-100-200-3";

TEST(InstanceLogs, ShipsCompleteLinesOfBothStreamsOnce) {
  Fixture f;
  const std::string base = f.dir + "/instances/" + kId;
  ASSERT_TRUE(AppendFile(base + ".log", "GET / 200\nGET /a 200\npartial").ok());
  ASSERT_TRUE(AppendFile(base + ".err", "ERROR boom\r\n").ok());
  ASSERT_TRUE(AppendFile(f.dir + "/instances/lb.log", "not an instance\n").ok());
  ASSERT_TRUE(AppendFile(f.dir + "/instances/" + kId + ".json", "{}").ok());
  InstanceLogShipper shipper(f.dir + "/instances", f.logs.get());
  EXPECT_EQ(*shipper.Ship(kNow), 3u);
  auto lines = f.All();
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    EXPECT_EQ(l.service, "web");
    EXPECT_EQ(l.instance, kId);
    EXPECT_EQ(l.stream, l.text == "ERROR boom" ? "stderr" : "stdout") << l.text;
  }
  EXPECT_EQ(*shipper.Ship(kNow), 0u);  // nothing new
  ASSERT_TRUE(AppendFile(base + ".log", " line\nnext\n").ok());
  EXPECT_EQ(*shipper.Ship(kNow), 2u);
  ASSERT_EQ(f.All("partial line").size(), 1u);  // the partial line waited for its newline

  // A restarted server starts where the last one stopped.
  ASSERT_TRUE(AppendFile(base + ".err", "after restart\n").ok());
  InstanceLogShipper again(f.dir + "/instances", f.logs.get());
  EXPECT_EQ(*again.Ship(kNow), 1u);
  EXPECT_EQ(f.All().size(), 6u);

  // The environment filter of the API: instances whose id starts with SERVICE.ENV.
  monitor::LogQuery q;
  q.service = "web";
  q.instance_prefix = "web.production.";
  EXPECT_TRUE(f.logs->Query(q)->empty());
  q.instance_prefix = "web.staging.";
  EXPECT_EQ(f.logs->Query(q)->size(), 6u);
}

TEST(InstanceLogs, LongLinesAreCutAndGoneInstancesCleanedUp) {
  Fixture f;
  const std::string base = f.dir + "/instances/" + kId;
  ASSERT_TRUE(AppendFile(base + ".log", std::string(40 * 1024, 'x')).ok());  // no newline at all
  InstanceLogShipper shipper(f.dir + "/instances", f.logs.get());
  EXPECT_EQ(*shipper.Ship(kNow), 2u);  // two 16 KiB pieces; the rest waits
  // No record (the instance was stopped) and quiet for over an hour: shipped, then deleted.
  ASSERT_TRUE(AppendFile(base + ".log", "\n").ok());
  EXPECT_EQ(*shipper.Ship(kNow), 1u);
  struct utimbuf old {};
  old.actime = old.modtime = kNow / 1000 - 7200;
  ASSERT_EQ(::utime((base + ".log").c_str(), &old), 0);
  EXPECT_EQ(*shipper.Ship(kNow), 0u);
  EXPECT_FALSE(PathExists(base + ".log"));
  EXPECT_EQ(f.All().size(), 3u);  // what was shipped stays in the store
}

TEST(InstanceLogs, ServiceOfAnInstanceId) {
  EXPECT_EQ(InstanceLogShipper::ServiceOf("web.staging.a-1-2-3"), "web");
  EXPECT_EQ(InstanceLogShipper::ServiceOf("api-1-2-3"), "api");
  EXPECT_EQ(InstanceLogShipper::ServiceOf(".hidden-1-2-3"), "");
}

}  // namespace
}  // namespace gantry::server
