// The HTTP (webhook, Slack) and SMTP (email) transports of the notifier.
#include "base/http_client.h"
#include "base/strings.h"
#include "monitor/notify.h"

namespace gantry::monitor {

namespace {

class HttpTransport : public Transport {
 public:
  explicit HttpTransport(int timeout_ms) : timeout_ms_(timeout_ms) {}
  Status Send(const Delivery& d) override {
    http::ClientRequest req = http::MakeRequest("POST", d.endpoint, d.body, d.headers);
    req.headers.push_back({"Content-Type", "application/json"});
    req.headers.push_back({"User-Agent", "gantry-notifier"});
    req.timeout_ms = timeout_ms_;
    auto res = http::Fetch(req, 64 * 1024);
    if (!res.ok()) return Status::Error(d.endpoint + ": " + res.error());
    if (res->status < 200 || res->status >= 300) {
      return Status::Error(d.endpoint + ": HTTP " + std::to_string(res->status));
    }
    return Status::Ok();
  }

 private:
  int timeout_ms_;
};

class SmtpTransport : public Transport {
 public:
  explicit SmtpTransport(SmtpOptions options) : options_(std::move(options)) {}
  Status Send(const Delivery& d) override {
    Mail mail;
    for (const auto& a : Split(d.endpoint, ',')) {
      if (!Trim(a).empty()) mail.to.emplace_back(Trim(a));
    }
    mail.subject = "[gantry] " + d.subject;
    mail.body = d.body;
    return SendMail(options_, mail);
  }

 private:
  SmtpOptions options_;
};

}  // namespace

std::shared_ptr<Transport> MakeHttpTransport(int timeout_ms) { return std::make_shared<HttpTransport>(timeout_ms); }
std::shared_ptr<Transport> MakeSmtpTransport(SmtpOptions options) {
  return std::make_shared<SmtpTransport>(std::move(options));
}

}  // namespace gantry::monitor
