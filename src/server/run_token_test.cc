// Run-scoped tokens: signed by the data dir's key, naming their run, refused when tampered.
#include "server/run_token.h"

#include <gtest/gtest.h>

#include "base/fs.h"

namespace gantry::server {
namespace {

TEST(RunToken, NamesItsRunAndRefusesForgeries) {
  const std::string dir = *MakeTempDir("gantry-run-token");
  const std::string token = MakeRunToken(dir, 42);
  EXPECT_EQ(token.rfind("gtr_42_", 0), 0u);
  EXPECT_EQ(RunOfToken(dir, token), 42);
  EXPECT_EQ(MakeRunToken(dir, 42), token);  // the key is kept in the data dir
  std::string forged = token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_FALSE(RunOfToken(dir, forged));
  std::string other_run = token;
  other_run.replace(4, 2, "43");
  EXPECT_FALSE(RunOfToken(dir, other_run));
  for (const char* bad : {"", "gtr_", "gtr__x", "gtr_x_y", "gty_abc", "gtr_99999999999999999999999999_00"})
    EXPECT_FALSE(RunOfToken(dir, bad)) << bad;
  const std::string elsewhere = *MakeTempDir("gantry-run-token");
  EXPECT_FALSE(RunOfToken(elsewhere, token));  // another server's key
  (void)RemoveAll(dir);
  (void)RemoveAll(elsewhere);
}

}  // namespace
}  // namespace gantry::server
