// The local store behind the built-in artifact and cache actions: named entries holding a
// directory tree. A server-side blob store can implement the same interface later.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace gantry::runner {

class ActionStore {
 public:
  virtual ~ActionStore() = default;
  // Saves the files under `root` named by `paths` (relative to root) as entry `key` of
  // `space` ("artifacts/<run>", "cache"), replacing an existing entry.
  virtual Status Save(const std::string& space, const std::string& key, const std::string& root,
                      const std::vector<std::string>& paths) = 0;
  // An artifact upload (space "artifacts/<run>") with upload-artifact's retention-days input
  // (0: the store's default). Stores that keep no expiry ignore it.
  virtual Status SaveArtifact(const std::string& space, const std::string& key, const std::string& root,
                              const std::vector<std::string>& paths, int /*retention_days*/) {
    return Save(space, key, root, paths);
  }
  // Copies entry `key` into `dest`; false if there is no such entry.
  virtual Result<bool> Restore(const std::string& space, const std::string& key, const std::string& dest) = 0;
  // Entry names of a space starting with `prefix`, newest first.
  virtual std::vector<std::string> List(const std::string& space, const std::string& prefix) = 0;
};

// Entries as plain directories under `root`/space/key.
std::unique_ptr<ActionStore> MakeLocalStore(const std::string& root);

}  // namespace gantry::runner
