// `run --adopt` keeps a result an earlier build computed only once today's
// build has recomputed part of it and got the same numbers, bit for bit: a
// check that rests on nobody's word (plugin versions are bumped by hand, and
// often are not).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace assim::recheck {

struct Outcome {
  std::string difference;    // "" when every compared value is the same
  std::int64_t variables = 0, values = 0;  // what was compared
};

// Compares every NetCDF product in `recomputed` with the one of the same name
// in `kept`: each numeric variable but timings (names holding "seconds",
// which are measurements), whole, or, where `part_dims` is not empty, only
// the variables with one of those dims, against the slice of `kept` the
// smaller recomputation fills (from index 0).
Outcome compare(const std::filesystem::path& kept, const std::filesystem::path& recomputed,
                const std::vector<std::string>& part_dims);

}  // namespace assim::recheck
