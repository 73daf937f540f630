// Shared glue for commands built on CLI11: parse with consistent --help and exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace gantry::cli {

// Parses argv into `app`; returns -1 to continue, or the exit code to return now
// (0 after --help, kExitUsage after a usage error, with the message on stderr).
inline int Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return -1;
}

}  // namespace gantry::cli
