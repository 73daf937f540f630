// Linked into every unit-test binary (not into gantry_core): makes GANTRY_BIN (the built
// gantry binary) and GANTRY_SHARED (../shared beside the source tree) available to tests
// through the environment, unless the caller already set them.
#include <cstdlib>

namespace {

struct TestEnvironment {
  TestEnvironment() {
    setenv("GANTRY_BIN", GANTRY_BIN_PATH, 0);
    setenv("GANTRY_SHARED", GANTRY_SHARED_DIR, 0);
  }
};

const TestEnvironment kTestEnvironment;

}  // namespace
