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

namespace gantry::runner {

namespace {
bool ValidName(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return false;
  }
  return true;
}
}  // namespace

Result<NameValues> ParseDotenv(std::string_view content, std::string_view file) {
  if (content.size() > kMaxEnvFileBytes)
    return Result<NameValues>::Error(std::string(file) + ": larger than " + std::to_string(kMaxEnvFileBytes) +
                                     " bytes");
  NameValues out;
  size_t i = 0;
  size_t line = 1;
  size_t line_start = 0;
  auto err = [&](const std::string& msg) {
    return Result<NameValues>::Error(std::string(file) + ":" + std::to_string(line) + ":" +
                                     std::to_string(i - line_start + 1) + ": " + msg);
  };
  auto skip_blank = [&] {
    while (i < content.size() && (content[i] == ' ' || content[i] == '\t')) ++i;
  };
  while (i < content.size()) {
    skip_blank();
    if (i >= content.size()) break;
    if (content[i] == '\n' || content[i] == '\r' || content[i] == '#') {
      while (i < content.size() && content[i] != '\n') ++i;
      if (i < content.size()) ++i, ++line, line_start = i;
      continue;
    }
    if (content.substr(i, 7) == "export ") {
      i += 7;
      skip_blank();
    }
    size_t name_start = i;
    while (i < content.size() && content[i] != '=' && content[i] != '\n' && content[i] != ' ' && content[i] != '\t')
      ++i;
    std::string name(content.substr(name_start, i - name_start));
    skip_blank();
    if (i >= content.size() || content[i] != '=') return err("expected NAME=value");
    if (!ValidName(name)) {
      i = name_start;
      return err("invalid name '" + name + "'");
    }
    ++i;
    skip_blank();
    std::string value;
    if (i < content.size() && (content[i] == '"' || content[i] == '\'')) {
      char q = content[i++];
      bool closed = false;
      while (i < content.size()) {
        char c = content[i++];
        if (c == q) {
          closed = true;
          break;
        }
        if (c == '\n') ++line, line_start = i;
        if (q == '"' && c == '\\' && i < content.size()) {
          char e = content[i++];
          value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
          continue;
        }
        value.push_back(c);
      }
      if (!closed) return err(std::string("missing closing ") + q + " for " + name);
      skip_blank();
      if (i < content.size() && content[i] == '#') {
        while (i < content.size() && content[i] != '\n') ++i;
      }
      if (i < content.size() && content[i] == '\r') ++i;
      if (i < content.size() && content[i] != '\n') return err("unexpected text after the quoted value");
    } else {
      size_t start = i;
      while (i < content.size() && content[i] != '\n') ++i;
      std::string_view raw = content.substr(start, i - start);
      size_t hash = raw.find(" #");
      if (hash != std::string_view::npos) raw = raw.substr(0, hash);
      value = std::string(Trim(raw));
    }
    if (i < content.size()) ++i, ++line, line_start = i;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace gantry::runner
