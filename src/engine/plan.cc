// Plan: the needs-DAG of one workflow in topological order, with static matrices expanded.
#include <map>
#include <set>

#include "engine/engine.h"

namespace gantry::engine {

std::vector<expr::Value> FilterMatrix(std::vector<expr::Value> combos,
                                      const std::vector<std::pair<std::string, std::string>>& filter) {
  if (filter.empty()) return combos;
  std::vector<expr::Value> out;
  for (auto& c : combos) {
    bool keep = true;
    for (const auto& [k, v] : filter) {
      const expr::Value* have = c.Find(k);
      if (have && have->ToDisplayString() != v) keep = false;
    }
    if (keep) out.push_back(std::move(c));
  }
  return out;
}

Result<Plan> PlanWorkflow(const workflow::Workflow& wf, const PlanOptions& options) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < wf.jobs.size(); ++i) index.emplace(wf.jobs[i].id, i);

  // -j: the selected jobs and everything they need, transitively.
  std::vector<char> selected(wf.jobs.size(), options.only_jobs.empty() ? 1 : 0);
  std::vector<size_t> stack;
  for (const std::string& id : options.only_jobs) {
    auto it = index.find(id);
    if (it == index.end()) return Result<Plan>::Error("no job '" + id + "' in " + wf.file);
    stack.push_back(it->second);
  }
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    if (selected[i]) continue;
    selected[i] = 1;
    for (const std::string& need : wf.jobs[i].needs) {
      auto it = index.find(need);
      if (it != index.end()) stack.push_back(it->second);
    }
  }

  // Kahn's algorithm, taking ready jobs in file order so plans are stable.
  std::vector<size_t> order;
  std::vector<char> placed(wf.jobs.size(), 0);
  size_t wanted = 0;
  for (char s : selected) wanted += s;
  while (order.size() < wanted) {
    bool progress = false;
    for (size_t i = 0; i < wf.jobs.size(); ++i) {
      if (!selected[i] || placed[i]) continue;
      bool ready = true;
      for (const std::string& need : wf.jobs[i].needs) {
        auto it = index.find(need);
        if (it == index.end())
          return Result<Plan>::Error("job '" + wf.jobs[i].id + "' needs unknown job '" + need + "'");
        if (!placed[it->second]) ready = false;
      }
      if (!ready) continue;
      placed[i] = 1;
      order.push_back(i);
      progress = true;
    }
    if (!progress) return Result<Plan>::Error("the needs of the jobs in " + wf.file + " form a cycle");
  }

  Plan plan;
  plan.workflow = &wf;
  plan.matrix_filter = options.matrix_filter;
  std::map<size_t, size_t> position;  // job index -> plan index
  for (size_t i : order) {
    PlannedJob pj;
    pj.job = &wf.jobs[i];
    for (const std::string& need : wf.jobs[i].needs) pj.needs.push_back(position.at(index.at(need)));
    if (pj.job->strategy && pj.job->strategy->has_matrix) {
      if (std::optional<expr::Value> m = StaticMatrix(*pj.job->strategy)) {
        Result<std::vector<expr::Value>> combos = ExpandMatrix(*m);
        if (!combos.ok()) {
          return Result<Plan>::Error(wf.file + ":" + std::to_string(pj.job->strategy->mark.line) + ":" +
                                     std::to_string(pj.job->strategy->mark.column) + ": job '" + pj.job->id +
                                     "': " + combos.error());
        }
        pj.matrix = FilterMatrix(std::move(*combos), options.matrix_filter);
      } else {
        pj.matrix_deferred = true;
      }
    }
    position[i] = plan.jobs.size();
    plan.jobs.push_back(std::move(pj));
  }
  return plan;
}

}  // namespace gantry::engine
