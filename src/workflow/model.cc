// Small helpers of the workflow model (lookups, literal conversions).
#include "workflow/model.h"

#include <cmath>
#include <cstdio>

#include "expr/value.h"

namespace gantry::workflow {
namespace {

// JSON text of a string, escaped the way the expression library writes it.
std::string JsonString(const std::string& s) { return expr::Value::String(s).ToJson(false); }

std::string ToJson(const Literal& l) {
  switch (l.kind) {
    case Literal::Kind::kNull:
      return "null";
    case Literal::Kind::kBool:
      return l.boolean ? "true" : "false";
    case Literal::Kind::kNumber:
      return l.ToString();
    case Literal::Kind::kString:
      return JsonString(l.string);
    case Literal::Kind::kSequence: {
      std::string out = "[";
      for (size_t i = 0; i < l.items.size(); ++i) out += (i ? "," : "") + ToJson(l.items[i]);
      return out + "]";
    }
    case Literal::Kind::kMapping: {
      std::string out = "{";
      for (size_t i = 0; i < l.members.size(); ++i) {
        out += (i ? "," : "") + JsonString(l.members[i].key) + ":" + ToJson(l.members[i].value);
      }
      return out + "}";
    }
  }
  return "null";
}

}  // namespace

std::string Literal::ToString() const {
  switch (kind) {
    case Kind::kNull:
      return "";
    case Kind::kBool:
      return boolean ? "true" : "false";
    case Kind::kNumber: {
      if (!string.empty()) return string;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.15g", number);
      return buf;
    }
    case Kind::kString:
      return string;
    default:
      return ToJson(*this);
  }
}

const Literal* Literal::Find(const std::string& key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool Literal::operator==(const Literal& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return boolean == o.boolean;
    case Kind::kNumber:
      return number == o.number || (std::isnan(number) && std::isnan(o.number));
    case Kind::kString:
      return string == o.string;
    case Kind::kSequence:
      return items == o.items;
    case Kind::kMapping:
      return members == o.members;
  }
  return false;
}

const Trigger* Workflow::FindTrigger(const std::string& event) const {
  for (const Trigger& t : on) {
    if (t.event == event) return &t;
  }
  return nullptr;
}

const Job* Workflow::FindJob(const std::string& id) const {
  for (const Job& j : jobs) {
    if (j.id == id) return &j;
  }
  return nullptr;
}

std::string Workflow::DisplayName() const { return name && !name->value.empty() ? name->value : file; }

}  // namespace gantry::workflow
