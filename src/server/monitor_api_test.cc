// The readers behind PUT /api/v1/alarms/NAME and /api/v1/topics/NAME: good definitions are
// put into a real monitor and normalized; bad ones are refused naming the field (the HTTP
// side, tokens, persistence and restarts: tests/e2e/monitor_alarm_rollback.sh).
#include "server/monitor_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "monitor/monitor.h"

namespace gantry::server {
namespace {

TEST(MonitorApi, PutsMetricAndCompositeAlarms) {
  const std::string dir = *MakeTempDir("gantry-monitor-api");
  monitor::MonitorOptions o;
  o.data_dir = dir;
  auto m = std::move(monitor::Monitor::Open(o).value());
  std::string norm;
  ASSERT_TRUE(PutAlarmJson(m.get(), "web-5xx",
                           R"j({"metric":"gantry_lb_responses_total","dimensions":{"service":"web","code_class":"5xx"},
                               "statistic":"sum","period":"1m","threshold":10,"missing_data":"notBreaching",
                               "on_alarm":["deploy:rollback:web:production","topic:ops"],"on_ok":["topic:ops"]})j",
                           &norm)
                  .ok());
  auto j = nlohmann::json::parse(norm);
  EXPECT_EQ(j["period"], "60s");
  EXPECT_EQ(j["evaluation_periods"], 1);
  EXPECT_EQ(j["datapoints_to_alarm"], 1);
  EXPECT_EQ(j["comparison"], ">");
  EXPECT_EQ(m->alarms().State("web-5xx"), monitor::AlarmState::kInsufficientData);
  // Seconds as a number, like CloudWatch's --period 300.
  ASSERT_TRUE(
      PutAlarmJson(m.get(), "slow", R"j({"metric":"m","period":300,"threshold":5,"evaluation_periods":5})j", &norm)
          .ok());
  EXPECT_EQ(nlohmann::json::parse(norm)["period"], "300s");
  ASSERT_TRUE(PutAlarmJson(m.get(), "either", R"j({"rule":"ALARM(\"web-5xx\") OR ALARM(slow)"})j", &norm).ok());
  EXPECT_TRUE(m->alarms().State("either").has_value());
  (void)RemoveAll(dir);
}

TEST(MonitorApi, RefusesBadAlarmsNamingTheField) {
  std::string norm;
  const std::pair<const char*, const char*> cases[] = {
      {R"j({"metric":"m"})j", "threshold: required"},
      {R"j({"threshold":1})j", "metric: required"},
      {R"j({"metric":"m","threshold":1,"statistic":"p42"})j", "statistic: "},
      {R"j({"metric":"m","threshold":1,"period":"5s"})j", "period: "},
      {R"j({"metric":"m","threshold":1,"period":"1x"})j", "period: "},
      {R"j({"metric":"m","threshold":1,"comparison":"=="})j", "comparison: "},
      {R"j({"metric":"m","threshold":1,"missing_data":"maybe"})j", "missing_data: "},
      {R"j({"metric":"m","threshold":1,"evaluation_periods":0})j", "evaluation_periods: "},
      {R"j({"metric":"m","threshold":1,"evaluation_periods":2,"datapoints_to_alarm":3})j", "datapoints_to_alarm: "},
      {R"j({"metric":"m","threshold":1,"on_alarm":["rm -rf /"]})j", "on_alarm: "},
      {R"j({"metric":"m","threshold":1,"on_ok":"topic:x"})j", "on_ok: "},
      {R"j({"metric":"m","threshold":1,"dimensions":{"a":1}})j", "dimensions: "},
      {R"j({"metric":"m","threshold":1,"treshold":2})j", "unknown field 'treshold'"},
      {R"j({"rule":"ALARM(a) AND"})j", "rule:1:"},
      {R"j({"rule":"ALARM(a)","metric":"m"})j", "unknown field 'metric'"},
      {R"j([1,2])j", "expected a JSON object"},
      {"{\"metric\": \"m\",\n \"threshold\": }", "body:2:"},
  };
  for (const auto& [body, want] : cases) {
    Status st = PutAlarmJson(nullptr, "a", body, &norm);
    ASSERT_FALSE(st.ok()) << body;
    EXPECT_NE(st.message().find(want), std::string::npos) << body << " -> " << st.message();
  }
  EXPECT_FALSE(PutAlarmJson(nullptr, "Bad Name", R"j({"metric":"m","threshold":1})j", &norm).ok());
  EXPECT_FALSE(PutAlarmJson(nullptr, std::string(64, 'a'), R"j({"metric":"m","threshold":1})j", &norm).ok());
}

TEST(MonitorApi, TopicsValidateEverySubscriptionBeforeChanging) {
  const std::string dir = *MakeTempDir("gantry-monitor-api");
  monitor::MonitorOptions o;
  o.data_dir = dir;
  auto m = std::move(monitor::Monitor::Open(o).value());
  std::string norm;
  ASSERT_TRUE(PutTopicJson(m.get(), "ops",
                           R"j({"subscriptions":[{"endpoint":"http://127.0.0.1:9/h","secret":"k",
                               "events":["deployment.rolled_back","alarm.state_change"]},
                              {"protocol":"email","endpoint":"oncall@example.com"}]})j",
                           &norm)
                  .ok());
  auto subs = m->notifier().Subscriptions("ops");
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].only.size(), 2u);
  EXPECT_EQ(subs[1].protocol, monitor::Protocol::kEmail);
  const std::pair<const char*, const char*> cases[] = {
      {R"j({"subscriptions":[{"endpoint":"ftp://x"}]})j", "http://"},
      {R"j({"subscriptions":[{"protocol":"sms","endpoint":"http://x"}]})j", "subscriptions[0].protocol"},
      {R"j({"subscriptions":[{"endpoint":"http://x","events":["run.exploded"]}]})j", "unknown event"},
      {R"j({"subscriptions":[{"protocol":"email","endpoint":"not-an-address"}]})j", "not an email address"},
      {R"j({"subscriptions":[{}]})j", "subscriptions[0].endpoint: required"},
      {R"j({"subs":[]})j", "unknown field 'subs'"},
  };
  for (const auto& [body, want] : cases) {
    Status st = PutTopicJson(m.get(), "ops", body, &norm);
    ASSERT_FALSE(st.ok()) << body;
    EXPECT_NE(st.message().find(want), std::string::npos) << body << " -> " << st.message();
  }
  EXPECT_EQ(m->notifier().Subscriptions("ops").size(), 2u);  // refused puts left it as it was
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace gantry::server
