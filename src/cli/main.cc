// gantry: entry point. Dispatches to the command named by the first argument.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/command.h"
#include "gantry_version.h"

namespace {

void PrintHelp(FILE* out) {
  std::fprintf(out,
               "gantry %s - self-hosted CI/CD in one binary\n\n"
               "Usage: gantry <command> [options]\n\nCommands:\n",
               GANTRY_VERSION);
  for (const auto& c : gantry::cli::Commands()) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nRun 'gantry <command> --help' for a command's options.\n"
               "Exit codes: 0 success, 1 failed, 2 usage or invalid input, 3 server unavailable, "
               "130 interrupted.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintHelp(stderr);
    return gantry::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("gantry %s\n", GANTRY_VERSION);
    return 0;
  }
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc >= 3) {
      if (const auto* c = gantry::cli::FindCommand(argv[2])) {
        std::string full = std::string("gantry ") + c->name;
        char help[] = "--help";
        char* args[] = {full.data(), help, nullptr};
        return c->run(2, args);
      }
    }
    PrintHelp(stdout);
    return 0;
  }
  const auto* cmd = gantry::cli::FindCommand(name);
  if (cmd == nullptr) {
    std::fprintf(stderr, "gantry: unknown command '%s'\n\n", name.c_str());
    PrintHelp(stderr);
    return gantry::cli::kExitUsage;
  }
  std::string full = "gantry " + name;
  argv[1] = full.data();
  return cmd->run(argc - 1, argv + 1);
}
