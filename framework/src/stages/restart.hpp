// Initial states from a file, so that long integrations can be continued and
// runs can start from the reference states of other codes.
#pragma once

#include <assim/model.hpp>

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace assim {

// Reads (trajectories, state dims...) from either
// - a NetCDF file holding the model's variable, shaped like one state (used
//   for every trajectory) or (sample, time, state dims...): the last frame
//   of the last piece of each of the file's trajectories (its `trajectory`
//   and `piece` variables; without them each sample is a trajectory), a
//   continuation of an earlier generate stage, which must ask for as many
//   trajectories as the file holds (one sample is one state, for every one), or
// - a meta.json describing raw little-endian float64 arrays (the layout of
//   tests/data/pyqg), from which `array` is taken.
// `where` names the setting in error messages.
// Refuses a meta.json whose entries are malformed, name a file outside its
// folder or disagree with the raw file's size, an empty `sample` or `time`
// dim, and a restart holding NaN, Inf or values whose square overflows.
at::Tensor read_restart(const std::filesystem::path& file, const std::string& array, const StateSpec& spec,
                        std::int64_t trajectories, const std::string& where);

// The raw file a meta.json restart reads for `array` (empty for NetCDF or a
// meta.json that cannot be read), for the stage's hash.
std::map<std::string, std::filesystem::path> restart_files(const std::filesystem::path& file,
                                                           const std::string& array);

}  // namespace assim
