// The stages a report reads: their result folders and the records
// (stage.yaml: resolved config and provenance) the runner wrote beside them.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>

namespace assim::report {

struct Input {
  std::string name;  // the stage's name in the experiment
  std::string kind;  // its `run:` (assimilate, filter, evaluate, observe)
  std::filesystem::path folder;
  YAML::Node record;
  std::string record_text;
};

Input read_input(const std::filesystem::path& folder);

// The observe stage an assimilate stage read, when its result in the same
// experiment folder is still the one the assimilate stage used (same hash);
// otherwise nothing, with the reason in `why`.
std::optional<Input> observations_of(const Input& assimilate, std::string& why);

}  // namespace assim::report
