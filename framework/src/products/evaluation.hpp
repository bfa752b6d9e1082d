// The product of an evaluate stage (evaluation.nc), with its one table:
// assimilation runs side by side, a value per run for each score and the
// RMSE per frame of each run, and each run's observation-space diagnostics
// (science/observation_space.hpp) per operator channel, and the power
// spectrum of each run's analysis against the truth's (science/spectrum.hpp),
// and the scores of free forecasts from each run's analysis against lead.
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
      crps, energy_score, spectral_ratio_small, spectral_ratio_small_sample, climatology, seconds_per_window, model_steps_per_window, network_evaluations_per_window,
      training_seconds, diverged;
  // The power per wavenumber (science/spectrum.hpp), empty or undefined for
  // a state without a 1-D or 2-D grid: the wavenumbers (wavenumber), the
  // truth's power over the frames each run scored and the analysis mean's
  // and one member's (where the samples are kept, else NaN) over it (run,
  // wavenumber); spectral_ratio_small* above are those powers summed over
  // the upper half of the wavenumbers, over the truth's (science/spectrum.hpp).
  std::vector<double> wavenumber;
  at::Tensor power_truth, spectral_ratio, spectral_ratio_sample;
  // Observation-space diagnostics, NaN where absent (also past a run's own
  // channels or ranks, where runs have different operators or members):
  // (run, obs_channel) each, in observation_diagnostics' words,
  at::Tensor count_oa, oma_bias, oma_rms, oma_rms_member, count_ob, omb_bias, omb_rms, desroziers_r, desroziers_b,
      chi2, dfs, dfs_fraction;
  at::Tensor oma_rms_per_frame, omb_rms_per_frame;        // (run, time), over the channels
  at::Tensor obs_rank_histogram_a, obs_rank_histogram_b;  // (run, obs_rank)
  // (run): RMS spread of the members perturbed by the noise, RMSE of their
  // mean against y, spread-skill ratio; of the analysis (_a), the background (_b).
  std::vector<double> obs_spread_a, obs_rmse_a, obs_calibration_a, obs_spread_b, obs_rmse_b, obs_calibration_b;
  // Free forecasts from each run's analysis at its windows' last frame
  // (science/forecast.hpp), scored against the truth's continuation; empty
  // and undefined without evaluate's `forecast`: the lead of each (lead),
  // in lead_units (the truth's time units), and (run, lead) the RMSE of the
  // forecast members' mean and their fair CRPS, mean over windows and
  // seeds; (run) the members each run forecast (1: its mean, where its
  // samples were not kept).
  std::vector<double> lead;
  std::string lead_units;
  at::Tensor forecast_rmse, forecast_crps;
  std::vector<double> forecast_members;
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

// The observation-space diagnostics per run and channel, in the file's and
// the table's order, pointing at `evaluation`'s (run, obs_channel) fields.
std::vector<Score> observation_diagnostics(const Evaluation& evaluation);
// Those per run (the ensembles' spread-skill in observation space).
std::vector<Score> observation_scores(const Evaluation& evaluation);

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
