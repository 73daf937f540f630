#include "monitor/app_logs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/http_client.h"
#include "base/http_server.h"
#include "monitor/record_file.h"
#include "monitor/test_util.h"

namespace gantry::monitor {
namespace {

constexpr int64_t kHourT = 1'700'000'000'000 / 3'600'000 * 3'600'000;

struct TempDir {
  TempDir() : path(*MakeTempDir("gantry-logs-")) {}
  ~TempDir() { (void)RemoveAll(path); }
  std::string path;
};

LogLine Line(int64_t t, std::string service, std::string instance, std::string text, std::string stream = "stdout") {
  LogLine l;
  l.t_ms = t;
  l.service = std::move(service);
  l.instance = std::move(instance);
  l.text = std::move(text);
  l.stream = std::move(stream);
  return l;
}

TEST(LogStore, QueriesByServiceInstanceTimeAndText) {
  TempDir dir;
  FakeClock clock(kHourT);
  auto store = std::move(LogStore::Open({dir.path, 86'400'000, 16 * 1024, false, &clock}).value());
  ASSERT_TRUE(store
                  ->Append({Line(kHourT + 1000, "web", "web-1", "GET / 200"),
                            Line(kHourT + 2000, "web", "web-2", "ERROR db timeout", "stderr"),
                            Line(kHourT + 3'600'000 + 5, "web", "web-1", "ERROR disk full", "stderr"),
                            Line(kHourT + 4000, "api", "api-1", "ERROR other service")})
                  .ok());
  LogQuery q;
  q.service = "web";
  q.grep = "ERROR";
  auto r = store->Query(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "ERROR db timeout");
  EXPECT_EQ((*r)[0].stream, "stderr");
  EXPECT_EQ((*r)[1].text, "ERROR disk full");
  q.instance = "web-1";
  EXPECT_EQ(store->Query(q)->size(), 1u);
  q = LogQuery{};
  q.since_ms = kHourT + 1500;
  q.until_ms = kHourT + 5000;
  EXPECT_EQ(store->Query(q)->size(), 2u);  // web-2 and api-1
  q = LogQuery{};
  q.limit = 1;
  EXPECT_EQ(store->Query(q)->at(0).text, "ERROR disk full");  // the last line
  EXPECT_FALSE(store->Append({Line(kHourT, "../etc", "x", "y")}).ok());
}

TEST(LogStore, SurvivesRestartWithTornTailAndPrunes) {
  TempDir dir;
  FakeClock clock(kHourT);
  {
    auto store = std::move(LogStore::Open({dir.path, 3'600'000, 16 * 1024, false, &clock}).value());
    ASSERT_TRUE(store->Append({Line(kHourT + 1, "web", "w1", "one"), Line(kHourT + 2, "web", "w1", "two")}).ok());
  }
  std::string file = dir.path + "/web/" + std::to_string(kHourT) + ".log";
  ASSERT_TRUE(AppendFile(file, "\x05\x00").ok());  // a torn append
  auto store = std::move(LogStore::Open({dir.path, 3'600'000, 16 * 1024, false, &clock}).value());
  EXPECT_EQ(store->last_seq(), 2u);
  ASSERT_TRUE(store->Append({Line(kHourT + 3, "web", "w1", "three")}).ok());
  auto all = store->Query({});
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->back().seq, 3u);
  ASSERT_TRUE(store->Prune(kHourT + 3 * 3'600'000).ok());
  EXPECT_FALSE(PathExists(file));
  EXPECT_TRUE(store->Query({})->empty());
}

TEST(LogStore, HandlerPostsQueriesAndFollowsOverHttp) {
  TempDir dir;
  auto store = std::move(LogStore::Open({dir.path}).value());
  http::Server server;
  ASSERT_TRUE(server.Start(LogsHandler(store.get())).ok());
  std::string base = "http://127.0.0.1:" + std::to_string(server.port()) + "/logs";
  auto post =
      http::Fetch(http::MakeRequest("POST", base + "?service=web&instance=web-1&stream=stderr", "ERROR first\nfine\n"));
  ASSERT_TRUE(post.ok()) << post.error();
  EXPECT_EQ(post->status, 204);
  auto get = http::Fetch(http::MakeRequest("GET", base + "?service=web&grep=ERROR&since=10m"));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 200);
  auto j = nlohmann::json::parse(get->body.substr(0, get->body.find('\n')));
  EXPECT_EQ(j["text"], "ERROR first");
  EXPECT_EQ(j["stream"], "stderr");

  auto stream = http::ClientStream::Open(http::MakeRequest("GET", base + "?service=web&grep=ERROR&follow=1"));
  ASSERT_TRUE(stream.ok()) << stream.error();
  std::string line;
  ASSERT_TRUE((*stream)->ReadLine(&line));
  EXPECT_EQ(nlohmann::json::parse(line)["text"], "ERROR first");
  ASSERT_TRUE(store->Append({Line(0, "web", "web-2", "ERROR second"), Line(0, "web", "web-2", "quiet")}).ok());
  ASSERT_TRUE((*stream)->ReadLine(&line));
  EXPECT_EQ(nlohmann::json::parse(line)["text"], "ERROR second");
  stream->reset();
  auto bad = http::Fetch(http::MakeRequest("GET", base + "?since=yesterday"));
  EXPECT_EQ(bad->status, 400);
  server.Stop();
}

}  // namespace
}  // namespace gantry::monitor
