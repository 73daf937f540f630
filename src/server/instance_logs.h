// Ships what deployed instances print into the monitor's application logs: the local fleet
// writes each instance's stdout to DATA/deploy/instances/ID.log and stderr to ID.err (files
// outlive a server restart, as the instances do); every round reads the complete lines added
// since the last one and appends them to the LogStore under the service's name, the
// instance id and the stream. How far each file was shipped is kept in `.shipped` beside
// them, so a restarted server neither loses nor repeats lines (at most the last round's,
// if it died between the two writes). Files of instances that are gone are deleted once
// shipped and an hour old.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"

namespace gantry::monitor {
class LogStore;
}

namespace gantry::server {

class InstanceLogShipper {
 public:
  InstanceLogShipper(std::string dir, monitor::LogStore* logs);
  // One round over every file; returns how many lines were shipped.
  Result<size_t> Ship(int64_t now_ms);

  // "web.staging.a-123-4" -> "web": the service of an instance id of the local fleet.
  static std::string ServiceOf(const std::string& instance_id);

 private:
  Status LoadOffsets();
  std::string dir_;
  monitor::LogStore* logs_;
  bool loaded_ = false;
  std::map<std::string, uint64_t> offsets_;  // file name -> bytes shipped
};

}  // namespace gantry::server
