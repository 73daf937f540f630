#include "monitor/smtp.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace gantry::monitor {

namespace {

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out.substr(0, 998);
}

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Connect(const SmtpOptions& o) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(o.port);
    int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) return Status::Error("smtp " + o.host + ": " + gai_strerror(rc));
    std::string err = "no address";
    for (addrinfo* a = res; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      timeval tv{o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      err = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) return Status::Error("smtp " + o.host + ":" + port + ": " + err);
    return Status::Ok();
  }

  Status Write(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Error(std::string("smtp write: ") + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  // Reads one (possibly multi-line) reply; returns its code or an error.
  Result<int> Reply(std::string* text) {
    text->clear();
    for (int lines = 0; lines < 100; ++lines) {
      std::string line;
      for (;;) {
        size_t nl = buf_.find('\n');
        if (nl != std::string::npos) {
          line = buf_.substr(0, nl);
          buf_.erase(0, nl + 1);
          break;
        }
        if (buf_.size() > 4096) return Result<int>::Error("smtp: reply line longer than 4096 bytes");
        char tmp[1024];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Result<int>::Error(n == 0 ? "smtp: connection closed" : "smtp: read timed out or failed");
        buf_.append(tmp, static_cast<size_t>(n));
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))) {
        return Result<int>::Error("smtp: malformed reply \"" + line.substr(0, 80) + "\"");
      }
      *text += line + "\n";
      if (line.size() == 3 || line[3] != '-') return std::atoi(line.substr(0, 3).c_str());
    }
    return Result<int>::Error("smtp: reply longer than 100 lines");
  }

  Status Command(const std::string& cmd, int want_class, const std::string& step) {
    if (!cmd.empty()) {
      if (Status st = Write(cmd + "\r\n"); !st.ok()) return st;
    }
    std::string text;
    auto code = Reply(&text);
    if (!code.ok()) return Status::Error(step + ": " + code.error());
    if (*code / 100 != want_class) {
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return Status::Error(step + " refused: " + text.substr(0, 300));
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string DateHeader() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

std::string EncodeHeaderWord(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s) ascii = ascii && c >= 0x20 && c < 0x7f;
  return ascii ? s : "=?UTF-8?B?" + Base64(s) + "?=";
}

Status SendMail(const SmtpOptions& o, const Mail& mail) {
  if (mail.to.empty()) return Status::Error("smtp: no recipients");
  Connection c;
  if (Status st = c.Connect(o); !st.ok()) return st;
  if (Status st = c.Command("", 2, "greeting"); !st.ok()) return st;
  if (Status st = c.Command("EHLO " + OneLine(o.helo), 2, "EHLO"); !st.ok()) {
    if (Status st2 = c.Command("HELO " + OneLine(o.helo), 2, "HELO"); !st2.ok()) return st2;
  }
  if (Status st = c.Command("MAIL FROM:<" + OneLine(o.from) + ">", 2, "MAIL FROM"); !st.ok()) return st;
  for (const auto& to : mail.to) {
    if (Status st = c.Command("RCPT TO:<" + OneLine(to) + ">", 2, "RCPT TO " + OneLine(to)); !st.ok()) return st;
  }
  if (Status st = c.Command("DATA", 3, "DATA"); !st.ok()) return st;
  std::string msg;
  msg += "From: " + OneLine(o.from) + "\r\n";
  std::string to_list;
  for (const auto& to : mail.to) to_list += (to_list.empty() ? "" : ", ") + OneLine(to);
  msg += "To: " + to_list + "\r\n";
  msg += "Subject: " + EncodeHeaderWord(OneLine(mail.subject)) + "\r\n";
  msg += "Date: " + DateHeader() + "\r\n";
  msg += "Message-ID: <" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "." +
         std::to_string(::getpid()) + "@" + OneLine(o.helo) + ">\r\n";
  msg += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  // Normalise line ends to CRLF and dot-stuff lines that start with '.'.
  size_t pos = 0;
  while (pos <= mail.body.size()) {
    size_t nl = mail.body.find('\n', pos);
    std::string line = mail.body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] == '.') line.insert(0, ".");
    if (nl == std::string::npos && line.empty()) break;
    msg += line + "\r\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  msg += ".";
  if (Status st = c.Command(msg, 2, "message"); !st.ok()) return st;
  (void)c.Command("QUIT", 2, "QUIT");
  return Status::Ok();
}

}  // namespace gantry::monitor
