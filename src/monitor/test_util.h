// Test helpers for the monitor tests: an in-memory http::Request/Response pair (used where a
// handler is checked without a socket; the end-to-end tests use the real server) and a
// temp-dir fixture. Included only by *_test.cc.
#pragma once

#include <cstring>
#include <string>

#include "base/fs.h"
#include "base/http.h"

namespace gantry::monitor::testing {

class StringRequest : public http::Request {
 public:
  StringRequest(std::string m, std::string target, std::string body = "") : body_(std::move(body)) {
    method = std::move(m);
    this->target = target;
    auto q = target.find('?');
    path = target.substr(0, q);
    if (q != std::string::npos) query = target.substr(q + 1);
    content_length = body_.size();
  }
  long long ReadBody(char* buf, size_t n) override {
    size_t k = std::min(n, body_.size() - pos_);
    std::memcpy(buf, body_.data() + pos_, k);
    pos_ += k;
    return static_cast<long long>(k);
  }

 private:
  std::string body_;
  size_t pos_ = 0;
};

class StringResponse : public http::Response {
 public:
  bool Start(int s, const http::Headers& h, std::optional<uint64_t>) override {
    status = s;
    headers = h;
    started_ = true;
    return true;
  }
  bool Write(std::string_view d) override {
    body += d;
    return true;
  }
  bool Flush() override { return true; }
  void Finish() override {}
  bool started() const override { return started_; }

  int status = 0;
  http::Headers headers;
  std::string body;

 private:
  bool started_ = false;
};

}  // namespace gantry::monitor::testing
