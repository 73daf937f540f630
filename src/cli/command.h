// The command registry: each file in src/cli/ defines one command and registers it with
// GANTRY_COMMAND, so adding a command never edits main.cc.
//
// Exit codes (docs/cli.md): 0 success; 1 the thing asked for failed (a job failed, a
// deployment rolled back); 2 usage error or invalid input (bad flags, bad YAML, bad
// expression); 3 could not reach or was refused by the server; 130 interrupted (SIGINT).
#pragma once

#include <string>
#include <vector>

namespace gantry::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitInterrupted = 130;

struct Command {
  const char* name;
  const char* summary;
  // argv[0] is "gantry <name>"; the rest are the command's own arguments.
  int (*run)(int argc, char** argv);
};

// Registered commands, sorted by name.
const std::vector<Command>& Commands();
const Command* FindCommand(const std::string& name);

struct Registrar {
  explicit Registrar(Command c);
};

}  // namespace gantry::cli

#define GANTRY_CLI_CONCAT2(a, b) a##b
#define GANTRY_CLI_CONCAT(a, b) GANTRY_CLI_CONCAT2(a, b)
#define GANTRY_COMMAND(name, summary, fn) \
  static ::gantry::cli::Registrar GANTRY_CLI_CONCAT(gantry_command_, __LINE__)({name, summary, fn})
