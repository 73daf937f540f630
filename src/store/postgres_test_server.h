// Test support (header-only, for *_test.cc and bench): starts a throwaway PostgreSQL server
// from the Debian binaries on 127.0.0.1 with a free port, in a temp dir, as the `postgres`
// user when running as root. Installs nothing; available() is false when the binaries are
// absent (tests then GTEST_SKIP with why()).
#pragma once

#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/fs.h"
#include "base/strings.h"

namespace gantry::store::testing {

class PostgresTestServer {
 public:
  PostgresTestServer() {
    glob_t g{};
    if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) != 0 || g.gl_pathc == 0) {
      why_ =
          "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
          "install the packages in scripts/deps.d/server.list";
      ::globfree(&g);
      return;
    }
    std::string initdb = g.gl_pathv[g.gl_pathc - 1];
    ::globfree(&g);
    bin_ = initdb.substr(0, initdb.size() - 6);  // keeps the trailing slash
    auto dir = MakeTempDir("gantry-pg-");
    if (!dir.ok()) {
      why_ = dir.error();
      return;
    }
    dir_ = *dir;
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        why_ = "running as root and there is no 'postgres' user to run the server as";
        return;
      }
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        why_ = "cannot chown " + dir_;
        return;
      }
      as_user_ = "setpriv --reuid=postgres --regid=postgres --init-groups ";
    }
    port_ = FreePort();
    std::string data = dir_ + "/data";
    if (!Sh(bin_ + "initdb -D " + data + " -U gantry --auth=trust -E UTF8 >" + dir_ + "/initdb.log 2>&1")) {
      auto log = ReadFile(dir_ + "/initdb.log");
      why_ = "initdb failed: " + (log.ok() ? *log : std::string("(no log)"));
      return;
    }
    std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1 -F";
    if (!Sh(bin_ + "pg_ctl -D " + data + " -o '" + opts + "' -w -t 60 -l " + dir_ + "/server.log start >/dev/null")) {
      auto log = ReadFile(dir_ + "/server.log");
      why_ = "pg_ctl start failed: " + (log.ok() ? *log : std::string("(no log)"));
      return;
    }
    running_ = true;
  }
  ~PostgresTestServer() {
    if (running_) Sh(bin_ + "pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1");
    if (!dir_.empty()) (void)RemoveAll(dir_);
  }
  bool available() const { return running_; }
  // The binaries exist (a failure to start is then a test failure, not a skip).
  bool installed() const { return !bin_.empty(); }
  const std::string& why() const { return why_; }
  // A URL for database `name` (created on first use with CREATE DATABASE by the caller).
  std::string Url(const std::string& db = "postgres") const {
    return "postgres://gantry@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  // Creates a fresh database and returns its URL.
  std::string NewDatabase(const std::string& name) {
    Sh(bin_ + "psql -q -h 127.0.0.1 -p " + std::to_string(port_) + " -U gantry -d postgres -c 'CREATE DATABASE " +
       name + "' >/dev/null 2>&1");
    return Url(name);
  }

 private:
  bool Sh(const std::string& cmd) const { return std::system((as_user_ + cmd).c_str()) == 0; }
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }
  std::string bin_, dir_, why_, as_user_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace gantry::store::testing
