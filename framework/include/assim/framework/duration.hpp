// Durations in experiment files: "5 years", "1 day", "1800 s", "100 steps",
// or a bare number in the model's own time unit.
#pragma once

#include <cstdint>
#include <string>

namespace assim {

// The number of whole time steps of length `step` (in `time_units`: "s" or
// "1" for a nondimensional model) that `text` spans. Throws Error (the
// caller adds the key) for unknown units, physical units on a
// nondimensional model, negative durations, or a duration that is not a
// whole number of steps. A year is 365 days, as in pyqg.
std::int64_t steps_in(const std::string& text, double step, const std::string& time_units);

}  // namespace assim
