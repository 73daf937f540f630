// Alarms with CloudWatch's model. A metric alarm watches one statistic of one metric (with
// dimensions) over a period; each evaluation looks at the last N complete periods and goes to
// ALARM when at least M of them breach the threshold (M of N), to OK otherwise, and to
// INSUFFICIENT_DATA when there is nothing to judge. Missing periods are treated as the alarm
// says (missing, ignore, breaching, notBreaching). A composite alarm combines the states of
// other alarms with a rule such as `ALARM("web-5xx") OR (ALARM(rt) AND NOT OK(hosts))`.
//
// On each state change the alarm's actions for the new state are handed to every subscriber.
// Actions are strings; by convention "topic:NAME" publishes to a notification topic (see
// notify.h) and other prefixes belong to whoever subscribes, e.g. the deployment controller
// acts on "deploy:rollback:SERVICE" and an autoscaler on "scale:SERVICE:+1". The monitor does
// not know what they mean.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "monitor/clock.h"
#include "monitor/tsdb.h"

namespace gantry::monitor {

enum class AlarmState { kOk, kAlarm, kInsufficientData };
enum class Comparison { kGreaterThan, kGreaterOrEqual, kLessThan, kLessOrEqual };
enum class MissingData { kMissing, kIgnore, kBreaching, kNotBreaching };

const char* AlarmStateName(AlarmState s);                // "OK", "ALARM", "INSUFFICIENT_DATA"
Result<Comparison> ParseComparison(std::string_view s);  // ">", ">=", "<", "<=" or CloudWatch names
const char* ComparisonSymbol(Comparison c);
Result<MissingData> ParseMissingData(std::string_view s);  // missing|ignore|breaching|notBreaching

struct AlarmActions {
  std::vector<std::string> on_alarm;
  std::vector<std::string> on_ok;
  std::vector<std::string> on_insufficient_data;
};

struct MetricAlarm {
  std::string name;
  std::string description;
  std::string metric;
  Labels dimensions;
  Statistic stat = Statistic::kAverage;
  int64_t period_ms = 60'000;
  int evaluation_periods = 1;   // N
  int datapoints_to_alarm = 0;  // M; 0 means N
  double threshold = 0;
  Comparison comparison = Comparison::kGreaterThan;
  MissingData missing_data = MissingData::kMissing;
  AlarmActions actions;
};

struct CompositeAlarm {
  std::string name;
  std::string description;
  std::string rule;  // ALARM(x) / OK(x) / INSUFFICIENT_DATA(x), AND, OR, NOT, (), TRUE, FALSE
  AlarmActions actions;
};

struct AlarmTransition {
  std::string alarm;
  AlarmState from = AlarmState::kInsufficientData;
  AlarmState to = AlarmState::kInsufficientData;
  std::string reason;  // e.g. "3 of the last 5 periods breached the threshold (5xx sum > 10)"
  int64_t t_ms = 0;
  std::vector<std::string> actions;  // the alarm's actions for `to`
};

struct AlarmStatus {
  std::string name;
  bool composite = false;
  AlarmState state = AlarmState::kInsufficientData;
  std::string reason;
  int64_t since_ms = 0;
};

// A parsed composite rule (exposed for tests and the fuzz target).
class AlarmRule {
 public:
  // `source` names the rule in errors: "<source>:1:<col>: what is wrong".
  static Result<AlarmRule> Parse(std::string_view text, std::string_view source = "rule");
  bool Evaluate(const std::function<AlarmState(const std::string&)>& state_of) const;
  const std::vector<std::string>& references() const { return refs_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> refs_;
};

class Alarms {
 public:
  using Listener = std::function<void(const AlarmTransition&)>;

  Alarms(const TimeSeriesStore* store, const Clock* clock = nullptr);
  ~Alarms();

  // Adds or replaces an alarm (a replaced alarm keeps its state).
  Status Put(MetricAlarm alarm);
  Status Put(CompositeAlarm alarm);
  bool Remove(const std::string& name);

  // Listeners are called, outside the alarms' lock, for every transition in order.
  int Subscribe(Listener listener);
  void Unsubscribe(int id);

  // Evaluates every alarm at `now_ms` (metric alarms, then composites) and returns the
  // transitions, after handing them to the listeners.
  std::vector<AlarmTransition> Evaluate(int64_t now_ms);
  std::vector<AlarmTransition> Evaluate() { return Evaluate(clock_->NowMs()); }

  std::optional<AlarmState> State(const std::string& name) const;
  std::vector<AlarmStatus> List() const;

 private:
  struct Entry;
  std::optional<AlarmTransition> EvaluateMetric(Entry& e, int64_t now_ms);

  const TimeSeriesStore* store_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> alarms_;
  std::mutex listeners_mu_;
  std::map<int, Listener> listeners_;
  int next_listener_ = 1;
};

}  // namespace gantry::monitor
