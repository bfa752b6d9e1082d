#include "products/evaluation.hpp"

#include <assim/error.hpp>

#include <algorithm>

namespace assim::products {

namespace {

// A score over runs: its units are the runs' where none are given.
Score score(const char* name, const char* header, const char* format, std::string units, const char* long_name,
            std::vector<double>& values, const std::string& run_units, bool with_error = false) {
  return {{name, {"run"}, units.empty() ? run_units : units, long_name, &values}, header, format, with_error};
}

Table evaluation_table(Evaluation& e) {
  Table t;
  t.stage = "evaluate";
  t.entries = {Dim{"run"},
               Variable{"run", {"run"}, "", "the assimilate stage scored", &e.runs, Stored::text},
               Variable{"sampler", {"run"}, "", "the type of its sampler", &e.samplers, Stored::text},
               Variable{"needs", {"run"}, "", "what the method takes besides the observations", &e.needs, Stored::text},
               Dim{"time"},
               Variable{"rmse_per_frame", {"run", "time"}, e.units,
                        "RMSE of the ensemble mean per frame, mean over windows and seeds", &e.rmse_per_frame},
               Variable{"rmse_sample_per_frame", {"run", "time"}, e.units,
                        "RMSE of one sample per frame, mean over samples, windows and seeds",
                        &e.rmse_sample_per_frame}};
  for (const Score& s : evaluation_scores(e)) t.entries.emplace_back(s.variable);
  // The observation-space diagnostics: optional, for files written before them.
  const auto optional = [](Variable v) {
    v.optional = true;
    return v;
  };
  t.entries.emplace_back(Dim{"obs_channel", Dim::Coordinate::index, "channel of the observation operator's output",
                             true});
  for (const Score& s : observation_diagnostics(e)) t.entries.emplace_back(optional(s.variable));
  t.entries.emplace_back(optional(Variable{"oma_rms_per_frame", {"run", "time"}, e.units,
                                           "RMS of y - H(x_a) of the analysis mean per frame, over the channels",
                                           &e.oma_rms_per_frame}));
  t.entries.emplace_back(optional(Variable{"omb_rms_per_frame", {"run", "time"}, e.units,
                                           "RMS of y - H(x_b) of the background mean per frame, over the channels",
                                           &e.omb_rms_per_frame}));
  t.entries.emplace_back(Dim{"obs_rank", Dim::Coordinate::index, "number of perturbed members below y", true});
  t.entries.emplace_back(optional(Variable{"obs_rank_histogram_a", {"run", "obs_rank"}, "1",
                                           "observations where y has that rank among the analysis members "
                                           "perturbed by the assumed noise, H(x_i) + eps_i", &e.obs_rank_histogram_a}));
  t.entries.emplace_back(optional(Variable{"obs_rank_histogram_b", {"run", "obs_rank"}, "1",
                                           "the same among the background (forecast) members",
                                           &e.obs_rank_histogram_b}));
  for (const Score& s : observation_scores(e)) t.entries.emplace_back(optional(s.variable));
  // The spectra: optional, absent for a state without a 1-D or 2-D grid.
  t.entries.emplace_back(Dim{"wavenumber", Dim::Coordinate::none, "", true});
  t.entries.emplace_back(optional(Variable{"wavenumber", {"wavenumber"}, "1", "cycles per domain (the smallest grid "
                                           "dim's length)", &e.wavenumber}));
  t.entries.emplace_back(optional(Variable{"power_truth", {"run", "wavenumber"},
                                           e.units == "1" ? "1" : "(" + e.units + ")2", "the truth's power |FFT|^2 "
                                           "summed over the wavevectors of that length and the channels, mean over "
                                           "the frames the run scored", &e.power_truth}));
  t.entries.emplace_back(optional(Variable{"spectral_ratio", {"run", "wavenumber"}, "1", "the analysis mean's power "
                                           "over the truth's (1: the truth's energy; below 1: smoothed; NaN where the truth has below 1e-6 of its "
                                           "strongest wavenumber's)",
                                           &e.spectral_ratio}));
  t.entries.emplace_back(optional(Variable{"spectral_ratio_sample", {"run", "wavenumber"}, "1", "the same of one "
                                           "posterior sample, member 0 (with the samples kept)",
                                           &e.spectral_ratio_sample}));
  // The forecasts: optional, absent without evaluate's forecast.
  t.entries.emplace_back(Dim{"lead", Dim::Coordinate::none, "", true});
  t.entries.emplace_back(optional(Variable{"lead", {"lead"}, e.lead_units, "time of the free forecast from the "
                                           "analysis at the window's last frame", &e.lead}));
  t.entries.emplace_back(optional(Variable{"forecast_rmse", {"run", "lead"}, e.units, "RMSE of the forecast "
                                           "members' mean against the truth's continuation, mean over windows and "
                                           "seeds (lead 0: the analysis's RMSE at the window's last frame)",
                                           &e.forecast_rmse}));
  t.entries.emplace_back(optional(Variable{"forecast_crps", {"run", "lead"}, e.units, "fair CRPS of the forecast "
                                           "members (one member: its mean absolute error), mean over windows and "
                                           "seeds", &e.forecast_crps}));
  t.entries.emplace_back(optional(Variable{"forecast_members", {"run"}, "1", "members forecast from each window's "
                                           "analysis (1: the analysis mean, where the samples were not kept)",
                                           &e.forecast_members}));
  return t;
}

// The sweep's table: its dimensions with their values, then every score and
// its standard error over them.
Table sweep_table(SweepEvaluation& s, Evaluation& names) {
  Table t;
  t.stage = "evaluate";
  t.title = "scores over a sweep";
  std::vector<std::string> dims;
  for (auto& d : s.dims) {
    dims.push_back(d.name);
    t.entries.emplace_back(Dim{d.name});
    if (d.labels.empty())
      t.entries.emplace_back(Variable{d.name, {d.name}, "", "the swept value of " + d.name, &d.numbers});
    else
      t.entries.emplace_back(Variable{d.name, {d.name}, "", "the label of the swept value of " + d.name, &d.labels,
                                      Stored::text});
  }
  t.entries.emplace_back(Variable{"run_index", dims, "", "the run's index along run in the stage's evaluation.nc; "
                                  "-1: no run was made with these values", &s.run_index, Stored::integer});
  names.units = s.units;
  for (const Score& score : evaluation_scores(names)) {
    Variable v = score.variable;
    v.dims = dims;
    v.field = &s.scores[v.name];
    t.entries.emplace_back(v);
    if (score.with_error)
      t.entries.emplace_back(Variable{v.name + "_se", dims, v.units,
                                      "standard error over windows and seeds of: " + v.long_name,
                                      &s.errors[v.name]});
  }
  return t;
}

}  // namespace

void write_sweep(const std::filesystem::path& path, const SweepEvaluation& sweep) {
  Evaluation names;
  write(path, sweep_table(const_cast<SweepEvaluation&>(sweep), names));  // the table only reads its fields
}

SweepEvaluation read_sweep(const std::filesystem::path& path) {
  SweepEvaluation s;
  const auto file = netcdf::File::open(path);
  // The dimensions are run_index's, in its order: numbers where the
  // coordinate variable holds numbers, else labels.
  if (!file.has_variable("run_index"))
    throw Error(path.string() + ": variable 'run_index' is missing; the file was not written by this version of "
                "assim (rerun the stage that made it, with --force)");
  const auto numeric = file.numeric_variables();
  for (const auto& name : file.dimensions_of("run_index")) {
    SweepDimension d;
    d.name = name;
    if (std::find(numeric.begin(), numeric.end(), name) == numeric.end()) d.labels = {""};
    s.dims.push_back(std::move(d));
  }
  Evaluation names;
  const Table table = sweep_table(s, names);
  s.units = units_of(file, table, &s.scores.at("rmse"));
  read(file, table);
  return s;
}

std::vector<Score> evaluation_scores(const Evaluation& evaluation) {
  auto& e = const_cast<Evaluation&>(evaluation);  // the scores only point at its fields
  const std::string& u = e.units;
  return {
      score("rmse_sample", "rmse", "%.4f", "", "RMSE of one posterior sample (the papers' metric), averaged over "
            "samples, frames, windows and seeds", e.rmse_sample, u, true),
      score("rmse_sample_frame0", "frame0", "%.4f", "", "the same at frame 0 alone (pinned by a background)",
            e.rmse_sample_frame0, u),
      score("rmse_sample_later", "later", "%.4f", "", "the same over frames 1..L-1", e.rmse_sample_later, u),
      score("rmse", "rmse_mean", "%.4f", "", "RMSE of the ensemble mean, averaged over frames, windows and seeds",
            e.rmse, u, true),
      score("rmse_seed_std", "+-seeds", "%.4f", "",
            "standard deviation over seeds of the per-seed RMSE of the mean (absent with one seed)", e.rmse_seed_std, u),
      score("spread", "spread", "%.4f", "", "RMS ensemble spread", e.spread, u, true),
      score("calibration", "calib", "%.3f", "1", "sqrt((M + 1) / M) spread / RMSE of the mean (1: calibrated)",
            e.calibration, u),
      score("crps", "crps", "%.4f", "", "fair ensemble CRPS", e.crps, u, true),
      score("energy_score", "energy", "%.4f", "", "fair energy score: the CRPS of the whole state, distances in the "
            "RMS norm (one member: its RMSE; NaN for results that predate it)", e.energy_score, u, true),
      score("spectral_ratio_small", "spec_hi", "%.3f", "1", "the analysis mean's power summed over the upper half "
            "of the wavenumbers over the truth's (1: the truth's small-scale energy; below 1: smoothed)",
            e.spectral_ratio_small, u),
      score("spectral_ratio_small_sample", "spec_hi1", "%.3f", "1", "the same of one posterior sample (with the "
            "samples kept)", e.spectral_ratio_small_sample, u),
      score("climatology", "clim", "%.4f", "", "sqrt(mean truth^2): the RMSE of guessing the climatological mean 0",
            e.climatology, u),
      score("seconds_per_window", "s/window", "%.3g", "s", "sampling time per window and seed", e.seconds_per_window,
            u),
      score("model_steps_per_window", "steps/w", "%.4g", "1", "model steps per window and seed, over all members "
            "(forward; autograd's adjoint pass not counted apart)", e.model_steps_per_window, u),
      score("network_evaluations_per_window", "nets/w", "%.4g", "1", "network evaluations of one window each, per "
            "window and seed, over all members", e.network_evaluations_per_window, u),
      score("training_seconds", "train_s", "%.4g", "s", "time of the train stage that fitted its learned component",
            e.training_seconds, u),
      score("diverged", "diverged", "%.0f", "1", "windows x seeds that diverged", e.diverged, u)};
}

std::vector<Score> observation_diagnostics(const Evaluation& evaluation) {
  auto& e = const_cast<Evaluation&>(evaluation);  // the scores only point at their fields
  // Departures are in the units of H(x): the state's for a linear operator such as obs.identity.
  const std::string& u = e.units;
  const auto per_channel = [](const char* name, const char* header, const char* format, std::string units,
                              std::string long_name, at::Tensor& values) {
    return Score{{name, {"run", "obs_channel"}, std::move(units), std::move(long_name), &values}, header, format};
  };
  return {
      per_channel("count_oa", "n_oa", "%.0f", "1", "observations of y - H(x_a) counted (observed points x frames x "
                  "windows x seeds)", e.count_oa),
      per_channel("oma_bias", "oma_bias", "%.4f", u, "mean of y - H(x_a), x_a the analysis mean", e.oma_bias),
      per_channel("oma_rms", "oma_rms", "%.4f", u, "RMS of y - H(x_a), x_a the analysis mean", e.oma_rms),
      per_channel("oma_rms_member", "oma_mem", "%.4f", u, "RMS of y - H(x_i) over the analysis members (with the "
                  "samples kept)", e.oma_rms_member),
      per_channel("count_ob", "n_ob", "%.0f", "1", "observations of y - H(x_b) counted (where a background exists)",
                  e.count_ob),
      per_channel("omb_bias", "omb_bias", "%.4f", u, "mean of the innovations y - H(x_b), x_b the background mean",
                  e.omb_bias),
      per_channel("omb_rms", "omb_rms", "%.4f", u, "RMS of the innovations y - H(x_b)", e.omb_rms),
      per_channel("desroziers_r", "R_ratio", "%.3f", "1", "Desroziers et al. (2005): E[d_oa d_ob] / sigma_o^2, "
                  "sigma_o the assumed noise std (1: R consistent)", e.desroziers_r),
      per_channel("desroziers_b", "B_ratio", "%.3f", "1", "Desroziers et al. (2005): E[d_ab d_ob] / HBH^T, HBH^T "
                  "the forecast ensemble's variance in observation space (1: B consistent)", e.desroziers_b),
      per_channel("chi2", "chi2/N", "%.3f", "1", "E[d_ob^2 / (HBH^T_ii + sigma_o^2)], the innovations' chi^2 per "
                  "observation (1: consistent)", e.chi2),
      per_channel("dfs", "dfs", "%.4g", "1", "degrees of freedom for signal per window and seed, tr(HK) estimated as "
                  "sum_i var_a(H x)_i / sigma_o^2 (Liu et al. 2009)", e.dfs),
      per_channel("dfs_fraction", "dfs/N", "%.3f", "1", "the same per observation: dfs / observations", e.dfs_fraction)};
}

std::vector<Score> observation_scores(const Evaluation& evaluation) {
  auto& e = const_cast<Evaluation&>(evaluation);  // the scores only point at their fields
  const std::string& u = e.units;
  return {score("obs_spread_a", "spread_a", "%.4f", "", "RMS spread in observation space of the analysis members "
                "perturbed by the assumed noise", e.obs_spread_a, u),
          score("obs_rmse_a", "rmse_a", "%.4f", "", "RMSE against y of the mean of those members", e.obs_rmse_a, u),
          score("obs_calibration_a", "calib_a", "%.3f", "1", "their spread-skill ratio sqrt((M + 1) / M) spread / "
                "RMSE (1: calibrated; below 1 expected, y having been assimilated)", e.obs_calibration_a, u),
          score("obs_spread_b", "spread_b", "%.4f", "", "the same of the background (forecast) members",
                e.obs_spread_b, u),
          score("obs_rmse_b", "rmse_b", "%.4f", "", "RMSE against y of the mean of the perturbed background members",
                e.obs_rmse_b, u),
          score("obs_calibration_b", "calib_b", "%.3f", "1", "their spread-skill ratio (1: calibrated)",
                e.obs_calibration_b, u)};
}

void write_evaluation(const std::filesystem::path& path, const Evaluation& evaluation) {
  write(path, evaluation_table(const_cast<Evaluation&>(evaluation)));  // the table only reads its fields
}

Evaluation read_evaluation(const std::filesystem::path& path) {
  Evaluation e;
  const auto file = netcdf::File::open(path);
  const Table table = evaluation_table(e);
  e.units = units_of(file, table, &e.rmse_per_frame);
  if (file.has_variable("lead")) e.lead_units = units_of(file, table, &e.lead);
  read(file, table);
  return e;
}

}  // namespace assim::products
