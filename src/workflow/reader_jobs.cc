// `jobs:` — jobs, strategy/matrix, containers and services, environment.
#include <set>

#include "base/strings.h"
#include "expr/expr.h"
#include "workflow/reader_internal.h"

namespace gantry::workflow::internal {

void ReadSteps(Reader& r, const YAML::Node& node, Job& job);  // reader_steps.cc

namespace {

const char* kIdFormat =
    "IDs may only contain alphanumeric characters, '_', and '-'. IDs must start with a letter or '_' and and "
    "must be less than 100 characters.";

std::string JobKey(std::string_view suffix) { return "jobs.<job_id>." + std::string(suffix); }

void ReadStrategy(Reader& r, const YAML::Node& node, Job& job) {
  Strategy s;
  s.mark = Reader::MarkOf(node);
  if (node.IsScalar() && expr::ContainsExpression(node.Scalar())) {
    r.Error(node, "An expression for the whole strategy is not supported; use matrix: ${{ ... }}");
    return;
  }
  if (!r.ExpectMap(node)) return;
  r.ForEachKey(
      node, {"matrix", "fail-fast", "max-parallel"}, [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
        if (k == "fail-fast") {
          s.fail_fast = r.ReadBoolOrExpr(v, JobKey("strategy"));
        } else if (k == "max-parallel") {
          s.max_parallel = r.ReadNumberOrExpr(v, JobKey("strategy"));
        } else {
          s.has_matrix = true;
          if (v.IsScalar() && expr::ContainsExpression(v.Scalar())) {
            s.matrix_expression = r.ReadText(v, JobKey("strategy"), ExprUse::kTemplate);
            return;
          }
          if (!r.ExpectMap(v)) return;
          r.ForEachKey(v, {}, [&](const std::string& dim, const YAML::Node& dim_key, const YAML::Node& values) {
            if (dim == "include" || dim == "exclude") {
              std::vector<Literal>& list = dim == "include" ? s.include : s.exclude;
              if (values.IsScalar() && expr::ContainsExpression(values.Scalar())) {
                if (auto t = r.ReadText(values, JobKey("strategy"), ExprUse::kTemplate)) {
                  s.dimension_expressions.emplace_back(dim, std::move(*t));
                }
                return;
              }
              if (!r.ExpectSeq(values)) return;
              for (const auto& item : values) {
                if (!r.ExpectMap(item)) continue;
                if (auto lit = r.ReadLiteral(item, 0, JobKey("strategy"))) list.push_back(std::move(*lit));
              }
              return;
            }
            if (values.IsScalar() && expr::ContainsExpression(values.Scalar())) {
              if (auto t = r.ReadText(values, JobKey("strategy"), ExprUse::kTemplate)) {
                s.dimension_expressions.emplace_back(dim, std::move(*t));
              }
              return;
            }
            if (!values.IsSequence()) {
              r.Error(dim_key, "Unexpected value '" + dim + "'");
              return;
            }
            if (values.size() == 0) {
              r.Error(values, "Matrix vector '" + dim + "' does not contain any values");
              return;
            }
            std::vector<Literal> items;
            for (const auto& item : values) {
              if (auto lit = r.ReadLiteral(item, 0, JobKey("strategy"))) items.push_back(std::move(*lit));
            }
            s.dimensions.emplace_back(dim, std::move(items));
          });
        }
      });
  job.strategy = std::move(s);
}

// `key` names the container's own values (image, ports, options); `base` prefixes the keys of
// its credentials and env ("jobs.<job_id>.services.<service_id>").
Container ReadContainer(Reader& r, const YAML::Node& node, std::string_view key, std::string_view image_key,
                        const std::string& base) {
  Container c;
  c.mark = Reader::MarkOf(node);
  if (node.IsScalar()) {
    if (auto t = r.ReadText(node, image_key, ExprUse::kTemplate)) c.image = *t;
    if (c.image.value.empty()) r.Error(node, "Container image cannot be empty");
    return c;
  }
  if (!r.ExpectMap(node)) return c;
  bool has_image = false;
  r.ForEachKey(node, {"image", "credentials", "env", "ports", "volumes", "options"},
               [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
                 if (k == "image") {
                   has_image = true;
                   if (auto t = r.ReadText(v, image_key, ExprUse::kTemplate)) c.image = *t;
                   if (c.image.value.empty()) r.Error(v, "Container image cannot be empty");
                 } else if (k == "credentials") {
                   if (!r.ExpectMap(v)) return;
                   TextMap creds;
                   r.ForEachKey(v, {"username", "password"},
                                [&](const std::string& ck, const YAML::Node&, const YAML::Node& cv) {
                                  if (auto t = r.ReadText(cv, base + ".credentials", ExprUse::kTemplate)) {
                                    creds.emplace_back(ck, *t);
                                  }
                                });
                   c.credentials = std::move(creds);
                 } else if (k == "env") {
                   c.env = r.ReadTextMap(v, base + ".env.<env_id>");
                 } else if (k == "ports" || k == "volumes") {
                   if (!r.ExpectSeq(v)) return;
                   for (const auto& item : v) {
                     if (auto t = r.ReadText(item, key, ExprUse::kTemplate)) {
                       (k == "ports" ? c.ports : c.volumes).push_back(*t);
                     }
                   }
                 } else {
                   c.options = r.ReadText(v, key, ExprUse::kTemplate);
                 }
               });
  if (!has_image) r.Error(node, "Container image cannot be empty");
  return c;
}

void ReadRunsOn(Reader& r, const YAML::Node& v, Job& job) {
  const std::string key = JobKey("runs-on");
  if (v.IsSequence()) {
    for (const auto& item : v) {
      if (auto t = r.ReadText(item, key, ExprUse::kTemplate)) job.runs_on.push_back(*t);
    }
    return;
  }
  if (v.IsMap()) {
    r.ForEachKey(v, {"group", "labels"}, [&](const std::string& k, const YAML::Node&, const YAML::Node& gv) {
      if (k == "group") {
        job.runs_on_group = r.ReadText(gv, key, ExprUse::kTemplate);
        if (job.runs_on_group && !job.runs_on_group->has_expression) {
          const std::string& g = job.runs_on_group->value;
          size_t slash = g.find('/');
          if (slash != std::string::npos) {
            std::string prefix = g.substr(0, slash);
            bool known = prefix == "organization" || prefix == "enterprise" || prefix == "org" || prefix == "ent";
            if (slash + 1 == g.size()) {
              r.Error(gv, "Invalid runs-on group name '" + g + "'.");
            } else if (!known || g.find('/', slash + 1) != std::string::npos) {
              r.Error(gv, "Invalid runs-on group name '" + g +
                              "'. Please use 'organization/' or 'enterprise/' prefix to target a single runner "
                              "group.");
            }
          }
        }
      } else if (gv.IsSequence()) {
        for (const auto& item : gv) {
          if (auto t = r.ReadText(item, key, ExprUse::kTemplate)) job.runs_on.push_back(*t);
        }
      } else if (auto t = r.ReadText(gv, key, ExprUse::kTemplate)) {
        job.runs_on.push_back(*t);
      }
    });
    return;
  }
  if (auto t = r.ReadText(v, key, ExprUse::kTemplate)) job.runs_on.push_back(*t);
}

void ReadJob(Reader& r, const std::string& id, const YAML::Node& key_node, const YAML::Node& node, Workflow& wf) {
  Job job;
  job.id = id;
  job.mark = Reader::MarkOf(key_node);
  job.condition = Text{"success()", job.mark, true};
  if (id.empty()) {
    r.Error(key_node, "Unexpected value ''");
  } else if (id.rfind("__", 0) == 0) {
    r.Error(key_node, "The identifier '" + id + "' is invalid. IDs starting with '__' are reserved.");
  } else if (!IsValidId(id)) {
    r.Error(key_node, "The identifier '" + id + "' is invalid. " + kIdFormat);
  }
  if (!r.ExpectMap(node)) return;
  bool has_uses = false, has_runs_on = false, has_steps = false;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    has_uses |= kv.first.Scalar() == "uses";
    has_runs_on |= kv.first.Scalar() == "runs-on";
    has_steps |= kv.first.Scalar() == "steps";
  }
  static const std::vector<std::string_view> normal = {"name",
                                                       "needs",
                                                       "if",
                                                       "runs-on",
                                                       "env",
                                                       "defaults",
                                                       "strategy",
                                                       "outputs",
                                                       "steps",
                                                       "timeout-minutes",
                                                       "continue-on-error",
                                                       "environment",
                                                       "concurrency",
                                                       "permissions",
                                                       "container",
                                                       "services",
                                                       "cancel-timeout-minutes",
                                                       "snapshot"};
  static const std::vector<std::string_view> call = {
      "name", "needs", "if", "uses", "with", "secrets", "strategy", "concurrency", "permissions", "continue-on-error"};
  if (has_uses && !has_runs_on) {
    // A reusable-workflow call.
  } else if (!has_runs_on) {
    r.Error(node, "Required property is missing: runs-on");
  }
  r.ForEachKey(
      node, has_uses && !has_runs_on ? call : normal,
      [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) {
        if (k == "name") {
          job.name = r.ReadText(v, JobKey("name"), ExprUse::kTemplate);
        } else if (k == "needs") {
          if (v.IsSequence()) {
            for (const auto& item : v) {
              if (auto t = r.ReadText(item, "", ExprUse::kNone)) {
                job.needs.push_back(t->value);
                job.needs_marks.push_back(t->mark);
              }
            }
          } else if (auto t = r.ReadText(v, "", ExprUse::kNone)) {
            job.needs.push_back(t->value);
            job.needs_marks.push_back(t->mark);
          }
        } else if (k == "if") {
          if (auto t = r.ReadText(v, JobKey("if"), ExprUse::kCondition)) job.condition = *t;
        } else if (k == "runs-on") {
          ReadRunsOn(r, v, job);
        } else if (k == "env") {
          job.env = r.ReadTextMap(v, JobKey("env"));
        } else if (k == "defaults") {
          if (!r.ExpectMap(v)) return;
          r.ForEachKey(v, {"run"}, [&](const std::string&, const YAML::Node&, const YAML::Node& run) {
            ReadRunDefaults(r, run, JobKey("defaults.run"), job.defaults);
          });
        } else if (k == "strategy") {
          ReadStrategy(r, v, job);
        } else if (k == "outputs") {
          job.outputs = r.ReadTextMap(v, JobKey("outputs.<output_id>"));
        } else if (k == "timeout-minutes") {
          job.timeout_minutes = r.ReadNumberOrExpr(v, JobKey("timeout-minutes"));
        } else if (k == "cancel-timeout-minutes") {
          r.ReadNumberOrExpr(v, JobKey("timeout-minutes"));
        } else if (k == "continue-on-error") {
          job.continue_on_error = r.ReadBoolOrExpr(v, JobKey("continue-on-error"));
        } else if (k == "environment") {
          Environment env;
          if (v.IsMap()) {
            r.Require(v, "name");
            r.ForEachKey(v, {"name", "url", "deployment"},
                         [&](const std::string& ek, const YAML::Node&, const YAML::Node& ev) {
                           if (ek == "name") {
                             if (auto t = r.ReadText(ev, JobKey("environment"), ExprUse::kTemplate)) env.name = *t;
                           } else if (ek == "url") {
                             env.url = r.ReadText(ev, JobKey("environment.url"), ExprUse::kTemplate);
                           } else {
                             r.ReadBoolOrExpr(ev, JobKey("environment"));
                           }
                         });
          } else if (auto t = r.ReadText(v, JobKey("environment"), ExprUse::kTemplate)) {
            env.name = *t;
          }
          job.environment = std::move(env);
        } else if (k == "concurrency") {
          ReadConcurrency(r, v, JobKey("concurrency"), job.concurrency);
        } else if (k == "permissions") {
          ReadPermissions(r, v, job.permissions);
        } else if (k == "container") {
          job.container = ReadContainer(r, v, JobKey("container"), JobKey("container.image"), JobKey("container"));
        } else if (k == "services") {
          if (!r.ExpectMap(v)) return;
          r.ForEachKey(v, {}, [&](const std::string& name, const YAML::Node&, const YAML::Node& sv) {
            job.services.emplace_back(
                name, ReadContainer(r, sv, JobKey("services"), JobKey("services"), JobKey("services.<service_id>")));
          });
        } else if (k == "steps") {
          ReadSteps(r, v, job);
        } else if (k == "snapshot") {
          // Custom-image snapshots are a GitHub-hosted feature: accepted and ignored.
        } else if (k == "uses") {
          if (auto t = r.ReadText(v, "", ExprUse::kNone)) {
            job.uses = t->value;
            job.uses_mark = t->mark;
          }
        } else if (k == "with") {
          job.with = r.ReadTextMap(v, JobKey("with.<with_id>"));
        } else if (k == "secrets") {
          if (v.IsScalar() && v.Scalar() == "inherit") {
            job.secrets_inherit = true;
          } else if (v.IsScalar()) {
            r.Error(v, "Unexpected value '" + v.Scalar() + "'");
          } else {
            job.secrets = r.ReadTextMap(v, JobKey("secrets.<secrets_id>"));
          }
        }
        (void)kn;
      });
  if (!job.uses && !has_steps && has_runs_on) r.Error(node, "Required property is missing: steps");
  if (job.uses && !has_runs_on) ReadCalledWorkflow(r, job);
  wf.jobs.push_back(std::move(job));
}

}  // namespace

void ReadRunDefaults(Reader& r, const YAML::Node& node, std::string_view key, RunDefaults& out) {
  if (!r.ExpectMap(node)) return;
  r.ForEachKey(node, {"shell", "working-directory"}, [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
    // Workflow-level defaults.run may not use expressions; job-level may use the key's contexts.
    ExprUse use = key.empty() ? ExprUse::kNone : ExprUse::kTemplate;
    if (k == "shell") {
      out.shell = r.ReadText(v, key, use);
    } else {
      out.working_directory = r.ReadText(v, key, use);
    }
  });
}

void ReadConcurrency(Reader& r, const YAML::Node& node, std::string_view key, std::optional<Concurrency>& out) {
  Concurrency c;
  c.mark = Reader::MarkOf(node);
  if (node.IsScalar()) {
    if (auto t = r.ReadText(node, key, ExprUse::kTemplate)) c.group = *t;
    out = std::move(c);
    return;
  }
  if (!r.ExpectMap(node)) return;
  r.Require(node, "group");
  r.ForEachKey(node, {"group", "cancel-in-progress"},
               [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
                 if (k == "group") {
                   if (auto t = r.ReadText(v, key, ExprUse::kTemplate)) c.group = *t;
                 } else {
                   c.cancel_in_progress = r.ReadBoolOrExpr(v, key);
                 }
               });
  out = std::move(c);
}

void ReadPermissions(Reader& r, const YAML::Node& node, std::optional<Permissions>& out) {
  static const std::set<std::string, std::less<>> kScopes = {
      "actions", "attestations", "checks",   "contents", "deployments",   "discussions",         "id-token",
      "issues",  "models",       "packages", "pages",    "pull-requests", "repository-projects", "security-events",
      "statuses"};
  Permissions p;
  p.mark = Reader::MarkOf(node);
  if (node.IsScalar()) {
    auto s = r.String(node);
    if (!s) return;
    if (*s != "read-all" && *s != "write-all") {
      r.Error(node, "Unexpected value '" + *s + "'");
      return;
    }
    p.all = *s;
    out = std::move(p);
    return;
  }
  if (Reader::IsNull(node)) {
    out = std::move(p);
    return;
  }
  if (!r.ExpectMap(node)) return;
  r.ForEachKey(node, {}, [&](const std::string& scope, const YAML::Node& key, const YAML::Node& v) {
    if (kScopes.count(scope) == 0) {
      r.Error(key, "Unexpected value '" + scope + "'");
      return;
    }
    auto s = r.String(v);
    if (!s) return;
    bool ok = *s == "read" || *s == "write" || *s == "none";
    if (scope == "models" || scope == "id-token") ok = ok && true;
    if (!ok) {
      r.Error(v, "Unexpected value '" + *s + "'");
      return;
    }
    p.scopes[scope] = *s;
  });
  out = std::move(p);
}

void ReadJobs(Reader& r, const YAML::Node& jobs, Workflow& wf) {
  if (jobs.IsScalar() && expr::ContainsExpression(jobs.Scalar())) {
    r.Error(jobs, "A template expression is not allowed in this context");
    return;
  }
  if (Reader::IsNull(jobs) || (jobs.IsMap() && jobs.size() == 0)) {
    r.Error(jobs, "The workflow must contain at least one job with no dependencies.");
    return;
  }
  if (!r.ExpectMap(jobs)) return;
  if (jobs.size() > r.options().max_jobs) {
    r.Error(jobs, "Too many jobs: " + std::to_string(jobs.size()) + " (the limit is " +
                      std::to_string(r.options().max_jobs) + ")");
    return;
  }
  std::set<std::string> lower_ids;
  r.ForEachKey(jobs, {}, [&](const std::string& id, const YAML::Node& key, const YAML::Node& job) {
    // Job ids are case-insensitive on GitHub (needs: Build finds build).
    if (!lower_ids.insert(ToLower(id)).second) {
      r.Error(key, "'" + id + "' is already defined");
      return;
    }
    ReadJob(r, id, key, job, wf);
  });
}

}  // namespace gantry::workflow::internal
