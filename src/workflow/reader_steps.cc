// `steps:` — run and uses steps, ids (given or generated as GitHub does), `uses` syntax.
#include <regex>
#include <set>

#include "base/strings.h"
#include "workflow/reader_internal.h"

namespace gantry::workflow::internal {
namespace {

std::string StepKey(std::string_view suffix) { return "jobs.<job_id>.steps." + std::string(suffix); }

// docker://image, ./local/path, or {owner}/{repo}[/path]@ref.
bool ValidUses(const std::string& uses) {
  if (StartsWith(uses, "docker://")) return uses.size() > 9;
  if (StartsWith(uses, "./") || StartsWith(uses, ".\\")) return true;
  static const std::regex re("[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]*)?@[^@\\s]+");
  return std::regex_match(uses, re);
}

// GitHub's generated id: "__run", "__actions_checkout" (owner_repo, no ref),
// "__alpine_latest" (docker image with ':' as '_').
std::string GeneratedIdBase(const Step& step) {
  if (!step.uses) return "__run";
  std::string u = *step.uses;
  if (StartsWith(u, "docker://")) {
    u = u.substr(9);
  } else if (size_t at = u.find('@'); at != std::string::npos) {
    u = u.substr(0, at);
  }
  std::string id = "__";
  for (char c : u) id += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return id;
}

}  // namespace

void ReadSteps(Reader& r, const YAML::Node& node, Job& job) {
  if (!r.ExpectSeq(node)) return;
  if (node.size() > r.options().max_steps_per_job) {
    r.Error(node, "Too many steps: " + std::to_string(node.size()) + " (the limit is " +
                      std::to_string(r.options().max_steps_per_job) + ")");
    return;
  }
  std::set<std::string> ids;  // case-insensitive: lower-cased
  std::vector<size_t> generated;
  for (const auto& item : node) {
    if (!r.CountNode(item)) return;
    if (!r.ExpectMap(item)) continue;
    Step step;
    step.mark = Reader::MarkOf(item);
    step.condition = Text{"success()", step.mark, true};
    bool has_run = false, has_uses = false, has_with = false, has_run_only = false;
    for (const auto& kv : item) {
      if (!kv.first.IsScalar()) continue;
      const std::string& k = kv.first.Scalar();
      has_run |= k == "run";
      has_uses |= k == "uses";
      has_with |= k == "with";
      has_run_only |= k == "shell" || k == "working-directory";
    }
    if (has_run && has_uses) {
      r.Error(item, "A step may have 'run' or 'uses', not both");
    } else if (!has_run && !has_uses) {
      if (has_with) {
        r.Error(item, "Required property is missing: uses");
      } else if (has_run_only) {
        r.Error(item, "Required property is missing: run");
      } else {
        r.Error(item,
                "There's not enough info to determine what you meant. Add one of these properties: run, shell, "
                "uses, with, working-directory");
      }
    }
    static const std::vector<std::string_view> run_keys = {
        "id", "name", "if", "run", "shell", "working-directory", "env", "continue-on-error", "timeout-minutes"};
    static const std::vector<std::string_view> uses_keys = {
        "id", "name", "if", "uses", "with", "env", "continue-on-error", "timeout-minutes"};
    Mark id_mark;
    r.ForEachKey(item, has_uses ? uses_keys : run_keys,
                 [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
                   if (k == "id") {
                     if (auto t = r.ReadText(v, "", ExprUse::kNone)) {
                       step.id = t->value;
                       id_mark = t->mark;
                     }
                   } else if (k == "name") {
                     step.name = r.ReadText(v, StepKey("name"), ExprUse::kTemplate);
                   } else if (k == "if") {
                     if (auto t = r.ReadText(v, StepKey("if"), ExprUse::kCondition)) step.condition = *t;
                   } else if (k == "run") {
                     step.run = r.ReadText(v, StepKey("run"), ExprUse::kTemplate);
                   } else if (k == "shell") {
                     step.shell = r.ReadText(v, "", ExprUse::kNone);
                   } else if (k == "working-directory") {
                     step.working_directory = r.ReadText(v, StepKey("working-directory"), ExprUse::kTemplate);
                   } else if (k == "uses") {
                     if (auto t = r.ReadText(v, "", ExprUse::kNone)) {
                       if (!ValidUses(t->value)) {
                         r.Error(t->mark, "Expected format {org}/{repo}[/path]@ref. Actual '" + t->value + "'");
                       } else {
                         step.uses = t->value;
                       }
                     }
                   } else if (k == "with") {
                     step.with = r.ReadTextMap(v, StepKey("with"));
                   } else if (k == "env") {
                     step.env = r.ReadTextMap(v, StepKey("env"));
                   } else if (k == "continue-on-error") {
                     step.continue_on_error = r.ReadBoolOrExpr(v, StepKey("continue-on-error"));
                   } else if (k == "timeout-minutes") {
                     step.timeout_minutes = r.ReadNumberOrExpr(v, StepKey("timeout-minutes"));
                   }
                 });
    if (!step.id.empty()) {
      if (StartsWith(step.id, "__")) {
        r.Error(id_mark, "The identifier '" + step.id + "' is invalid. IDs starting with '__' are reserved.");
      } else if (!IsValidId(step.id)) {
        r.Error(id_mark, "The identifier '" + step.id +
                             "' is invalid. IDs may only contain alphanumeric characters, '_', and '-'. IDs must "
                             "start with a letter or '_' and and must be less than 100 characters.");
      } else if (!ids.insert(ToLower(step.id)).second) {
        r.Error(id_mark, "The identifier '" + step.id + "' may not be used more than once within the same scope.");
      }
    } else {
      generated.push_back(job.steps.size());
    }
    job.steps.push_back(std::move(step));
  }
  // Generated ids after the explicit ones, so they never take an id the user chose.
  for (size_t i : generated) {
    Step& step = job.steps[i];
    std::string base = GeneratedIdBase(step);
    std::string id = base;
    for (int n = 2; ids.count(ToLower(id)) != 0; ++n) id = base + "_" + std::to_string(n);
    ids.insert(ToLower(id));
    step.id = id;
    step.id_generated = true;
  }
}

}  // namespace gantry::workflow::internal
