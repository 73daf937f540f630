// Fuzzes the composite alarm rule parser and evaluates what it accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "monitor/alarm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rule = gantry::monitor::AlarmRule::Parse(text);
  if (rule.ok()) {
    (void)rule->Evaluate([](const std::string& name) {
      return name.size() % 2 ? gantry::monitor::AlarmState::kAlarm : gantry::monitor::AlarmState::kOk;
    });
  }
  return 0;
}
