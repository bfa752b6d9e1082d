// The fields of assimilate runs for one window and seed, frame by frame:
// truth, observations (masked), analysis mean, ensemble spread and error for
// each layer of a 2-D state, as colour-mapped images with colour bars and a
// table of their ranges; a 1-D state's as lines per frame and pictures of
// time by space.
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

// An assimilate run to draw, with its observe stage, or nothing with `why` saying why not.
struct RunFields {
  Input run;
  std::optional<Input> observe;
  std::string why;
};

// The "Fields" section: each run's window, per frame; the error maps of every
// run on one colour scale per layer.
std::string fields_section(const Config& config, const std::vector<RunFields>& runs, const FieldsChoice& choice,
                           Gallery& gallery);

}  // namespace assim::report
