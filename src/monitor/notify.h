// Notifications: topics with subscriptions (a generic JSON webhook signed with HMAC-SHA256,
// a Slack incoming webhook, email over SMTP), delivered from a persisted outbox.
//
// Publish() renders one message per subscription and inserts it into the outbox (SQLite,
// <data>/outbox.db) before returning, so a restart loses nothing. DeliverDue() sends what is
// due; a failed delivery is retried with exponential backoff until max_attempts, then marked
// dead. An endpoint that failed during a pass is skipped for the rest of that pass, so a dead
// endpoint costs one timeout per pass and never holds up the others.
//
// Webhook requests carry:
//   X-Gantry-Event: deployment.rolled_back
//   X-Gantry-Delivery: <outbox id>            (the same on every retry: receivers dedupe on it)
//   X-Gantry-Signature-256: sha256=<hex HMAC-SHA256 of the body with the subscription secret>
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/http.h"
#include "base/status.h"
#include "monitor/alarm.h"
#include "monitor/clock.h"
#include "monitor/smtp.h"

struct sqlite3;

namespace gantry::monitor {

enum class EventType {
  kRunStarted,
  kRunSucceeded,
  kRunFailed,
  kDeploymentStarted,
  kDeploymentSucceeded,
  kDeploymentRolledBack,
  kApprovalRequested,
  kAlarmStateChange,
  kServiceScaled,  // the autoscaler changed a service's instance count
};
const char* EventTypeName(EventType t);  // "run.started", ..., "alarm.state_change", "service.scaled"
Result<EventType> ParseEventType(std::string_view s);

struct Event {
  EventType type = EventType::kRunStarted;
  std::string subject;                        // one line: "web: deployment 42 rolled back"
  std::string message;                        // longer text
  std::map<std::string, std::string> fields;  // service, environment, run, alarm, state ...
  std::string url;                            // a link to the run / deployment in the dashboard
  int64_t t_ms = 0;                           // 0: the notifier's clock
};

enum class Protocol { kWebhook, kSlack, kEmail };
Result<Protocol> ParseProtocol(std::string_view s);  // webhook|slack|email
const char* ProtocolName(Protocol p);

struct Subscription {
  Protocol protocol = Protocol::kWebhook;
  std::string endpoint;         // http://host:port/path, or an email address
  std::string secret;           // webhook: the HMAC key (empty: unsigned)
  std::vector<EventType> only;  // empty: every event
};

// Sends one rendered message; implemented for HTTP and SMTP, replaceable for tests of
// other components.
struct Delivery {
  int64_t id = 0;
  Protocol protocol = Protocol::kWebhook;
  std::string endpoint;
  std::string subject;
  std::string body;
  http::Headers headers;
  int attempts = 0;
};
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status Send(const Delivery& delivery) = 0;
};

struct NotifierOptions {
  std::string data_dir;  // outbox.db lives here; empty: an in-memory outbox (tests)
  SmtpOptions smtp;
  int http_timeout_ms = 5000;
  int max_attempts = 10;
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 10 * 60'000;
  size_t batch = 100;  // deliveries per pass
  const Clock* clock = nullptr;
};

struct OutboxStats {
  int64_t pending = 0;
  int64_t delivered = 0;
  int64_t dead = 0;
};

class Notifier {
 public:
  static Result<std::unique_ptr<Notifier>> Open(NotifierOptions options);
  ~Notifier();  // stops the background thread

  Status AddSubscription(const std::string& topic, Subscription subscription);
  // What AddSubscription refuses: bad topic names, endpoints, email addresses.
  static Status ValidateSubscription(const std::string& topic, const Subscription& subscription);
  void RemoveTopic(const std::string& topic);
  std::vector<std::string> Topics() const;
  std::vector<Subscription> Subscriptions(const std::string& topic) const;

  // Queues the event for every subscription of the topic; returns how many were queued.
  Result<int> Publish(const std::string& topic, const Event& event);
  // Sends the due deliveries; returns how many succeeded in this pass.
  Result<int> DeliverDue(int64_t now_ms);
  Result<int> DeliverDue() { return DeliverDue(clock_->NowMs()); }
  OutboxStats Stats() const;
  // The last error of every delivery not yet delivered (for the API and tests).
  std::vector<std::pair<int64_t, std::string>> PendingErrors() const;

  void SetTransport(Protocol protocol, std::shared_ptr<Transport> transport);
  // Delivers in the background until destroyed (wakes on Publish, else every second).
  void Start();
  void Stop();

  // Publishes every alarm transition to the topics named by its "topic:NAME" actions.
  // Returns the listener id (for Alarms::Unsubscribe).
  int ConnectAlarms(Alarms* alarms);

 private:
  explicit Notifier(NotifierOptions options);
  Status Init();

  NotifierOptions options_;
  const Clock* clock_;
  mutable std::mutex db_mu_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Subscription>> topics_;
  std::map<Protocol, std::shared_ptr<Transport>> transports_;
  std::thread worker_;
  std::condition_variable wake_;
  std::mutex wake_mu_;
  bool stop_ = false;
  bool kicked_ = false;
};

// Renders the bodies (exposed for tests).
std::string RenderWebhookBody(const std::string& topic, const Event& event);
std::string RenderSlackBody(const Event& event);
std::string RenderEmailBody(const Event& event);
Event AlarmEvent(const AlarmTransition& t);

}  // namespace gantry::monitor
