// The fields of one assimilate run for one window and seed, frame by frame:
// truth, observations (masked), analysis mean, ensemble spread and error for
// each layer, as colour-mapped images with colour bars and a table of their
// ranges.
#pragma once

#include "gallery.hpp"
#include "inputs.hpp"

#include <assim/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace assim::report {

struct FieldsChoice {
  std::int64_t window = 0, seed = 0;
  std::vector<std::int64_t> frames;  // empty: every frame of the window
};

// `observe`: the run's observe stage, or nothing with `why` saying why not.
std::string fields_section(const Config& config, const Input& run, const std::optional<Input>& observe,
                           const std::string& why, const FieldsChoice& choice, Gallery& gallery);

}  // namespace assim::report
