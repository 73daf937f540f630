// What `gantry server` hosts beside CI: the blob store and the OCI registry at /v2/ (pull
// for viewers, push for operators, delete for admins, by the same API tokens), and the
// monitor (/metrics for Prometheus; metrics push and query, alarms and application logs
// under /api/v1, behind the same tokens).
#pragma once

#include <memory>

#include "base/status.h"

namespace gantry::http {
class Router;
}
namespace gantry::blob {
class BlobStore;
}
namespace gantry::registry {
class Registry;
}
namespace gantry::monitor {
class Monitor;
}

namespace gantry::server {

struct Context;
class Deployments;
class ArtifactsHost;

struct Platform {
  std::unique_ptr<blob::BlobStore> blobs;
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<monitor::Monitor> monitor;
  std::unique_ptr<Deployments> deployments;  // server/deployments.h
  std::unique_ptr<ArtifactsHost> artifacts;  // server/artifacts.h
  ~Platform();
};

// Opens the parts under ctx.options.data_dir and mounts them on `router`; the monitor's
// loop starts here and stops when the Platform is destroyed.
Result<std::unique_ptr<Platform>> OpenPlatform(Context& ctx, http::Router& router);

}  // namespace gantry::server
