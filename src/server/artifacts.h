// Artifacts and caches on the server (docs/artifacts.md): the per-run artifact API under
// /api/v1/runs/ID/artifacts (list, upload, download, zipped download, delete), the store the
// built-in upload/download-artifact actions of server runs write to, the retention sweep, and
// the runtime token that runs' JavaScript actions present to the services @actions/artifact
// and @actions/cache speak.
#pragma once

#include <memory>

#include "base/status.h"

namespace gantry::http {
class Router;
}

namespace gantry::server {

struct Context;
struct Platform;
class ArtifactsHost;

// Opens the artifact store on platform.blobs, mounts the routes, hooks the run queue and
// starts the sweeper; the result lives in platform.artifacts.
Status MountArtifacts(Context& ctx, http::Router& router, Platform& platform);

}  // namespace gantry::server
