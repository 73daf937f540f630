#include "monitor/alarm.h"

#include <cmath>

#include "base/strings.h"
#include "monitor/exposition.h"

namespace gantry::monitor {

const char* AlarmStateName(AlarmState s) {
  switch (s) {
    case AlarmState::kOk:
      return "OK";
    case AlarmState::kAlarm:
      return "ALARM";
    case AlarmState::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "?";
}

Result<Comparison> ParseComparison(std::string_view s) {
  if (s == ">" || s == "GreaterThanThreshold") return Comparison::kGreaterThan;
  if (s == ">=" || s == "GreaterThanOrEqualToThreshold") return Comparison::kGreaterOrEqual;
  if (s == "<" || s == "LessThanThreshold") return Comparison::kLessThan;
  if (s == "<=" || s == "LessThanOrEqualToThreshold") return Comparison::kLessOrEqual;
  return Result<Comparison>::Error("unknown comparison \"" + std::string(s.substr(0, 40)) +
                                   "\", expected >, >=, < or <=");
}

const char* ComparisonSymbol(Comparison c) {
  switch (c) {
    case Comparison::kGreaterThan:
      return ">";
    case Comparison::kGreaterOrEqual:
      return ">=";
    case Comparison::kLessThan:
      return "<";
    case Comparison::kLessOrEqual:
      return "<=";
  }
  return "?";
}

Result<MissingData> ParseMissingData(std::string_view s) {
  if (s == "missing") return MissingData::kMissing;
  if (s == "ignore") return MissingData::kIgnore;
  if (s == "breaching") return MissingData::kBreaching;
  if (s == "notBreaching" || s == "not_breaching") return MissingData::kNotBreaching;
  return Result<MissingData>::Error("unknown treat-missing-data \"" + std::string(s.substr(0, 40)) +
                                    "\", expected missing, ignore, breaching or notBreaching");
}

struct Alarms::Entry {
  std::optional<MetricAlarm> metric;
  std::optional<CompositeAlarm> composite;
  std::optional<AlarmRule> rule;
  AlarmState state = AlarmState::kInsufficientData;
  std::string reason = "not evaluated yet";
  int64_t since_ms = 0;

  const AlarmActions& actions() const { return metric ? metric->actions : composite->actions; }
};

Alarms::Alarms(const TimeSeriesStore* store, const Clock* clock)
    : store_(store), clock_(clock ? clock : &SystemClock::Get()) {}
Alarms::~Alarms() = default;

static Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 255) return Status::Error("alarm name must be 1 to 255 characters");
  return Status::Ok();
}

Status Alarms::Put(MetricAlarm alarm) {
  if (Status st = CheckName(alarm.name); !st.ok()) return st;
  std::string where = "alarm " + alarm.name + ": ";
  if (alarm.metric.empty()) return Status::Error(where + "metric is required");
  if (alarm.period_ms < 1000) return Status::Error(where + "period must be at least 1s");
  if (alarm.evaluation_periods < 1 || alarm.evaluation_periods > 1440) {
    return Status::Error(where + "evaluation periods must be between 1 and 1440");
  }
  if (alarm.datapoints_to_alarm == 0) alarm.datapoints_to_alarm = alarm.evaluation_periods;
  if (alarm.datapoints_to_alarm < 1 || alarm.datapoints_to_alarm > alarm.evaluation_periods) {
    return Status::Error(where + "datapoints to alarm must be between 1 and the evaluation periods");
  }
  if (!std::isfinite(alarm.threshold)) return Status::Error(where + "threshold must be a finite number");
  std::lock_guard lock(mu_);
  auto& e = alarms_[alarm.name];
  if (!e) e = std::make_unique<Entry>();
  e->composite.reset();
  e->rule.reset();
  e->metric = std::move(alarm);
  return Status::Ok();
}

Status Alarms::Put(CompositeAlarm alarm) {
  if (Status st = CheckName(alarm.name); !st.ok()) return st;
  auto rule = AlarmRule::Parse(alarm.rule, "alarm " + alarm.name + " rule");
  if (!rule.ok()) return rule.status();
  for (const auto& ref : rule->references()) {
    if (ref == alarm.name) return Status::Error("alarm " + alarm.name + ": a composite cannot refer to itself");
  }
  std::lock_guard lock(mu_);
  auto& e = alarms_[alarm.name];
  if (!e) e = std::make_unique<Entry>();
  e->metric.reset();
  e->rule = std::move(*rule);
  e->composite = std::move(alarm);
  return Status::Ok();
}

bool Alarms::Remove(const std::string& name) {
  std::lock_guard lock(mu_);
  return alarms_.erase(name) > 0;
}

int Alarms::Subscribe(Listener listener) {
  std::lock_guard lock(listeners_mu_);
  int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Alarms::Unsubscribe(int id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

static bool Breaches(double v, const MetricAlarm& a) {
  switch (a.comparison) {
    case Comparison::kGreaterThan:
      return v > a.threshold;
    case Comparison::kGreaterOrEqual:
      return v >= a.threshold;
    case Comparison::kLessThan:
      return v < a.threshold;
    case Comparison::kLessOrEqual:
      return v <= a.threshold;
  }
  return false;
}

static std::string Number(double v) {
  std::string s;
  AppendNumber(v, &s);
  return s;
}

std::optional<AlarmTransition> Alarms::EvaluateMetric(Entry& e, int64_t now_ms) {
  const MetricAlarm& a = *e.metric;
  // The last N complete periods, aligned to the period like CloudWatch.
  int64_t end = now_ms - ((now_ms % a.period_ms) + a.period_ms) % a.period_ms;
  int64_t start = end - a.period_ms * a.evaluation_periods;
  TsdbQuery q{a.metric, a.dimensions, start, end, a.period_ms, a.stat};
  auto points = store_->Query(q);
  AlarmState next = e.state;
  std::string reason;
  std::string what = std::string(StatisticName(a.stat)) + " of " + a.metric + " " + ComparisonSymbol(a.comparison) +
                     " " + Number(a.threshold);
  if (!points.ok()) {
    next = AlarmState::kInsufficientData;
    reason = "query failed: " + points.error();
  } else {
    int present = static_cast<int>(points->size());
    int missing = a.evaluation_periods - present;
    int breaching = 0;
    double last = 0;
    for (const auto& p : *points) {
      if (Breaches(p.value, a)) ++breaching;
      last = p.value;
    }
    int judged = present;
    if (a.missing_data == MissingData::kBreaching) {
      breaching += missing;
      judged = a.evaluation_periods;
    } else if (a.missing_data == MissingData::kNotBreaching) {
      judged = a.evaluation_periods;
    }
    std::string tail = " (" + what + "; last value " + (present ? Number(last) : std::string("missing")) + ")";
    if (breaching >= a.datapoints_to_alarm) {
      next = AlarmState::kAlarm;
      reason = std::to_string(breaching) + " of the last " + std::to_string(a.evaluation_periods) +
               " periods breached the threshold" + tail;
    } else if (judged == 0) {
      if (a.missing_data == MissingData::kIgnore) return std::nullopt;  // keep the current state
      next = AlarmState::kInsufficientData;
      reason = "no data in the last " + std::to_string(a.evaluation_periods) + " periods" + tail;
    } else {
      next = AlarmState::kOk;
      reason = std::to_string(breaching) + " of the last " + std::to_string(a.evaluation_periods) +
               " periods breached the threshold, fewer than " + std::to_string(a.datapoints_to_alarm) + tail;
    }
  }
  if (next == e.state) {
    e.reason = reason;
    return std::nullopt;
  }
  AlarmTransition t{a.name, e.state, next, reason, now_ms, {}};
  e.state = next;
  e.reason = reason;
  e.since_ms = now_ms;
  return t;
}

std::vector<AlarmTransition> Alarms::Evaluate(int64_t now_ms) {
  std::vector<AlarmTransition> out;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, e] : alarms_) {
      if (!e->metric) continue;
      if (auto t = EvaluateMetric(*e, now_ms)) {
        const AlarmActions& acts = e->actions();
        t->actions = t->to == AlarmState::kAlarm ? acts.on_alarm
                     : t->to == AlarmState::kOk  ? acts.on_ok
                                                 : acts.on_insufficient_data;
        out.push_back(std::move(*t));
      }
    }
    // Composites may refer to composites: settle them in a bounded number of passes.
    auto state_of = [this](const std::string& n) {
      auto it = alarms_.find(n);
      return it == alarms_.end() ? AlarmState::kInsufficientData : it->second->state;
    };
    size_t passes = 0;
    for (bool changed = true; changed && passes <= alarms_.size(); ++passes) {
      changed = false;
      for (auto& [name, e] : alarms_) {
        if (!e->composite) continue;
        AlarmState next = e->rule->Evaluate(state_of) ? AlarmState::kAlarm : AlarmState::kOk;
        if (next == e->state) continue;
        changed = true;
        std::string reason = "rule " + e->composite->rule + " is " + (next == AlarmState::kAlarm ? "true" : "false");
        AlarmTransition t{name, e->state, next, reason, now_ms, {}};
        t.actions = next == AlarmState::kAlarm ? e->composite->actions.on_alarm : e->composite->actions.on_ok;
        e->state = next;
        e->reason = reason;
        e->since_ms = now_ms;
        out.push_back(std::move(t));
      }
    }
  }
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (const auto& t : out) {
    for (const auto& l : listeners) l(t);
  }
  return out;
}

std::optional<AlarmState> Alarms::State(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = alarms_.find(name);
  if (it == alarms_.end()) return std::nullopt;
  return it->second->state;
}

std::vector<AlarmStatus> Alarms::List() const {
  std::lock_guard lock(mu_);
  std::vector<AlarmStatus> out;
  for (const auto& [name, e] : alarms_) {
    out.push_back({name, e->composite.has_value(), e->state, e->reason, e->since_ms});
  }
  return out;
}

}  // namespace gantry::monitor
