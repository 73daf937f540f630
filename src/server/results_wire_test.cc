#include "server/results_wire.h"

#include <gtest/gtest.h>

namespace gantry::server {
namespace {

TEST(ResultsWireTest, ReadsProtoAndJsonNames) {
  auto r =
      ParseTwirpRequest(R"({"workflow_run_backend_id":"7","workflowJobRunBackendId":"7","name":"dist","size":"123",)"
                        R"("hash":"sha256:ab","version":4,"expires_at":"2026-01-02T03:04:05.678Z","id_filter":"9"})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->run_backend_id, "7");
  EXPECT_EQ(r->job_backend_id, "7");
  EXPECT_EQ(r->name, "dist");
  EXPECT_EQ(r->size.value_or(0), 123u);
  EXPECT_EQ(r->hash.value_or(""), "sha256:ab");
  EXPECT_EQ(r->version, "4");
  EXPECT_EQ(r->expires_at_s.value_or(0), 1767323045);
  EXPECT_EQ(r->id_filter.value_or(0), 9);
  auto c = ParseTwirpRequest(R"({"key":"k","restoreKeys":["a","b"],"version":"v","sizeBytes":5})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->restore_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->size.value_or(0), 5u);
}

TEST(ResultsWireTest, RefusesBadInputWithPositions) {
  auto bad = ParseTwirpRequest("{\n  \"name\": }");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("body:2:", 0), 0u) << bad.error();
  EXPECT_FALSE(ParseTwirpRequest("[]").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"name":1.5})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"size":"-1"})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"size":-1})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"size":1e44444})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"expires_at":"tomorrow"})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"restore_keys":["1","2","3","4","5","6","7","8","9","10","11"]})").ok());
  EXPECT_FALSE(ParseTwirpRequest(R"({"restore_keys":"a"})").ok());
  EXPECT_FALSE(ParseTwirpRequest("{\"name\":\"" + std::string(5000, 'x') + "\"}").ok());
  EXPECT_FALSE(ParseTwirpRequest(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_FALSE(CheckCacheKey("").ok());
  EXPECT_FALSE(CheckCacheKey("a,b").ok());
  EXPECT_FALSE(CheckCacheKey(std::string(513, 'k')).ok());
}

TEST(ResultsWireTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z").value_or(-1), 0);
  EXPECT_EQ(ParseRfc3339("1970-01-01T01:00:00+01:00").value_or(-1), 0);
  for (const char* bad : {"", "1970-01-01", "1970-13-01T00:00:00Z", "1970-01-01T00:00:00", "1970-01-01T00:00:00.Z",
                          "1970-01-01T00:00:00Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace gantry::server
