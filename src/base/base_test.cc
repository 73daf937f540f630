#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace gantry {

TEST(Strings, CaseInsensitiveAndSplit) {
  EXPECT_TRUE(EqualsIgnoreCase("GitHub", "github"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "ab"));
  EXPECT_EQ(Split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ReplaceAll("a.b.c", ".", "::"), "a::b::c");
}

TEST(Strings, Durations) {
  EXPECT_EQ(ParseDurationMs("5s"), 5000);
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("2m"), 120000);
  EXPECT_EQ(ParseDurationMs("x"), -1);
  EXPECT_EQ(ParseDurationMs("5y"), -1);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
}

TEST(Fs, AtomicWriteAndLimitedRead) {
  auto dir = MakeTempDir("gantry-base-test-");
  ASSERT_TRUE(dir.ok()) << dir.error();
  std::string path = *dir + "/f.txt";
  ASSERT_TRUE(WriteFileAtomic(path, "hello").ok());
  auto r = ReadFile(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
  auto limited = ReadFile(path, 3);
  ASSERT_FALSE(limited.ok());
  EXPECT_NE(limited.error().find("limit"), std::string::npos);
  EXPECT_FALSE(ReadFile(*dir + "/missing").ok());
  ASSERT_TRUE(RemoveAll(*dir).ok());
  EXPECT_FALSE(PathExists(*dir));
}

}  // namespace gantry

#include "base/http.h"

namespace gantry::http {

TEST(Http, PercentCodingAndHeaders) {
  EXPECT_EQ(PercentDecode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(PercentDecode("a+b").value(), "a+b");
  EXPECT_FALSE(PercentDecode("bad%2").has_value());
  EXPECT_FALSE(PercentDecode("bad%zz").has_value());
  EXPECT_EQ(PercentEncode("a b/c"), "a%20b%2Fc");
  Headers h{{"Content-Type", "text/plain"}};
  EXPECT_EQ(FindHeader(h, "content-type"), "text/plain");
  EXPECT_EQ(FindHeader(h, "x-missing"), "");
}

}  // namespace gantry::http

TEST(TestEnvironment, BinaryAndSharedDirAreKnown) {
  const char* bin = std::getenv("GANTRY_BIN");
  const char* shared = std::getenv("GANTRY_SHARED");
  ASSERT_NE(bin, nullptr);
  ASSERT_NE(shared, nullptr);
  EXPECT_TRUE(gantry::PathExists(bin)) << bin;
}

#include "base/http_auth.h"

namespace gantry::http {

TEST(HttpAuth, BasicBearerAndTheTokenAClientPresents) {
  std::string user, password;
  ASSERT_TRUE(ParseBasicAuth("Basic dmlld2VyOnB3", &user, &password));  // viewer:pw
  EXPECT_EQ(user, "viewer");
  EXPECT_EQ(password, "pw");
  ASSERT_TRUE(ParseBasicAuth("basic OnNlY3JldA==", &user, &password));  // :secret
  EXPECT_EQ(user, "");
  EXPECT_EQ(password, "secret");
  EXPECT_FALSE(ParseBasicAuth("Basic dmlld2Vy", &user, &password));     // "viewer": no colon
  EXPECT_FALSE(ParseBasicAuth("Basic not*base64!", &user, &password));  // bad alphabet / length
  EXPECT_FALSE(ParseBasicAuth("Bearer abc", &user, &password));
  EXPECT_FALSE(ParseBasicAuth("Basic " + std::string(4100, 'A'), &user, &password));

  EXPECT_EQ(BearerToken("bearer  tok123 "), "tok123");
  EXPECT_EQ(BearerToken("Basic dmlld2VyOnB3"), "");

  EXPECT_EQ(PresentedToken("Bearer tok"), "tok");
  EXPECT_EQ(PresentedToken("Basic Z2l0OnRvazQ1Ng=="), "tok456");  // git:tok456
  EXPECT_EQ(PresentedToken(""), "");
  EXPECT_EQ(PresentedToken("Digest x"), "");
}

}  // namespace gantry::http
