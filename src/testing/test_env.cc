// Linked into every unit-test binary (not into gantry_core): makes GANTRY_BIN (the built
// gantry binary), GANTRY_SOURCE (the checkout) and GANTRY_SHARED (../shared beside it)
// available to tests through the environment, unless the caller already set them.
// Only this file sees the absolute build paths, so every other object compiles the same
// in any clone and ccache hits across checkouts.
#include "testing/test_env.h"

#include <cstdlib>

namespace gantry::testing {
namespace {

struct TestEnvironment {
  TestEnvironment() {
    setenv("GANTRY_BIN", GANTRY_BIN_PATH, 0);
    setenv("GANTRY_SOURCE", GANTRY_SOURCE_DIR, 0);
    setenv("GANTRY_SHARED", GANTRY_SHARED_DIR, 0);
  }
};

const TestEnvironment kTestEnvironment;

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

std::string SourceDir() { return Env("GANTRY_SOURCE", GANTRY_SOURCE_DIR); }
std::string SharedDir() { return Env("GANTRY_SHARED", GANTRY_SHARED_DIR); }

}  // namespace gantry::testing
