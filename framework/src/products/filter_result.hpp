// The product of a filter stage (filter.nc), with its one table: the scores
// of every repetition per cycle, each repetition's rmse.a and truth's std, the
// standard error of rmse.a, and global attributes that summarise the run and
// say how it was made.
#pragma once

#include "products/products.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace assim::products {

struct FilterResult {
  StateSpec spec;                  // the scores' units, the time's units
  std::vector<double> times;       // (cycle): the model time of each analysis
  // (repetition, cycle), NaN past a divergence: the spatial RMS of the mean's
  // error and of the ensemble's std, after the analysis and the forecast.
  std::vector<double> rmse_analysis, spread_analysis, rmse_forecast, spread_forecast;
  std::vector<double> rmse_a_repetition, truth_std;  // (repetition)
  double rmse_a_standard_error = NAN;                // NaN for fewer than 2 repetitions kept
  // The time means after the burn-in over the repetitions that did not
  // diverge (DAPPER's rmse.a, spread.a, rmse.f, spread.f).
  double rmse_a = NAN, spread_a = NAN, rmse_f = NAN, spread_f = NAN;
  std::int64_t burn_in_cycles = 0, diverged_repetitions = 0, members = 0;
  std::string status;                   // "0: ok; 1: diverged at ..."
  std::int64_t window = 0, window_used = 0;  // a sliding 4D-Var window, as set and as used
  double forecast_seconds_per_cycle = 0, analysis_seconds_per_cycle = 0;
  ObservationDesign design;             // its noise and seed
  SamplerName sampler;                  // read back from the settings
  Attributes settings;                  // the sampler's and the model's
  std::int64_t repetitions() const { return static_cast<std::int64_t>(rmse_a_repetition.size()); }
  std::int64_t cycles() const { return static_cast<std::int64_t>(times.size()); }
};

void write_filter(const std::filesystem::path& path, const FilterResult& result);
FilterResult read_filter(const std::filesystem::path& path);

// The series per repetition and cycle, each with its name in the file, in
// the file's order: what a reader draws.
std::vector<std::pair<std::string, const std::vector<double>*>> filter_series(const FilterResult& result);

}  // namespace assim::products
