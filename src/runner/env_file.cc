#include "runner/env_file.h"

#include "base/strings.h"

namespace gantry::runner {

namespace {

std::string Where(std::string_view file, size_t line) {
  return std::string(file) + ":" + std::to_string(line) + ":1: ";
}

}  // namespace

Result<NameValues> ParseEnvFile(std::string_view content, std::string_view file) {
  if (content.size() > kMaxEnvFileBytes)
    return Result<NameValues>::Error(std::string(file) + ": more than " + std::to_string(kMaxEnvFileBytes) +
                                     " bytes written");
  NameValues out;
  size_t pos = 0;
  size_t line_no = 0;
  auto next_line = [&](std::string_view* line) -> bool {
    if (pos >= content.size()) return false;
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    *line = content.substr(pos, nl - pos);
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    pos = nl + 1;
    ++line_no;
    return true;
  };
  std::string_view line;
  while (next_line(&line)) {
    if (Trim(line).empty()) continue;
    size_t eq = line.find('=');
    size_t heredoc = line.find("<<");
    if (heredoc != std::string_view::npos && (eq == std::string_view::npos || heredoc < eq)) {
      std::string name(line.substr(0, heredoc));
      std::string delim(line.substr(heredoc + 2));
      size_t start_line = line_no;
      if (name.empty()) return Result<NameValues>::Error(Where(file, line_no) + "missing name before '<<'");
      if (delim.empty()) return Result<NameValues>::Error(Where(file, line_no) + "missing delimiter after '<<'");
      std::string value;
      bool closed = false;
      bool first = true;
      while (next_line(&line)) {
        if (line == delim) {
          closed = true;
          break;
        }
        if (!first) value.push_back('\n');
        value.append(line);
        first = false;
      }
      if (!closed)
        return Result<NameValues>::Error(Where(file, start_line) + "matching delimiter '" + delim +
                                         "' not found for '" + name + "'");
      out.emplace_back(std::move(name), std::move(value));
      continue;
    }
    if (eq == std::string_view::npos)
      return Result<NameValues>::Error(Where(file, line_no) + "invalid line, expected NAME=value or NAME<<DELIMITER");
    if (eq == 0) return Result<NameValues>::Error(Where(file, line_no) + "missing name before '='");
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> ParsePathFile(std::string_view content) {
  std::vector<std::string> out;
  for (auto& line : Split(content, '\n')) {
    std::string_view t = Trim(line);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

}  // namespace gantry::runner
