// The local fleet: instances are processes on this machine, each with its own port (PORT),
// started in their own session so they outlive the server (a SIGKILLed server re-adopts them
// from the records in DATA/instances), restarted with exponential backoff when they exit,
// health-checked with ALB semantics, stdout appended to DATA/instances/ID.log and stderr to
// DATA/instances/ID.err (the server ships both into the monitor's application logs).
// Optional bubblewrap sandbox; memory/CPU limits through cgroup v2 when writable, else
// RLIMIT_AS for memory and no CPU limit (quietly; see docs/deploy.md).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "deploy/target.h"

namespace gantry::deploy {

class LocalFleet : public Target {
 public:
  // Re-adopts the instances recorded in `data_dir` (restarting those that died meanwhile).
  static Result<std::unique_ptr<LocalFleet>> Open(const std::string& data_dir);
  ~LocalFleet() override;  // stops supervising; the processes keep running

  std::string name() const override { return "local"; }
  Result<Instance> Start(const InstanceSpec& spec) override;
  Status Stop(const std::string& id) override;
  std::vector<Instance> List(const std::string& group_prefix) override;

  // The stdout file of an instance (stderr: the same path with ".err" for ".log").
  std::string LogPath(const std::string& id) const;
  // The directory of instance records and log files.
  std::string dir() const;
  // The image root filesystems live instances run in (for ImageUnpacker::Prune).
  std::set<std::string> RootfsInUse();
  // Stops every instance (tests and `gantry apply --destroy`).
  void StopAll();

  struct Impl;

 private:
  explicit LocalFleet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::deploy
