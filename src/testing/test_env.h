// Paths tests need, from the environment that src/testing/test_env.cc sets up (the
// build's values unless the caller overrides GANTRY_SOURCE / GANTRY_SHARED / GANTRY_BIN).
#pragma once

#include <string>

namespace gantry::testing {

std::string SourceDir();  // the checkout (GANTRY_SOURCE)
std::string SharedDir();  // ../shared beside it (GANTRY_SHARED)

}  // namespace gantry::testing
