// Which contexts and special functions each workflow key may use, from GitHub's
// "Context availability" table.
#include "expr/expr.h"

namespace gantry::expr {

namespace {

using V = std::vector<std::string_view>;

const std::vector<KeyAvailability>& Table() {
  static const std::vector<KeyAvailability> kTable = [] {
    const V gv{"github", "inputs", "vars"};
    const V job_basic{"github", "needs", "strategy", "matrix", "vars", "inputs"};
    const V step_all{"github", "needs", "strategy", "matrix", "job",   "runner",
                     "env",    "vars",  "secrets",  "steps",  "inputs"};
    const V container_env{"github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "inputs"};
    const V credentials{"github", "needs", "strategy", "matrix", "env", "vars", "secrets", "inputs"};
    return std::vector<KeyAvailability>{
        {"run-name", gv},
        {"concurrency", gv},
        {"env", {"github", "secrets", "inputs", "vars"}},
        {"jobs.<job_id>.concurrency", job_basic},
        {"jobs.<job_id>.container", job_basic},
        {"jobs.<job_id>.container.credentials", credentials},
        {"jobs.<job_id>.container.env.<env_id>", container_env},
        {"jobs.<job_id>.container.image", job_basic},
        {"jobs.<job_id>.continue-on-error", job_basic},
        {"jobs.<job_id>.defaults.run", {"github", "needs", "strategy", "matrix", "env", "vars", "inputs"}},
        {"jobs.<job_id>.env", {"github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"}},
        {"jobs.<job_id>.environment", job_basic},
        {"jobs.<job_id>.environment.url",
         {"github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"}},
        {"jobs.<job_id>.if", {"github", "needs", "vars", "inputs"}, true, false},
        {"jobs.<job_id>.name", job_basic},
        {"jobs.<job_id>.outputs.<output_id>", step_all},
        {"jobs.<job_id>.runs-on", job_basic},
        {"jobs.<job_id>.secrets.<secrets_id>", {"github", "needs", "strategy", "matrix", "secrets", "inputs", "vars"}},
        {"jobs.<job_id>.services", job_basic},
        {"jobs.<job_id>.services.<service_id>.credentials", credentials},
        {"jobs.<job_id>.services.<service_id>.env.<env_id>", container_env},
        {"jobs.<job_id>.steps.continue-on-error", step_all, false, true},
        {"jobs.<job_id>.steps.env", step_all, false, true},
        {"jobs.<job_id>.steps.if",
         {"github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"},
         true,
         true},
        {"jobs.<job_id>.steps.name", step_all, false, true},
        {"jobs.<job_id>.steps.run", step_all, false, true},
        {"jobs.<job_id>.steps.timeout-minutes", step_all, false, true},
        {"jobs.<job_id>.steps.with", step_all, false, true},
        {"jobs.<job_id>.steps.working-directory", step_all, false, true},
        {"jobs.<job_id>.strategy", {"github", "needs", "vars", "inputs"}},
        {"jobs.<job_id>.timeout-minutes", job_basic},
        {"jobs.<job_id>.with.<with_id>", job_basic},
        {"on.workflow_call.inputs.<inputs_id>.default", gv},
        {"on.workflow_call.outputs.<output_id>.value", {"github", "jobs", "vars", "inputs"}},
    };
  }();
  return kTable;
}

}  // namespace

std::span<const KeyAvailability> AllKeyAvailability() { return Table(); }

const KeyAvailability* FindKeyAvailability(std::string_view workflow_key) {
  for (const auto& k : Table())
    if (k.key == workflow_key) return &k;
  return nullptr;
}

std::span<const std::string_view> AllowedContexts(std::string_view workflow_key) {
  const KeyAvailability* k = FindKeyAvailability(workflow_key);
  if (!k) return {};
  return k->contexts;
}

ParseOptions OptionsForKey(std::string_view workflow_key) {
  ParseOptions o;
  o.workflow_key = std::string(workflow_key);
  o.allowed_contexts.emplace();
  const KeyAvailability* k = FindKeyAvailability(workflow_key);
  o.allow_status_functions = k && k->status_functions;
  o.allow_hash_files = k && k->hash_files;
  o.status_functions_take_job_names = workflow_key == "jobs.<job_id>.if";
  if (k)
    for (auto c : k->contexts) o.allowed_contexts->emplace_back(c);
  return o;
}

}  // namespace gantry::expr
