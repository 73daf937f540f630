#include "cli/command.h"

#include <algorithm>

namespace gantry::cli {

static std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}

Registrar::Registrar(Command c) {
  auto& r = Registry();
  r.push_back(c);
  std::sort(r.begin(), r.end(), [](const Command& a, const Command& b) { return std::string(a.name) < b.name; });
}

const std::vector<Command>& Commands() { return Registry(); }

const Command* FindCommand(const std::string& name) {
  for (const auto& c : Registry()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace gantry::cli
