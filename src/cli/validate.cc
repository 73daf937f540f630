// gantry validate [FILE...]: checks workflow files and prints compiler-style errors.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/cli_util.h"
#include "workflow/reader.h"

namespace {

// .github/workflows/*.yml and *.yaml of the current directory, sorted.
std::vector<std::string> DefaultFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(".github/workflows", ec)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file(ec) && (ext == ".yml" || ext == ".yaml")) {
      files.push_back(entry.path().lexically_normal().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

int Run(int argc, char** argv) {
  CLI::App app(
      "Check GitHub Actions workflow files without running them.\n"
      "Every error of every file is printed as file:line:col: message (syntax, unknown keys,\n"
      "wrong types, needs targets and cycles, step ids, matrices, expressions and the contexts\n"
      "available where they are used).\n"
      "Exit status: 0 all valid, 2 some file is invalid or unreadable (or a usage error).",
      "gantry validate");
  std::vector<std::string> files;
  bool quiet = false;
  app.add_option("files", files, "Workflow files (default: .github/workflows/*.yml in the current directory)");
  app.add_flag("-q,--quiet", quiet, "Print only errors");
  if (int rc = gantry::cli::Parse(app, argc, argv); rc >= 0) return rc;
  if (files.empty()) {
    files = DefaultFiles();
    if (files.empty()) {
      std::cerr << "gantry validate: no workflow files in .github/workflows (give FILE arguments)\n";
      return gantry::cli::kExitUsage;
    }
  }
  size_t invalid = 0;
  for (const std::string& file : files) {
    // `uses: ./...` calls resolve against the repository holding .github/workflows.
    gantry::workflow::ReadOptions options;
    size_t at = file.rfind(".github/workflows/");
    std::string root = at == std::string::npos ? "." : at == 0 ? "." : file.substr(0, at - 1);
    if (root.empty()) root = "/";
    options.load_called_workflow = gantry::workflow::LocalWorkflowLoader(root);
    gantry::workflow::ReadResult result = gantry::workflow::ReadWorkflowFile(file, options);
    if (!result.ok()) {
      ++invalid;
      std::cerr << result.ErrorText();
    } else if (!quiet) {
      std::cout << file << ": ok (" << result.workflow->jobs.size() << " job"
                << (result.workflow->jobs.size() == 1 ? "" : "s") << ")\n";
    }
  }
  if (invalid > 0) {
    std::cerr << invalid << " of " << files.size() << " workflow file" << (files.size() == 1 ? "" : "s")
              << " invalid\n";
    return gantry::cli::kExitUsage;
  }
  return gantry::cli::kExitOk;
}

}  // namespace

GANTRY_COMMAND("validate", "Check workflow files and print compiler-style errors", Run);
