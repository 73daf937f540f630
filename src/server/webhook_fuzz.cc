// Fuzzes the webhook reader (signature check, JSON limits, push fields) and the API's JSON
// body reader with arbitrary bodies, the mirror settings (poll interval, URL), and the alarm
// and topic definitions of the monitor API (validated only: no monitor behind them).
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/sha256.h"
#include "server/context.h"
#include "server/json_body.h"
#include "server/mirror.h"
#include "server/monitor_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  (void)gantry::server::ParseJsonBody(body);
  std::string sig = "sha256=" + gantry::HmacSha256Hex("secret", body);
  (void)gantry::server::ParseWebhook({{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", sig}}, body, "secret");
  (void)gantry::server::ParseWebhook({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "secret"}}, body, "secret");
  (void)gantry::server::ParsePollInterval(body);
  (void)gantry::server::ValidateMirrorUrl(body);
  std::string normalized;
  (void)gantry::server::PutAlarmJson(nullptr, "fuzz", body, &normalized);
  (void)gantry::server::PutTopicJson(nullptr, "fuzz", body, &normalized);
  return 0;
}
