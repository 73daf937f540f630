// Where deployment state lives: a small key/value interface of JSON documents by kind, so the
// controller can move onto src/store later. SqliteStateStore keeps them in the data dir's
// deploy.db (its own tables). Every Put is durable before it returns: the controller stores a
// transition before acting on it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::deploy {

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual Status Put(const std::string& kind, const std::string& key, const std::string& json) = 0;
  virtual Result<std::string> Get(const std::string& kind, const std::string& key) = 0;  // error: missing
  virtual Status Delete(const std::string& kind, const std::string& key) = 0;
  // Every (key, json) of a kind, ordered by key.
  virtual Result<std::vector<std::pair<std::string, std::string>>> List(const std::string& kind) = 0;
  virtual Result<long long> NextId(const std::string& sequence) = 0;
};

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path);

}  // namespace gantry::deploy
