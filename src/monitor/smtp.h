// A small SMTP client (RFC 5321, plain SMTP without TLS or AUTH) for email notifications to
// a relay on the local network. Replies are read with limits; header values are stripped of
// CR/LF so an event cannot inject headers; the body is dot-stuffed.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::monitor {

struct SmtpOptions {
  std::string host = "127.0.0.1";
  int port = 25;
  std::string helo = "gantry.localhost";
  std::string from = "gantry@localhost";
  int timeout_ms = 10000;
};

struct Mail {
  std::vector<std::string> to;
  std::string subject;
  std::string body;  // plain text, UTF-8
};

// Connects, sends one mail and quits. The error says which step the server refused.
Status SendMail(const SmtpOptions& options, const Mail& mail);

// "=?UTF-8?B?...?=" when `s` is not plain ASCII (RFC 2047), else `s`.
std::string EncodeHeaderWord(const std::string& s);

}  // namespace gantry::monitor
