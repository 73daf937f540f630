// Notifications against real peers on loopback: an HTTP receiver (the base HTTP server)
// checking signatures and failing on purpose, and a real SMTP server (aiosmtpd, a Debian
// package) receiving mail.
#include "monitor/notify.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/http_server.h"
#include "base/sha256.h"

extern char** environ;

namespace gantry::monitor {
namespace {

struct TempDir {
  TempDir() : path(*MakeTempDir("gantry-notify-")) {}
  ~TempDir() { (void)RemoveAll(path); }
  std::string path;
};

// A webhook receiver that answers 500 to the first `fail_first` requests.
struct Receiver {
  explicit Receiver(int fail_first = 0) : fail_left(fail_first) {
    EXPECT_TRUE(server
                    .Start([this](http::Request& req, http::Response& res) {
                      auto body = req.ReadAll(1 << 20);
                      std::lock_guard lock(mu);
                      if (fail_left > 0) {
                        --fail_left;
                        ++failures;
                        res.Send(500, "text/plain", "try later");
                        return;
                      }
                      bodies.push_back(*body);
                      headers.push_back(req.headers);
                      res.Send(200, "text/plain", "ok");
                    })
                    .ok());
  }
  std::string url(const std::string& path = "/hook") {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }
  http::Server server;
  std::mutex mu;
  int fail_left;
  int failures = 0;
  std::vector<std::string> bodies;
  std::vector<http::Headers> headers;
};

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

Event Rollback() {
  Event e;
  e.type = EventType::kDeploymentRolledBack;
  e.subject = "web: deployment 42 rolled back";
  e.message = "Alarm web-5xx fired during the canary.";
  e.fields = {{"service", "web"}, {"environment", "production"}};
  e.url = "http://127.0.0.1/deployments/42";
  return e;
}

TEST(Notifier, SignedWebhookRetriesWithBackoffUntilDelivered) {
  FakeClock clock;
  NotifierOptions o;
  o.clock = &clock;
  auto n = std::move(Notifier::Open(o).value());
  Receiver rx(/*fail_first=*/2);
  ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kWebhook, rx.url(), "s3cret", {}}).ok());
  ASSERT_EQ(*n->Publish("ops", Rollback()), 1);
  EXPECT_EQ(*n->DeliverDue(), 0);  // 500
  EXPECT_EQ(*n->DeliverDue(), 0);  // not due yet: backing off
  EXPECT_EQ(rx.failures, 1);
  clock.Advance(1000);
  EXPECT_EQ(*n->DeliverDue(), 0);  // second 500; next wait doubles to 2 s
  clock.Advance(1000);
  EXPECT_EQ(*n->DeliverDue(), 0);
  EXPECT_EQ(rx.failures, 2);
  clock.Advance(1000);
  EXPECT_EQ(*n->DeliverDue(), 1);
  ASSERT_EQ(rx.bodies.size(), 1u);
  std::string sig(http::FindHeader(rx.headers[0], "X-Gantry-Signature-256"));
  EXPECT_EQ(sig, "sha256=" + HmacSha256Hex("s3cret", rx.bodies[0]));
  EXPECT_NE(sig, "sha256=" + HmacSha256Hex("wrong", rx.bodies[0]));
  EXPECT_EQ(http::FindHeader(rx.headers[0], "X-Gantry-Event"), "deployment.rolled_back");
  EXPECT_EQ(http::FindHeader(rx.headers[0], "X-Gantry-Delivery"), "1");
  auto j = nlohmann::json::parse(rx.bodies[0]);
  EXPECT_EQ(j["type"], "deployment.rolled_back");
  EXPECT_EQ(j["fields"]["service"], "web");
  EXPECT_EQ(n->Stats().delivered, 1);
}

TEST(Notifier, DeadEndpointDoesNotBlockOthersAndIsGivenUp) {
  FakeClock clock;
  NotifierOptions o;
  o.clock = &clock;
  o.max_attempts = 3;
  auto n = std::move(Notifier::Open(o).value());
  Receiver rx;
  std::string dead = "http://127.0.0.1:" + std::to_string(FreePort()) + "/gone";
  ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kWebhook, dead, "", {}}).ok());
  ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kSlack, rx.url("/slack"), "", {}}).ok());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(*n->Publish("ops", Rollback()), 2);
  EXPECT_EQ(*n->DeliverDue(), 3);  // all three Slack messages, in spite of the dead endpoint
  ASSERT_EQ(rx.bodies.size(), 3u);
  auto slack = nlohmann::json::parse(rx.bodies[0]);
  EXPECT_EQ(
      slack["text"],
      "*web: deployment 42 rolled back*\nAlarm web-5xx fired during the canary.\n<http://127.0.0.1/deployments/42>");
  EXPECT_EQ(slack["attachments"][0]["color"], "danger");
  auto errors = n->PendingErrors();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].second.find("/gone"), std::string::npos) << errors[0].second;
  EXPECT_NE(errors[1].second.find("skipped"), std::string::npos) << errors[1].second;
  for (int i = 0; i < 20; ++i) {
    clock.Advance(60'000);
    ASSERT_TRUE(n->DeliverDue().ok());
  }
  EXPECT_EQ(n->Stats().dead, 3);
  EXPECT_EQ(n->Stats().pending, 0);
}

TEST(Notifier, OutboxSurvivesRestart) {
  TempDir dir;
  FakeClock clock;
  NotifierOptions o;
  o.clock = &clock;
  o.data_dir = dir.path;
  Receiver rx;
  {
    auto n = std::move(Notifier::Open(o).value());
    ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kWebhook, rx.url(), "k", {}}).ok());
    ASSERT_EQ(*n->Publish("ops", Rollback()), 1);
    // The server stops before delivering.
  }
  auto n = std::move(Notifier::Open(o).value());
  EXPECT_EQ(n->Stats().pending, 1);
  EXPECT_EQ(*n->DeliverDue(), 1);
  EXPECT_EQ(rx.bodies.size(), 1u);
}

TEST(Notifier, AlarmTransitionsPublishOneNotificationEach) {
  FakeClock clock(1'700'000'000'000 / 60'000 * 60'000);
  TsdbOptions to;
  to.clock = &clock;
  auto store = std::move(TimeSeriesStore::Open(to).value());
  Alarms alarms(store.get(), &clock);
  NotifierOptions o;
  o.clock = &clock;
  auto n = std::move(Notifier::Open(o).value());
  Receiver rx;
  ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kWebhook, rx.url(), "", {EventType::kAlarmStateChange}}).ok());
  n->ConnectAlarms(&alarms);
  MetricAlarm a;
  a.name = "web-5xx";
  a.metric = "errors";
  a.stat = Statistic::kSum;
  a.threshold = 10;
  a.missing_data = MissingData::kNotBreaching;
  a.actions.on_alarm = {"topic:ops", "deploy:rollback:web"};
  a.actions.on_ok = {"topic:ops"};
  ASSERT_TRUE(alarms.Put(a).ok());
  for (int minute = 0; minute < 6; ++minute) {
    if (minute == 2) {
      ASSERT_TRUE(store->Record("errors", {}, 50, clock.NowMs() + 1000).ok());
    }
    clock.Advance(60'000);
    alarms.Evaluate(clock.NowMs());
  }
  ASSERT_TRUE(n->DeliverDue().ok());
  ASSERT_EQ(rx.bodies.size(), 3u);  // OK, ALARM, OK
  EXPECT_EQ(nlohmann::json::parse(rx.bodies[1])["fields"]["state"], "ALARM");
  EXPECT_EQ(nlohmann::json::parse(rx.bodies[2])["fields"]["previous_state"], "ALARM");
}

TEST(Notifier, RefusesBadSubscriptions) {
  auto n = std::move(Notifier::Open({}).value());
  EXPECT_FALSE(n->AddSubscription("ops", {Protocol::kWebhook, "ftp://x", "", {}}).ok());
  EXPECT_FALSE(n->AddSubscription("ops", {Protocol::kEmail, "nobody", "", {}}).ok());
  EXPECT_FALSE(n->AddSubscription("ops", {Protocol::kEmail, "a@b\r\nBcc: x@y", "", {}}).ok());
  EXPECT_FALSE(n->Publish("nope", Rollback()).ok());
}

// A real SMTP server: aiosmtpd's Mailbox handler writes each mail into a Maildir.
class SmtpServer {
 public:
  explicit SmtpServer(const std::string& maildir) : port_(FreePort()) {
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {"/usr/bin/python3",          "-m",   "aiosmtpd", "-n", "-l", listen, "-c",
                                     "aiosmtpd.handlers.Mailbox", maildir};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~SmtpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Waits (bounded) until the server accepts connections.
  bool WaitReady() {
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

TEST(Notifier, EmailReachesARealSmtpServer) {
  if (::system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0) {
    GTEST_SKIP() << "aiosmtpd is not installed (Debian package python3-aiosmtpd; scripts/deps.d/monitor.list)";
  }
  TempDir dir;
  SmtpServer smtp(dir.path + "/mail");
  ASSERT_TRUE(smtp.WaitReady());
  FakeClock clock;
  NotifierOptions o;
  o.clock = &clock;
  o.smtp.port = smtp.port();
  o.smtp.from = "gantry@ci.example";
  auto n = std::move(Notifier::Open(o).value());
  ASSERT_TRUE(n->AddSubscription("ops", {Protocol::kEmail, "oncall@example.com, lead@example.com", "", {}}).ok());
  Event e = Rollback();
  e.message = "Alarm fired.\n.a line starting with a dot\nDéploiement annulé";
  ASSERT_EQ(*n->Publish("ops", e), 1);
  ASSERT_EQ(*n->DeliverDue(), 1) << n->PendingErrors().at(0).second;
  std::string mail;
  DIR* d = ::opendir((dir.path + "/mail/new").c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* ent = ::readdir(d)) {
    if (ent->d_name[0] != '.') mail = *ReadFile(dir.path + "/mail/new/" + ent->d_name);
  }
  ::closedir(d);
  EXPECT_NE(mail.find("Subject: [gantry] web: deployment 42 rolled back"), std::string::npos) << mail;
  EXPECT_NE(mail.find("To: oncall@example.com, lead@example.com"), std::string::npos);
  EXPECT_NE(mail.find("\n.a line starting with a dot"), std::string::npos);  // un-stuffed by the server
  EXPECT_NE(mail.find("service: web"), std::string::npos);

  // The relay refusing a recipient is a delivery error with the server's words.
  SmtpOptions bad = o.smtp;
  bad.port = FreePort();
  Status st = SendMail(bad, {{"x@example.com"}, "s", "b"});
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace gantry::monitor
