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

void write_evaluation(const std::filesystem::path& path, const Evaluation& evaluation) {
  write(path, evaluation_table(const_cast<Evaluation&>(evaluation)));  // the table only reads its fields
}

Evaluation read_evaluation(const std::filesystem::path& path) {
  Evaluation e;
  const auto file = netcdf::File::open(path);
  const Table table = evaluation_table(e);
  e.units = units_of(file, table, &e.rmse_per_frame);
  read(file, table);
  return e;
}

}  // namespace assim::products
