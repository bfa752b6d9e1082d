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

// Every regular file under `folder` (relative path -> file_digest), except
// the stage record itself.
YAML::Node digest_outputs(const std::filesystem::path& folder, const std::string& record_file);

// "" when every file `recorded` lists still has its digest, else the first
// file that differs and how.
std::string damage(const std::filesystem::path& folder, const YAML::Node& recorded);

}  // namespace assim::provenance
