// The product of an evaluate stage (evaluation.nc), with its one table:
// assimilation runs side by side, a value per run for each score and the
// RMSE per frame of each run.
#pragma once

#include "products/table.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <string>
#include <vector>

namespace assim::products {

struct Evaluation {
  std::vector<std::string> runs, samplers, needs;   // (run): the stage, its sampler's type, what it takes
  at::Tensor rmse_per_frame, rmse_sample_per_frame;  // (run, time): of the mean, of one sample
  std::string units;                                 // of the runs' scores
  // (run) each, in evaluation_scores' words.
  std::vector<double> rmse_sample, rmse_sample_frame0, rmse_sample_later, rmse, rmse_seed_std, spread, calibration,
      crps, climatology, seconds_per_window, model_steps_per_window, network_evaluations_per_window,
      training_seconds, diverged;
};

// A score, as the file holds it (a variable over runs) and as the plain
// table shows it (a header and a printf format).
struct Score {
  Variable variable;
  std::string header, format;
};

// The scores in the file's and the tables' order, the papers' metric first,
// pointing at `evaluation`'s fields.
std::vector<Score> evaluation_scores(const Evaluation& evaluation);

void write_evaluation(const std::filesystem::path& path, const Evaluation& evaluation);
Evaluation read_evaluation(const std::filesystem::path& path);

}  // namespace assim::products
