#include "runner/commands.h"

#include "base/strings.h"

namespace gantry::runner {

namespace {

std::string Unescape(std::string_view s, bool property) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      std::string_view code = s.substr(i + 1, 2);
      char c = 0;
      if (code == "25")
        c = '%';
      else if (code == "0D" || code == "0d")
        c = '\r';
      else if (code == "0A" || code == "0a")
        c = '\n';
      else if (property && (code == "3A" || code == "3a"))
        c = ':';
      else if (property && (code == "2C" || code == "2c"))
        c = ',';
      if (c != 0) {
        out.push_back(c);
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

const std::string* WorkflowCommand::Prop(std::string_view key) const {
  for (const auto& [k, v] : props) {
    if (EqualsIgnoreCase(k, key)) return &v;
  }
  return nullptr;
}

std::optional<WorkflowCommand> ParseWorkflowCommand(std::string_view line) {
  size_t lead = line.find_first_not_of(" \t");
  if (lead == std::string_view::npos) return std::nullopt;
  line.remove_prefix(lead);
  if (!StartsWith(line, "::")) return std::nullopt;
  line.remove_prefix(2);
  size_t end = line.find("::");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view head = line.substr(0, end);
  std::string_view data = line.substr(end + 2);
  WorkflowCommand cmd;
  size_t space = head.find(' ');
  cmd.name = std::string(head.substr(0, space));
  if (cmd.name.empty()) return std::nullopt;
  if (space != std::string_view::npos) {
    for (const auto& kv : Split(head.substr(space + 1), ',')) {
      std::string_view item = Trim(kv);
      if (item.empty()) continue;
      size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      cmd.props.emplace_back(std::string(item.substr(0, eq)), Unescape(item.substr(eq + 1), true));
    }
  }
  cmd.data = Unescape(data, false);
  return cmd;
}

}  // namespace gantry::runner
