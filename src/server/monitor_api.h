// Alarms and notification topics managed at runtime through the API (and `gantry alarms`,
// `gantry topics`), like CloudWatch's put-metric-alarm and SNS's create-topic/subscribe:
//
//   GET    /api/v1/alarms            every alarm: state, reason, since, source (api|config)
//   GET    /api/v1/alarms/NAME       one, with its definition when made through the API
//   PUT    /api/v1/alarms/NAME       a metric alarm {metric, dimensions, statistic, period, ...}
//                                    or a composite {rule, ...}; replaces one of that name
//   DELETE /api/v1/alarms/NAME
//   GET    /api/v1/topics            topics and their subscriptions (secrets not shown)
//   PUT    /api/v1/topics/NAME       {subscriptions: [{protocol, endpoint, secret, events}]}
//   DELETE /api/v1/topics/NAME
//
// What the API defines is kept in DATA/monitor/definitions.json and put back at start;
// what `.gantry/*.yml` declares is put by the deployments part each time it loads a config
// (and wins on a name clash then). Reads need a viewer token, changes an operator token;
// changes are audited. Bodies: JSON, errors as "body:line:col: ..." or "FIELD: ...".
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace gantry::http {
class Router;
}
namespace gantry::monitor {
class Monitor;
}

namespace gantry::server {

struct Context;

// Loads DATA/monitor/definitions.json into the monitor and mounts the handlers above on
// `router` (before the monitor's own routes, which they shadow for /api/v1/alarms).
Status MountMonitorApi(Context& ctx, monitor::Monitor* monitor, http::Router& router);

// The readers behind PUT (exposed for tests and the fuzz target): validate a body and put
// the alarm / topic into `monitor` (null: validate only). Errors name the field.
Status PutAlarmJson(monitor::Monitor* monitor, const std::string& name, const std::string& body,
                    std::string* normalized);
Status PutTopicJson(monitor::Monitor* monitor, const std::string& name, const std::string& body,
                    std::string* normalized);

}  // namespace gantry::server
