// Numbered schema migrations, applied in order, each in its own transaction together with
// its row in schema_migrations, so a crash mid-migration leaves the previous version.
#pragma once

#include "base/status.h"
#include "store/db.h"

namespace gantry::store {

// Applies every migration newer than the database's version; returns the new version.
Result<int64_t> Migrate(Db& db);
// Applies migrations up to `target` only (tests of upgrades from an older schema).
Result<int64_t> Migrate(Db& db, int64_t target);
int64_t LatestSchemaVersion();

}  // namespace gantry::store
