// The product of an evaluate stage (evaluation.nc), with its one table:
// assimilation runs side by side, a value per run for each score and the
// RMSE per frame of each run.
#pragma once

#include "products/table.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
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
  // A mean over windows and seeds whose standard error the sweep's file
  // holds beside it (`<score>_se`).
  bool with_error = false;
};

// The scores in the file's and the tables' order, the papers' metric first,
// pointing at `evaluation`'s fields.
std::vector<Score> evaluation_scores(const Evaluation& evaluation);

void write_evaluation(const std::filesystem::path& path, const Evaluation& evaluation);
Evaluation read_evaluation(const std::filesystem::path& path);

// The product of an evaluate stage whose runs were made over a sweep
// (sweep.nc, xarray-ready): each score of evaluation_scores over the sweep's
// dimensions, whose coordinate variables hold the swept values (numbers
// where every value of the dimension is one, else the labels), NaN where no
// run was made, and the standard error over windows and seeds of the scores
// that have one (Score::with_error, as `<score>_se`).
struct SweepDimension {
  std::string name;
  std::vector<double> numbers;      // the values, when all are numbers
  std::vector<std::string> labels;  // else their labels
  std::int64_t size() const { return static_cast<std::int64_t>(numbers.empty() ? labels.size() : numbers.size()); }
};

struct SweepEvaluation {
  std::vector<SweepDimension> dims;  // in the order declared under sweeps:, the first slowest
  std::string units;                 // of the runs' scores
  at::Tensor run_index;              // (dims...): the run's index in evaluation.nc, -1 where none
  // (dims...) each, by the name of the score in evaluation_scores.
  std::map<std::string, at::Tensor> scores, errors;
};

void write_sweep(const std::filesystem::path& path, const SweepEvaluation& sweep);
SweepEvaluation read_sweep(const std::filesystem::path& path);

}  // namespace assim::products
