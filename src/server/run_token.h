// Run-scoped API tokens: steps of a run get GANTRY_URL and a GANTRY_TOKEN valid only while
// that run is running ("gtr_<run>_<hmac>", keyed by <data>/run-token.key), with the
// operator role, so a workflow can deploy (`uses: gantry/deploy@v1`, or the CLI) without
// a stored long-lived token. Nothing is kept per run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gantry::server {

std::string MakeRunToken(const std::string& data_dir, int64_t run_id);
// The run a well-formed, correctly signed token names (whether it still runs is the caller's).
std::optional<int64_t> RunOfToken(const std::string& data_dir, const std::string& token);

}  // namespace gantry::server
