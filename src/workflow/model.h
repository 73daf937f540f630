// The typed model of a GitHub Actions workflow, as read from YAML by workflow/reader.h.
//
// Everything that may hold an expression (`${{ }}` templates, `if:` conditions) is kept as
// source text with its file position (`Text`), already checked for syntax and for the
// contexts available at that key; the engine and the runner evaluate it when they run.
// Plain YAML data (matrix values, `with:` scalars, input defaults) is kept as `Literal`.
// This header is deliberately free of yaml-cpp and of the expression library.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gantry::workflow {

// 1-based line and column in the workflow file; 0 when the value was not read from a file
// (defaults such as the implicit `success()` condition).
struct Mark {
  int line = 0;
  int column = 0;
};

// A string from the file. `has_expression` is true when it contains `${{` (or, for `if:`,
// always: a condition is an expression even without the braces).
struct Text {
  std::string value;
  Mark mark;
  bool has_expression = false;
};

struct LiteralMember;

// A plain YAML value (after GitHub's YAML schema: null, bool, number, string, sequence,
// mapping with string keys in file order).
struct Literal {
  enum class Kind { kNull, kBool, kNumber, kString, kSequence, kMapping };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;                  // kString; for kNumber the source spelling (e.g. "3.10" stays "3.10")
  std::vector<Literal> items;          // kSequence
  std::vector<LiteralMember> members;  // kMapping, in file order
  Mark mark;
  // Scalars as GitHub coerces them to strings ("true", "3.10", ""); JSON for collections.
  std::string ToString() const;
  const Literal* Find(const std::string& key) const;  // kMapping only
  bool operator==(const Literal& other) const;        // deep, ignores marks
};

// A `key: value` of a mapping Literal (a struct, not std::pair, so Literal can hold a vector
// of them while still incomplete).
struct LiteralMember {
  std::string key;
  Literal value;
  bool operator==(const LiteralMember& other) const { return key == other.key && value == other.value; }
};

// An ordered `name: value` mapping whose values may hold expressions (env, with, outputs).
using TextMap = std::vector<std::pair<std::string, Text>>;

// GitHub's `${{ insert }}` directive: an entry of a TextMap (or a member of a mapping Literal)
// under this key holds an expression whose value, a mapping, is merged into the surrounding
// mapping when it is evaluated (later keys win). A whole-mapping expression (`env: ${{ x }}`)
// is read as one such entry. No ordinary key can equal it (keys with `${{` are rejected).
inline constexpr const char kInsertKey[] = "${{ insert }}";

// ---- triggers (`on:`) ----------------------------------------------------------------------

// Filters of push / pull_request / pull_request_target. Absent (nullopt) differs from empty.
struct RefFilter {
  std::optional<std::vector<std::string>> branches, branches_ignore;
  std::optional<std::vector<std::string>> tags, tags_ignore;
  std::optional<std::vector<std::string>> paths, paths_ignore;
};

// workflow_dispatch / workflow_call input.
struct Input {
  std::string name;
  std::string description;
  std::string type = "string";  // string | boolean | number | choice | environment
  bool required = false;
  std::optional<Literal> default_value;
  std::vector<std::string> options;  // choice
  Mark mark;
};

struct CallOutput {
  std::string name;
  std::string description;
  Text value;
};

struct CallSecret {
  std::string name;
  std::string description;
  bool required = false;
};

// One event under `on:`. Only the parts of the struct that apply to `event` are filled.
struct Trigger {
  std::string event;  // "push", "pull_request", "workflow_dispatch", "schedule", ...
  Mark mark;
  RefFilter filter;                    // push, pull_request, pull_request_target
  std::vector<std::string> types;      // activity types (pull_request: opened, synchronize...)
  std::vector<Input> inputs;           // workflow_dispatch, workflow_call
  std::vector<CallOutput> outputs;     // workflow_call
  std::vector<CallSecret> secrets;     // workflow_call
  std::vector<std::string> crons;      // schedule
  std::vector<std::string> workflows;  // workflow_run
};

// ---- shared pieces ---------------------------------------------------------------------------

struct RunDefaults {
  std::optional<Text> shell;
  std::optional<Text> working_directory;
};

struct Concurrency {
  Text group;
  std::optional<Text> cancel_in_progress;  // "true"/"false" or an expression
  Mark mark;
};

// `permissions:` is accepted and kept (scope -> read|write|none; or all = read-all|write-all).
struct Permissions {
  std::optional<std::string> all;
  std::map<std::string, std::string> scopes;
  Mark mark;
};

struct Container {
  Text image;
  std::optional<TextMap> credentials;  // username, password
  TextMap env;
  std::vector<Text> ports;
  std::vector<Text> volumes;
  std::optional<Text> options;
  Mark mark;
};

struct Environment {
  Text name;
  std::optional<Text> url;
};

// ---- jobs and steps --------------------------------------------------------------------------

struct Step {
  std::string id;  // as written, or generated as GitHub does ("__run", "__actions_checkout_2")
  bool id_generated = false;
  std::optional<Text> name;
  Text condition;  // `if:`; "success()" when absent
  std::optional<Text> run;
  std::optional<Text> shell;
  std::optional<Text> working_directory;
  std::optional<std::string> uses;  // "actions/checkout@v4", "./path", "docker://image"
  TextMap with;
  TextMap env;
  std::optional<Text> continue_on_error;  // "true"/"false" or an expression
  std::optional<Text> timeout_minutes;    // a number or an expression
  // Background steps (GitHub preview): `background: true` on a run/uses step, and the control
  // steps `wait: [ids]`, `wait-all:`, `cancel: id` (which have neither run nor uses).
  bool background = false;
  std::vector<std::string> wait;
  bool wait_all = false;
  std::optional<std::string> cancel;
  Mark mark;
};

struct Strategy {
  // Either a static matrix or an expression producing one (e.g. fromJSON(needs.x.outputs.m)).
  std::optional<Text> matrix_expression;
  // Static dimensions in file order: key -> values. A value list may itself be an expression
  // (`os: ${{ fromJSON(...) }}`): then `dimension_expressions` holds it.
  std::vector<std::pair<std::string, std::vector<Literal>>> dimensions;
  // A dimension, `include` or `exclude` given as one expression; "include"/"exclude" are keys
  // here like any dimension.
  std::vector<std::pair<std::string, Text>> dimension_expressions;
  std::vector<Literal> include;  // each a kMapping
  std::vector<Literal> exclude;  // each a kMapping
  bool has_matrix = false;
  std::optional<Text> fail_fast;     // default true
  std::optional<Text> max_parallel;  // a positive number or an expression
  Mark mark;
};

struct Job {
  std::string id;
  Mark mark;                 // of the job id key
  std::optional<Text> name;  // may hold matrix expressions
  std::vector<std::string> needs;
  std::vector<Mark> needs_marks;  // parallel to `needs`
  Text condition;                 // `if:`; "success()" when absent
  std::vector<Text> runs_on;      // labels (one entry when a string / expression)
  std::optional<Text> runs_on_group;
  TextMap env;
  RunDefaults defaults;
  std::optional<Strategy> strategy;
  TextMap outputs;
  std::optional<Text> timeout_minutes;  // default 360
  std::optional<Text> continue_on_error;
  std::optional<Environment> environment;
  std::optional<Concurrency> concurrency;
  std::optional<Permissions> permissions;
  std::optional<Container> container;
  std::vector<std::pair<std::string, Container>> services;
  std::vector<Step> steps;
  // Reusable-workflow call (`uses:` on the job). `called` is the called workflow, read and
  // checked against `with`/`secrets` when the reader could load it (ReadOptions).
  std::optional<std::string> uses;
  Mark uses_mark;
  TextMap with;
  TextMap secrets;
  bool secrets_inherit = false;
  std::shared_ptr<const struct Workflow> called;
};

struct Workflow {
  std::string file;  // the path it was read from, for messages
  std::optional<Text> name;
  std::optional<Text> run_name;
  std::vector<Trigger> on;
  TextMap env;
  RunDefaults defaults;
  std::optional<Permissions> permissions;
  std::optional<Concurrency> concurrency;
  std::vector<Job> jobs;  // file order

  const Trigger* FindTrigger(const std::string& event) const;
  const Job* FindJob(const std::string& id) const;
  // The name shown to users: `name:` or the file path.
  std::string DisplayName() const;
};

}  // namespace gantry::workflow
