#include "monitor/notify.h"

#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace gantry::monitor {

std::shared_ptr<Transport> MakeHttpTransport(int timeout_ms);       // notify_transports.cc
std::shared_ptr<Transport> MakeSmtpTransport(SmtpOptions options);  // notify_transports.cc

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kRunStarted:
      return "run.started";
    case EventType::kRunSucceeded:
      return "run.succeeded";
    case EventType::kRunFailed:
      return "run.failed";
    case EventType::kDeploymentStarted:
      return "deployment.started";
    case EventType::kDeploymentSucceeded:
      return "deployment.succeeded";
    case EventType::kDeploymentRolledBack:
      return "deployment.rolled_back";
    case EventType::kApprovalRequested:
      return "approval.requested";
    case EventType::kAlarmStateChange:
      return "alarm.state_change";
    case EventType::kServiceScaled:
      return "service.scaled";
  }
  return "?";
}

Result<EventType> ParseEventType(std::string_view s) {
  for (EventType t : {EventType::kRunStarted, EventType::kRunSucceeded, EventType::kRunFailed,
                      EventType::kDeploymentStarted, EventType::kDeploymentSucceeded, EventType::kDeploymentRolledBack,
                      EventType::kApprovalRequested, EventType::kAlarmStateChange, EventType::kServiceScaled}) {
    if (s == EventTypeName(t)) return t;
  }
  return Result<EventType>::Error("unknown event \"" + std::string(s.substr(0, 100)) +
                                  "\" (run.started, run.succeeded, run.failed, deployment.started, "
                                  "deployment.succeeded, deployment.rolled_back, approval.requested, "
                                  "alarm.state_change, service.scaled)");
}

Result<Protocol> ParseProtocol(std::string_view s) {
  if (s == "webhook" || s == "http" || s == "https") return Protocol::kWebhook;
  if (s == "slack") return Protocol::kSlack;
  if (s == "email" || s == "smtp") return Protocol::kEmail;
  return Result<Protocol>::Error("unknown protocol \"" + std::string(s.substr(0, 40)) +
                                 "\", expected webhook, slack or email");
}

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kWebhook:
      return "webhook";
    case Protocol::kSlack:
      return "slack";
    case Protocol::kEmail:
      return "email";
  }
  return "?";
}

std::string RenderWebhookBody(const std::string& topic, const Event& e) {
  nlohmann::json j{{"type", EventTypeName(e.type)}, {"topic", topic},     {"subject", e.subject},
                   {"message", e.message},          {"fields", e.fields}, {"time_ms", e.t_ms}};
  if (!e.url.empty()) j["url"] = e.url;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

static bool IsBad(const Event& e) {
  return e.type == EventType::kRunFailed || e.type == EventType::kDeploymentRolledBack ||
         (e.type == EventType::kAlarmStateChange && e.fields.count("state") && e.fields.at("state") == "ALARM");
}

std::string RenderSlackBody(const Event& e) {
  // Slack's incoming-webhook format: text plus an attachment with the fields.
  std::string text = "*" + e.subject + "*";
  if (!e.message.empty()) text += "\n" + e.message;
  if (!e.url.empty()) text += "\n<" + e.url + ">";
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& [k, v] : e.fields) fields.push_back({{"title", k}, {"value", v}, {"short", true}});
  nlohmann::json j{{"text", text},
                   {"attachments",
                    {{{"color", IsBad(e) ? "danger" : "good"},
                      {"fallback", e.subject},
                      {"footer", std::string("gantry ") + EventTypeName(e.type)},
                      {"fields", fields}}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderEmailBody(const Event& e) {
  std::string body = e.message.empty() ? e.subject : e.message;
  body += "\n\n";
  for (const auto& [k, v] : e.fields) body += k + ": " + v + "\n";
  if (!e.url.empty()) body += "\n" + e.url + "\n";
  body += "\n-- \nGantry (" + std::string(EventTypeName(e.type)) + ")\n";
  return body;
}

Event AlarmEvent(const AlarmTransition& t) {
  Event e;
  e.type = EventType::kAlarmStateChange;
  e.subject = std::string(t.to == AlarmState::kAlarm ? "ALARM" : AlarmStateName(t.to)) + ": " + t.alarm;
  e.message =
      "Alarm " + t.alarm + " went from " + AlarmStateName(t.from) + " to " + AlarmStateName(t.to) + ": " + t.reason;
  e.fields = {{"alarm", t.alarm}, {"state", AlarmStateName(t.to)}, {"previous_state", AlarmStateName(t.from)}};
  e.t_ms = t.t_ms;
  return e;
}

Notifier::Notifier(NotifierOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &SystemClock::Get()) {
  auto http = MakeHttpTransport(options_.http_timeout_ms);
  transports_[Protocol::kWebhook] = http;
  transports_[Protocol::kSlack] = http;
  transports_[Protocol::kEmail] = MakeSmtpTransport(options_.smtp);
}

Notifier::~Notifier() {
  Stop();
  if (db_) sqlite3_close(db_);
}

static Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Error("outbox: " + msg);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Notifier>> Notifier::Open(NotifierOptions options) {
  std::unique_ptr<Notifier> n(new Notifier(std::move(options)));
  if (Status st = n->Init(); !st.ok()) return st;
  return n;
}

Status Notifier::Init() {
  std::string path = ":memory:";
  if (!options_.data_dir.empty()) {
    if (Status st = MakeDirs(options_.data_dir); !st.ok()) return st;
    path = options_.data_dir + "/outbox.db";
  }
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    return Status::Error(path + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open"));
  }
  sqlite3_busy_timeout(db_, 5000);
  return Exec(db_,
              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
              "CREATE TABLE IF NOT EXISTS monitor_outbox("
              " id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, protocol TEXT NOT NULL,"
              " endpoint TEXT NOT NULL, subject TEXT NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL,"
              " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,"
              " state TEXT NOT NULL DEFAULT 'pending', last_error TEXT NOT NULL DEFAULT '',"
              " created_ms INTEGER NOT NULL);"
              "CREATE INDEX IF NOT EXISTS monitor_outbox_due ON monitor_outbox(state, next_attempt_ms);");
}

Status Notifier::AddSubscription(const std::string& topic, Subscription s) {
  if (Status st = ValidateSubscription(topic, s); !st.ok()) return st;
  std::lock_guard lock(mu_);
  topics_[topic].push_back(std::move(s));
  return Status::Ok();
}

Status Notifier::ValidateSubscription(const std::string& topic, const Subscription& s) {
  if (topic.empty() || topic.size() > 255) return Status::Error("topic name must be 1 to 255 characters");
  if (s.protocol == Protocol::kEmail) {
    for (const auto& addr : Split(s.endpoint, ',')) {
      std::string a(Trim(addr));
      if (a.find('@') == std::string::npos || a.find_first_of("\r\n<> ") != std::string::npos) {
        return Status::Error("topic " + topic + ": \"" + a.substr(0, 100) + "\" is not an email address");
      }
    }
  } else if (!StartsWith(s.endpoint, "http://")) {
    return Status::Error("topic " + topic + ": webhook endpoint must be an http:// URL, got \"" +
                         s.endpoint.substr(0, 100) + "\"");
  }
  return Status::Ok();
}

void Notifier::RemoveTopic(const std::string& topic) {
  std::lock_guard lock(mu_);
  topics_.erase(topic);
}

std::vector<std::string> Notifier::Topics() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, v] : topics_) out.push_back(k);
  return out;
}

std::vector<Subscription> Notifier::Subscriptions(const std::string& topic) const {
  std::lock_guard lock(mu_);
  auto it = topics_.find(topic);
  return it == topics_.end() ? std::vector<Subscription>{} : it->second;
}

void Notifier::SetTransport(Protocol protocol, std::shared_ptr<Transport> transport) {
  std::lock_guard lock(mu_);
  transports_[protocol] = std::move(transport);
}

Result<int> Notifier::Publish(const std::string& topic, const Event& event_in) {
  Event event = event_in;
  if (event.t_ms == 0) event.t_ms = clock_->NowMs();
  std::vector<Subscription> subs;
  {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return Result<int>::Error("no topic named \"" + topic.substr(0, 100) + "\"");
    subs = it->second;
  }
  std::lock_guard lock(db_mu_);
  if (Status st = Exec(db_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_,
                     "INSERT INTO monitor_outbox(topic, protocol, endpoint, subject, body, headers, next_attempt_ms,"
                     " created_ms) VALUES(?,?,?,?,?,?,?,?)",
                     -1, &stmt, nullptr);
  int queued = 0;
  for (const auto& s : subs) {
    if (!s.only.empty() && std::find(s.only.begin(), s.only.end(), event.type) == s.only.end()) continue;
    std::string body;
    nlohmann::json headers = nlohmann::json::array();
    switch (s.protocol) {
      case Protocol::kWebhook:
        body = RenderWebhookBody(topic, event);
        headers.push_back({"X-Gantry-Event", EventTypeName(event.type)});
        if (!s.secret.empty()) headers.push_back({"X-Gantry-Signature-256", "sha256=" + HmacSha256Hex(s.secret, body)});
        break;
      case Protocol::kSlack:
        body = RenderSlackBody(event);
        break;
      case Protocol::kEmail:
        body = RenderEmailBody(event);
        break;
    }
    sqlite3_reset(stmt);
    sqlite3_bind_text(stmt, 1, topic.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, ProtocolName(s.protocol), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, s.endpoint.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 4, event.subject.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 5, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    std::string h = headers.dump();
    sqlite3_bind_text(stmt, 6, h.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 7, event.t_ms);
    sqlite3_bind_int64(stmt, 8, clock_->NowMs());
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      std::string err = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      (void)Exec(db_, "ROLLBACK");
      return Result<int>::Error("outbox: " + err);
    }
    ++queued;
  }
  sqlite3_finalize(stmt);
  if (Status st = Exec(db_, "COMMIT"); !st.ok()) return st;
  {
    std::lock_guard lock(wake_mu_);
    kicked_ = true;
  }
  wake_.notify_one();
  return queued;
}

Result<int> Notifier::DeliverDue(int64_t now_ms) {
  std::vector<Delivery> due;
  {
    std::lock_guard lock(db_mu_);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_,
                       "SELECT id, protocol, endpoint, subject, body, headers, attempts FROM monitor_outbox"
                       " WHERE state='pending' AND next_attempt_ms<=? ORDER BY next_attempt_ms, id LIMIT ?",
                       -1, &stmt, nullptr);
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(options_.batch));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      Delivery d;
      d.id = sqlite3_column_int64(stmt, 0);
      d.protocol = ParseProtocol(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1))).value();
      d.endpoint = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2));
      d.subject = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      d.body.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 4)), sqlite3_column_bytes(stmt, 4));
      auto headers = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 5)), nullptr, false);
      if (headers.is_array()) {
        for (const auto& h : headers) d.headers.push_back({h[0].get<std::string>(), h[1].get<std::string>()});
      }
      d.headers.push_back({"X-Gantry-Delivery", std::to_string(d.id)});
      d.attempts = sqlite3_column_int(stmt, 6);
      due.push_back(std::move(d));
    }
    sqlite3_finalize(stmt);
  }
  std::set<std::string> failed_endpoints;
  int delivered = 0;
  for (const Delivery& d : due) {
    Status result;
    if (failed_endpoints.count(d.endpoint)) {
      result = Status::Error("skipped: the endpoint failed earlier in this pass");
    } else {
      std::shared_ptr<Transport> transport;
      {
        std::lock_guard lock(mu_);
        transport = transports_[d.protocol];
      }
      result = transport ? transport->Send(d) : Status::Error("no transport");
      if (!result.ok()) failed_endpoints.insert(d.endpoint);
    }
    std::lock_guard lock(db_mu_);
    sqlite3_stmt* stmt = nullptr;
    if (result.ok()) {
      ++delivered;
      sqlite3_prepare_v2(db_, "UPDATE monitor_outbox SET state='delivered', attempts=attempts+1 WHERE id=?", -1, &stmt,
                         nullptr);
      sqlite3_bind_int64(stmt, 1, d.id);
    } else {
      bool skipped = StartsWith(result.message(), "skipped:");
      int attempts = d.attempts + (skipped ? 0 : 1);
      int64_t backoff = options_.backoff_initial_ms;
      for (int i = 1; i < attempts && backoff < options_.backoff_max_ms; ++i) backoff *= 2;
      backoff = std::min(backoff, options_.backoff_max_ms);
      const char* state = attempts >= options_.max_attempts ? "dead" : "pending";
      sqlite3_prepare_v2(db_,
                         "UPDATE monitor_outbox SET state=?, attempts=?, next_attempt_ms=?, last_error=? WHERE id=?",
                         -1, &stmt, nullptr);
      sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
      sqlite3_bind_int(stmt, 2, attempts);
      sqlite3_bind_int64(stmt, 3, now_ms + (skipped ? 0 : backoff));
      sqlite3_bind_text(stmt, 4, result.message().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 5, d.id);
    }
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Result<int>::Error(std::string("outbox: ") + sqlite3_errmsg(db_));
  }
  return delivered;
}

OutboxStats Notifier::Stats() const {
  std::lock_guard lock(db_mu_);
  OutboxStats s;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "SELECT state, COUNT(*) FROM monitor_outbox GROUP BY state", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string state = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    int64_t n = sqlite3_column_int64(stmt, 1);
    if (state == "pending") s.pending = n;
    if (state == "delivered") s.delivered = n;
    if (state == "dead") s.dead = n;
  }
  sqlite3_finalize(stmt);
  return s;
}

std::vector<std::pair<int64_t, std::string>> Notifier::PendingErrors() const {
  std::lock_guard lock(db_mu_);
  std::vector<std::pair<int64_t, std::string>> out;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "SELECT id, last_error FROM monitor_outbox WHERE state!='delivered' ORDER BY id", -1, &stmt,
                     nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.emplace_back(sqlite3_column_int64(stmt, 0), reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  return out;
}

void Notifier::Start() {
  if (worker_.joinable()) return;
  {
    std::lock_guard lock(wake_mu_);
    stop_ = false;
  }
  worker_ = std::thread([this] {
    for (;;) {
      {
        std::unique_lock lock(wake_mu_);
        wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || kicked_; });
        if (stop_) return;
        kicked_ = false;
      }
      (void)DeliverDue();
    }
  });
}

void Notifier::Stop() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int Notifier::ConnectAlarms(Alarms* alarms) {
  return alarms->Subscribe([this](const AlarmTransition& t) {
    for (const auto& action : t.actions) {
      if (!StartsWith(action, "topic:")) continue;
      (void)Publish(action.substr(6), AlarmEvent(t));
    }
  });
}

}  // namespace gantry::monitor
