// libFuzzer target: what steps write (env files, workflow commands) and dotenv secret files.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runner/commands.h"
#include "runner/env_file.h"
#include "runner/masker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)gantry::runner::ParseEnvFile(in, "GITHUB_ENV");
  (void)gantry::runner::ParseDotenv(in, "secrets.env");
  (void)gantry::runner::ParsePathFile(in);
  if (auto c = gantry::runner::ParseWorkflowCommand(in)) {
    gantry::runner::Masker m;
    m.Add(c->data);
    (void)m.Mask(in);
  }
  return 0;
}
