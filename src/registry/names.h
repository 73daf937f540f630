// Validation of what clients put in registry URLs: repository names, tags, references.
// Everything that becomes a path on disk passes through here first, so a name can never
// climb out of the data directory.
#pragma once

#include <string_view>

namespace gantry::registry {

inline constexpr size_t kMaxNameLength = 255;

// The distribution spec's grammar: path components of [a-z0-9]+ joined by '.', '_', '__'
// or runs of '-', separated by '/'; at most 255 characters.
bool IsValidRepositoryName(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

}  // namespace gantry::registry
