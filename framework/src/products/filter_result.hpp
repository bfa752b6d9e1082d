// The product of a filter stage (filter.nc), with its one writer: the
// scores of every repetition per cycle, each repetition's rmse.a and
// truth's std, the standard error of rmse.a, and global attributes that
// summarise the run and say how it was made.
#pragma once

#include "products/products.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace assim::products {

struct FilterResult {
  StateSpec spec;  // the scores' units, the time's units
  std::int64_t repetitions = 0, cycles = 0;
  std::vector<double> times;                               // (cycle): the model time of each analysis
  std::vector<double> rmse_a, spread_a, rmse_f, spread_f;  // (repetition, cycle), NaN past a divergence
  std::vector<double> rmse_a_repetition, truth_std;        // (repetition)
  double rmse_a_standard_error = NAN;                      // NaN for fewer than 2 repetitions kept
  Attributes attributes;                                   // the summary, the status, the settings
};

void write_filter(const std::filesystem::path& path, const FilterResult& result);

}  // namespace assim::products
