// What a stage's record says about the bytes it read and wrote, so that a
// changed input file recomputes the stage and a damaged result is recomputed
// instead of reused.
#pragma once

#include <assim/digest.hpp>

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace assim::provenance {

// The hash's view of a setting: keys sorted, one layout, every scalar
// quoted and every decimal number by its value, so that reordering keys,
// switching between block and flow style, writing 0.5 as 5e-1 or 2 as 2.0,
// or a --set that appends a key does not make a stage look changed (and
// recompute a prior that took an hour).
std::string canonical(const YAML::Node& node);

// The node as YAML text, for records.
std::string emit(const YAML::Node& node);

// "2026-12-01T21:40:00Z": the present moment in UTC.
std::string now_text();

// Every regular file under `folder` (relative path -> file_digest), except
// the stage record itself.
YAML::Node digest_outputs(const std::filesystem::path& folder, const std::string& record_file);

// "" when every file `recorded` lists still has its digest, else the first
// file that differs and how.
std::string damage(const std::filesystem::path& folder, const YAML::Node& recorded);

}  // namespace assim::provenance
