// `run: evaluate`: puts assimilation runs side by side. For each run, in the
// units the runs were scored in: the papers' RMSE of one posterior sample
// (sqrt of the mean over channels and grid of the squared error), averaged
// over samples, frames, windows and seeds, and apart for frame 0 (pinned by a
// background) and the later frames; the RMSE of the ensemble mean and its
// spread over seeds; the ensemble spread and the spread-skill ratio with the
// (M + 1) / M factor (1: calibrated); the fair CRPS; and the climatology
// sqrt(mean truth^2) (~1 for states divided by their std). Written as NetCDF
// and as a plain table.
#include <assim/error.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/write_file.hpp>

#include "products/evaluation.hpp"
#include "products/products.hpp"
#include "science/scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace assim {

namespace {

using products::Evaluation;

// Every run's scores, read from its result; runs of other window lengths or
// units are refused.
Evaluation gather(const StageContext& context) {
  const Config& config = context.config();
  const auto inputs = context.inputs("of");
  const auto runs = static_cast<std::int64_t>(inputs.size());
  Evaluation ev;
  std::vector<at::Tensor> per_frame, sample_per_frame;
  std::int64_t frames = -1;
  for (std::int64_t r = 0; r < runs; ++r) {
    const products::AssimilationResult result = products::read_assimilation_scores(*inputs[r]);
    ev.runs.push_back(inputs[r]->name);
    ev.samplers.push_back(result.sampler.type);
    const at::Tensor& e = result.rmse;  // (window, seed, time)
    if (frames >= 0 && e.size(2) != frames)
      config.fail("of", "runs have windows of different lengths (" + std::to_string(frames) + " and " +
                            std::to_string(e.size(2)) + " frames)");
    if (r > 0 && result.state.units != ev.units)
      config.fail("of", "runs are scored in different units ('" + ev.units + "' and '" + result.state.units +
                            "'): observe all of them with the same normalise setting");
    frames = e.size(2);
    ev.units = result.state.units;
    const at::Tensor& sample = result.rmse_sample;
    ev.rmse_sample.push_back(at::nanmean(sample).item<double>());
    ev.rmse_sample_frame0.push_back(at::nanmean(sample.select(2, 0)).item<double>());
    ev.rmse_sample_later.push_back(frames > 1 ? at::nanmean(sample.slice(2, 1)).item<double>() : NAN);
    const at::Tensor by_seed = at::nanmean(e, at::IntArrayRef{0, 2});
    ev.rmse.push_back(by_seed.mean().item<double>());
    // A spread over seeds needs two seeds: with one it is absent, not 0.
    ev.rmse_seed_std.push_back(by_seed.numel() > 1 ? by_seed.std().item<double>() : NAN);
    per_frame.push_back(at::nanmean(e, at::IntArrayRef{0, 1}));
    sample_per_frame.push_back(at::nanmean(sample, at::IntArrayRef{0, 1}));
    const double spread = at::nanmean(result.ensemble_spread).item<double>();
    ev.spread.push_back(spread);
    ev.calibration.push_back(scores::calibration(spread, ev.rmse.back(), static_cast<double>(result.members)));
    ev.crps.push_back(at::nanmean(result.crps).item<double>());
    ev.climatology.push_back(result.truth.pow(2).mean().sqrt().item<double>());
    ev.seconds_per_window.push_back(result.seconds_per_window);
    ev.diverged.push_back(static_cast<double>(result.diverged));
    ev.model_steps_per_window.push_back(result.model_steps_per_window);
    ev.network_evaluations_per_window.push_back(result.network_evaluations_per_window);
    ev.training_seconds.push_back(result.training_seconds);
    ev.needs.push_back(result.needs);
  }
  ev.rmse_per_frame = at::stack(per_frame);
  ev.rmse_sample_per_frame = at::stack(sample_per_frame);
  return ev;
}

// A number in `format`, or "-" when it is absent (NaN: a deterministic
// method's spread, a one-frame window's later frames, the spread over one
// seed) or not a number to read (a diverged run's infinity).
std::string cell_text(double value, const char* format) {
  if (!std::isfinite(value)) return "-";
  char cell[64];
  std::snprintf(cell, sizeof cell, format, value);
  return cell;
}

// The evaluation as a plain table, with what each run takes and its RMSE per frame.
std::string table_text(const Evaluation& ev) {
  const auto runs = static_cast<std::int64_t>(ev.runs.size());
  const std::int64_t frames = ev.rmse_per_frame.size(1);
  const auto scores = products::evaluation_scores(ev);
  // Every cell formatted first, then each column as wide as its widest
  // cell, so that a long run or sampler name does not shift the others.
  std::vector<std::vector<std::string>> rows = {{"run", "sampler"}};
  for (const auto& c : scores) rows[0].push_back(c.header);
  for (std::int64_t r = 0; r < runs; ++r) {
    std::vector<std::string> row = {ev.runs[r], ev.samplers[r]};
    for (const auto& c : scores)
      row.push_back(cell_text((*std::get<std::vector<double>*>(c.variable.field))[static_cast<std::size_t>(r)],
                              c.format.c_str()));
    rows.push_back(row);
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string table;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      // Names left-aligned, numbers right-aligned.
      const std::string pad(widths[i] - row[i].size(), ' ');
      table += (i == 0 ? "" : " ") + (i < 2 ? row[i] + pad : pad + row[i]);
    }
    while (!table.empty() && table.back() == ' ') table.pop_back();
    table += "\n";
  }
  table += "\nrmse: one sample's, the papers' metric; rmse_mean: the ensemble mean's; units " + ev.units + "\n";
  table += "\nWhat each takes besides the observations:\n";
  for (std::int64_t r = 0; r < runs; ++r) table += ev.runs[r] + ": " + ev.needs[static_cast<std::size_t>(r)] + "\n";
  for (const auto& [title, series] : {std::pair{"RMSE of one sample per frame:", &ev.rmse_sample_per_frame},
                                      std::pair{"RMSE of the mean per frame:", &ev.rmse_per_frame}}) {
    table += std::string("\n") + title + "\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += ev.runs[r] + ":";
      for (std::int64_t f = 0; f < frames; ++f) table += " " + cell_text((*series)[r][f].item<double>(), "%.4f");
      table += "\n";
    }
  }
  return table;
}

class Evaluate : public Stage {
 public:
  std::string name() const override { return "evaluate"; }
  std::string doc() const override { return "score assimilation runs side by side: RMSE, spread, calibration, CRPS"; }
  Parameters parameters() const override {
    Parameters p;
    p.stages("of", "the assimilate stages to compare").one_of({"assimilate"});
    p.string("out", "evaluation.nc", "", "file name of the NetCDF result; the table goes beside it as .txt").output_name();
    return p;
  }

  // A run's window length is a setting of its observe stage (`window`, or
  // all the frames of its data when 0): runs of different lengths, which
  // cannot be put side by side frame by frame, are refused before any of
  // them trains or samples.
  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    std::int64_t first_frames = 0;
    std::string first;
    for (std::size_t i = 0; i < config.count("of"); ++i) {
      const std::string run = "of[" + std::to_string(i) + "]";
      const Config& observe = inputs.at(run + ".observations");
      const bool whole = observe.get<std::int64_t>("window") == 0;
      const Config& source = whole ? inputs.at(run + ".observations.data") : observe;
      const std::string key = whole ? "frames" : "window";
      const std::int64_t frames = source.get<std::int64_t>(key);
      const std::string text = "'" + inputs.at(run).path().substr(std::string("stages.").size()) + "' has " +
                               std::to_string(frames) + " (" + source.where(key) + ": " + source.path(key) + ")";
      if (i == 0) {
        first_frames = frames;
        first = text;
      } else if (frames != first_frames) {
        config.fail("of", "runs have windows of different lengths, in frames: " + first + ", " + text);
      }
    }
  }

  void run(StageContext& context) const override {
    const Evaluation evaluation = gather(context);
    const auto path = context.output() / context.config().get<std::string>("out");
    products::write_evaluation(path, evaluation);
    const std::string table = table_text(evaluation);
    auto table_path = path;
    table_path.replace_extension(".txt");
    write_file(table_path, table);
    log::info("evaluation:\n", table);
  }
};

}  // namespace

std::unique_ptr<Stage> make_evaluate_stage() { return std::make_unique<Evaluate>(); }

}  // namespace assim
