#include "runner/shell.h"

#include "base/process.h"
#include "base/strings.h"

namespace gantry::runner {

namespace {

// Splits a command line into words; single and double quotes group, as a POSIX shell would
// for the simple cases custom shells use.
std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur.push_back(c);
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

}  // namespace

std::vector<std::string> ShellCommand::Build(const std::string& script_path) const {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const auto& a : argv) {
    out.push_back(a.find("{0}") == std::string::npos ? a : ReplaceAll(a, "{0}", script_path));
  }
  return out;
}

Result<ShellCommand> ResolveShell(std::string_view shell, std::string_view path_list) {
  std::string_view name = Trim(shell);
  if (name.empty()) {
    if (!FindProgram("bash", path_list).empty()) return ShellCommand{{"bash", "-e", "{0}"}, ".sh"};
    return ShellCommand{{"sh", "-e", "{0}"}, ".sh"};
  }
  if (name == "bash") return ShellCommand{{"bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"}, ".sh"};
  if (name == "sh") return ShellCommand{{"sh", "-e", "{0}"}, ".sh"};
  if (name == "python") return ShellCommand{{"python", "{0}"}, ".py"};
  if (name == "pwsh" || name == "powershell") return ShellCommand{{"pwsh", "-command", ". '{0}'"}, ".ps1"};
  if (name == "cmd") return Result<ShellCommand>::Error("shell 'cmd' is only available on Windows runners");
  if (name.find("{0}") == std::string_view::npos)
    return Result<ShellCommand>::Error("invalid shell '" + std::string(name) +
                                       "': expected bash, sh, python, pwsh or a command line containing {0}");
  auto words = SplitWords(name);
  if (words.empty()) return Result<ShellCommand>::Error("invalid shell '" + std::string(name) + "'");
  return ShellCommand{std::move(words), ""};
}

}  // namespace gantry::runner
