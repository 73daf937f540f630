// Alarms and notification topics declared in .gantry/*.yml (applied by the server's monitor).
#include <gtest/gtest.h>

#include "deploy/config.h"

namespace gantry::deploy {
namespace {

TEST(DeployConfig, ReadsAlarmsAndTopics) {
  ProjectConfig c;
  Status st = ParseConfigText(
      "alarms:\n"
      "  web-5xx:\n"
      "    metric: gantry_lb_responses_total\n"
      "    dimensions: {target_group: web.production.a, code_class: 5xx}\n"
      "    statistic: sum\n"
      "    period: 1m\n"
      "    evaluation_periods: 5\n"
      "    datapoints_to_alarm: 3\n"
      "    threshold: 10\n"
      "    missing_data: notBreaching\n"
      "    on_alarm: [deploy:rollback:web:production, topic:ops]\n"
      "topics:\n"
      "  ops:\n"
      "    - {protocol: slack, endpoint: http://127.0.0.1:9/hook}\n"
      "    - {endpoint: http://127.0.0.1:9/signed, secret: s3}\n",
      "alarms.yml", &c);
  ASSERT_TRUE(st.ok()) << st.message();
  const AlarmSpec& a = c.alarms.at("web-5xx");
  EXPECT_EQ(a.statistic, "sum");
  EXPECT_EQ(a.period_ms, 60'000);
  EXPECT_EQ(a.datapoints_to_alarm, 3);
  EXPECT_EQ(a.dimensions.at("code_class"), "5xx");
  EXPECT_EQ(a.on_alarm, (std::vector<std::string>{"deploy:rollback:web:production", "topic:ops"}));
  ASSERT_EQ(c.topics.at("ops").size(), 2u);
  EXPECT_EQ(c.topics.at("ops")[0].protocol, "slack");
  EXPECT_EQ(c.topics.at("ops")[1].secret, "s3");
}

TEST(DeployConfig, BadAlarmsAndTopicsAreReportedWithLineAndColumn) {
  ProjectConfig c;
  Status st = ParseConfigText(
      "alarms:\n"
      "  web:\n"
      "    statistic: median\n"
      "    comparison: '!='\n"
      "    period: 100ms\n"
      "    evaluation_periods: 2\n"
      "    datapoints_to_alarm: 3\n"
      "    colour: red\n"
      "topics:\n"
      "  ops:\n"
      "    - {protocol: pager}\n",
      "alarms.yml", &c);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.message();
  EXPECT_NE(m.find("alarms.yml:3:5: alarm web needs a metric"), std::string::npos) << m;
  EXPECT_NE(m.find("alarms.yml:3:16: statistic must be"), std::string::npos) << m;
  EXPECT_NE(m.find("comparison must be"), std::string::npos) << m;
  EXPECT_NE(m.find("period must be at least 1s"), std::string::npos) << m;
  EXPECT_NE(m.find("datapoints_to_alarm"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key 'colour'"), std::string::npos) << m;
  EXPECT_NE(m.find("protocol must be webhook, slack or email"), std::string::npos) << m;
  EXPECT_NE(m.find("a subscription needs an endpoint"), std::string::npos) << m;
}

}  // namespace
}  // namespace gantry::deploy
