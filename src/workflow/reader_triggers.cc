// `on:` — events and their filters, workflow_dispatch / workflow_call inputs, schedules.
#include <set>

#include "workflow/reader_internal.h"

namespace gantry::workflow::internal {
namespace {

const std::set<std::string, std::less<>>& KnownEvents() {
  static const std::set<std::string, std::less<>> kEvents = {"branch_protection_rule",
                                                             "check_run",
                                                             "check_suite",
                                                             "create",
                                                             "delete",
                                                             "deployment",
                                                             "deployment_status",
                                                             "discussion",
                                                             "discussion_comment",
                                                             "fork",
                                                             "gollum",
                                                             "image_version",
                                                             "issue_comment",
                                                             "issues",
                                                             "label",
                                                             "merge_group",
                                                             "milestone",
                                                             "page_build",
                                                             "project",
                                                             "project_card",
                                                             "project_column",
                                                             "public",
                                                             "pull_request",
                                                             "pull_request_review",
                                                             "pull_request_review_comment",
                                                             "pull_request_target",
                                                             "push",
                                                             "registry_package",
                                                             "release",
                                                             "repository_dispatch",
                                                             "schedule",
                                                             "status",
                                                             "watch",
                                                             "workflow_call",
                                                             "workflow_dispatch",
                                                             "workflow_run"};
  return kEvents;
}

bool HasRefFilters(std::string_view event) {
  return event == "push" || event == "pull_request" || event == "pull_request_target" || event == "merge_group";
}

void ReadFilterList(Reader& r, const YAML::Node& node, std::optional<std::vector<std::string>>& out) {
  if (Reader::IsNull(node)) {
    out = std::vector<std::string>{};
    return;
  }
  if (node.IsMap()) {
    r.Error(node, "A mapping was not expected");
    return;
  }
  if (auto list = r.StringList(node)) out = std::move(*list);
}

void ReadInputs(Reader& r, const YAML::Node& node, bool is_call, std::vector<Input>& out) {
  if (Reader::IsNull(node) || !r.ExpectMap(node)) return;
  r.ForEachKey(node, {}, [&](const std::string& name, const YAML::Node& key, const YAML::Node& spec) {
    Input in;
    in.name = name;
    in.mark = Reader::MarkOf(key);
    if (!IsValidId(name)) r.Error(key, "The identifier '" + name + "' is invalid.");
    if (!Reader::IsNull(spec) && r.ExpectMap(spec)) {
      if (is_call) r.Require(spec, "type");
      static const std::vector<std::string_view> kCallKeys = {"description", "required", "type", "default"};
      static const std::vector<std::string_view> kDispatchKeys = {"description", "required", "type",
                                                                  "default",     "options",  "deprecationMessage"};
      const std::vector<std::string_view>& known = is_call ? kCallKeys : kDispatchKeys;
      r.ForEachKey(spec, known, [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
        if (k == "description") {
          if (auto s = r.String(v)) in.description = *s;
        } else if (k == "required") {
          if (auto b = r.ReadBoolOrExpr(v, "")) in.required = b->value == "true";
        } else if (k == "type") {
          auto s = r.String(v);
          if (!s) return;
          static const std::set<std::string, std::less<>> kDispatch = {"string", "boolean", "number", "choice",
                                                                       "environment"};
          static const std::set<std::string, std::less<>> kCall = {"string", "boolean", "number"};
          if ((is_call ? kCall : kDispatch).count(*s) == 0) {
            r.Error(v, "Unexpected value '" + *s + "'");
          } else {
            in.type = *s;
          }
        } else if (k == "default") {
          if (is_call && v.IsScalar()) {
            r.ReadText(v, "on.workflow_call.inputs.<inputs_id>.default", ExprUse::kTemplate);
          }
          in.default_value = r.ReadLiteral(v);
        } else if (k == "options") {
          if (auto list = r.StringList(v)) in.options = std::move(*list);
        }
      });
    }
    out.push_back(std::move(in));
  });
}

void ReadEventConfig(Reader& r, const std::string& event, const YAML::Node& config, Trigger& t) {
  if (event == "schedule") {
    if (!r.ExpectSeq(config)) return;
    for (const auto& item : config) {
      if (!r.ExpectMap(item)) continue;
      r.Require(item, "cron");
      r.ForEachKey(item, {"cron"}, [&](const std::string&, const YAML::Node&, const YAML::Node& v) {
        if (auto s = r.String(v)) t.crons.push_back(*s);
      });
    }
    return;
  }
  if (Reader::IsNull(config)) return;
  if (event == "workflow_dispatch") {
    if (!r.ExpectMap(config)) return;
    r.ForEachKey(config, {"inputs"}, [&](const std::string&, const YAML::Node&, const YAML::Node& v) {
      ReadInputs(r, v, /*is_call=*/false, t.inputs);
    });
    return;
  }
  if (event == "workflow_call") {
    if (!r.ExpectMap(config)) return;
    r.ForEachKey(
        config, {"inputs", "outputs", "secrets"}, [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
          if (k == "inputs") {
            ReadInputs(r, v, /*is_call=*/true, t.inputs);
          } else if (k == "outputs") {
            if (Reader::IsNull(v) || !r.ExpectMap(v)) return;
            r.ForEachKey(v, {}, [&](const std::string& name, const YAML::Node&, const YAML::Node& spec) {
              CallOutput out;
              out.name = name;
              if (!r.ExpectMap(spec)) return;
              r.Require(spec, "value");
              r.ForEachKey(
                  spec, {"description", "value"}, [&](const std::string& sk, const YAML::Node&, const YAML::Node& sv) {
                    if (sk == "description") {
                      if (auto s = r.String(sv)) out.description = *s;
                    } else if (auto text =
                                   r.ReadText(sv, "on.workflow_call.outputs.<output_id>.value", ExprUse::kTemplate)) {
                      out.value = *text;
                    }
                  });
              t.outputs.push_back(std::move(out));
            });
          } else {
            if (Reader::IsNull(v) || !r.ExpectMap(v)) return;
            r.ForEachKey(v, {}, [&](const std::string& name, const YAML::Node&, const YAML::Node& spec) {
              CallSecret secret;
              secret.name = name;
              if (!Reader::IsNull(spec) && r.ExpectMap(spec)) {
                r.ForEachKey(spec, {"description", "required"},
                             [&](const std::string& sk, const YAML::Node&, const YAML::Node& sv) {
                               if (sk == "description") {
                                 if (auto s = r.String(sv)) secret.description = *s;
                               } else if (auto b = r.ReadBoolOrExpr(sv, "")) {
                                 secret.required = b->value == "true";
                               }
                             });
              }
              t.secrets.push_back(std::move(secret));
            });
          }
        });
    return;
  }
  if (!r.ExpectMap(config)) return;
  static const std::vector<std::string_view> kTypes = {"types"};
  static const std::vector<std::string_view> kRefs = {"types",       "branches", "branches-ignore", "tags",
                                                      "tags-ignore", "paths",    "paths-ignore"};
  static const std::vector<std::string_view> kRun = {"types", "workflows", "branches", "branches-ignore"};
  static const std::vector<std::string_view> kImage = {"types", "names", "versions"};
  const std::vector<std::string_view>& known = HasRefFilters(event)       ? kRefs
                                               : event == "workflow_run"  ? kRun
                                               : event == "image_version" ? kImage
                                                                          : kTypes;
  r.ForEachKey(config, known, [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
    RefFilter& f = t.filter;
    if (k == "types") {
      std::optional<std::vector<std::string>> list;
      ReadFilterList(r, v, list);
      if (list) t.types = std::move(*list);
    } else if (k == "branches") {
      ReadFilterList(r, v, f.branches);
    } else if (k == "branches-ignore") {
      ReadFilterList(r, v, f.branches_ignore);
    } else if (k == "tags") {
      ReadFilterList(r, v, f.tags);
    } else if (k == "tags-ignore") {
      ReadFilterList(r, v, f.tags_ignore);
    } else if (k == "paths") {
      ReadFilterList(r, v, f.paths);
    } else if (k == "paths-ignore") {
      ReadFilterList(r, v, f.paths_ignore);
    } else if (k == "workflows") {
      if (auto list = r.StringList(v)) t.workflows = std::move(*list);
    } else {
      r.StringList(v);  // image_version names/versions: checked, not used locally
    }
  });
}

}  // namespace

void ReadTriggers(Reader& r, const YAML::Node& on, Workflow& wf) {
  auto add_event = [&](const std::string& event, const YAML::Node& key_node) -> Trigger* {
    if (KnownEvents().count(event) == 0) {
      r.Error(key_node, "Unexpected value '" + event + "'");
      return nullptr;
    }
    Trigger t;
    t.event = event;
    t.mark = Reader::MarkOf(key_node);
    wf.on.push_back(std::move(t));
    return &wf.on.back();
  };
  if (on.IsScalar()) {
    if (auto text = r.ReadText(on, "", ExprUse::kNone)) add_event(text->value, on);
    return;
  }
  if (on.IsSequence()) {
    for (const auto& item : on) {
      if (auto text = r.ReadText(item, "", ExprUse::kNone)) add_event(text->value, item);
    }
    return;
  }
  if (!r.ExpectMap(on)) return;
  r.ForEachKey(on, {}, [&](const std::string& event, const YAML::Node& key, const YAML::Node& config) {
    if (Trigger* t = add_event(event, key)) {
      ReadEventConfig(r, event, config, *t);
      const RefFilter& f = t->filter;
      if (f.branches && f.branches_ignore) {
        r.Error(key, "'branches' and 'branches-ignore' cannot be used together for the same event");
      }
      if (f.tags && f.tags_ignore) r.Error(key, "'tags' and 'tags-ignore' cannot be used together for the same event");
      if (f.paths && f.paths_ignore) {
        r.Error(key, "'paths' and 'paths-ignore' cannot be used together for the same event");
      }
    }
  });
}

}  // namespace gantry::workflow::internal
