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
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/write_file.hpp>

#include "products/products.hpp"
#include "science/scores.hpp"
#include "products/tensor_io.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace assim {

namespace {

// One column per score, in the table's order; the papers' metric first.
struct Column {
  const char* name;
  const char* header;
  const char* format;
  std::string units;
  const char* doc;
  std::vector<double> values;
};

// The runs side by side: a value per run in each column, and the RMSE per
// frame of each run (of the mean and of one sample).
struct Evaluation {
  std::vector<std::string> names, samplers, needs;
  std::vector<Column> columns;
  std::vector<at::Tensor> per_frame, sample_per_frame;
  std::int64_t frames = -1;
  std::string units;

  std::vector<double>& column(const char* name) {
    for (auto& c : columns)
      if (std::string(c.name) == name) return c.values;
    throw Error(std::string("internal: no column ") + name);
  }
};

std::vector<Column> empty_columns() {
  return {
      {"rmse_sample", "rmse", "%.4f", "", "RMSE of one posterior sample (the papers' metric), averaged over samples, "
                                            "frames, windows and seeds", {}},
      {"rmse_sample_frame0", "frame0", "%.4f", "", "the same at frame 0 alone (pinned by a background)", {}},
      {"rmse_sample_later", "later", "%.4f", "", "the same over frames 1..L-1", {}},
      {"rmse", "rmse_mean", "%.4f", "", "RMSE of the ensemble mean, averaged over frames, windows and seeds", {}},
      {"rmse_seed_std", "+-seeds", "%.4f", "", "standard deviation over seeds of the per-seed RMSE of the mean", {}},
      {"spread", "spread", "%.4f", "", "RMS ensemble spread", {}},
      {"calibration", "calib", "%.3f", "1", "sqrt((M + 1) / M) spread / RMSE of the mean (1: calibrated)", {}},
      {"crps", "crps", "%.4f", "", "fair ensemble CRPS", {}},
      {"climatology", "clim", "%.4f", "", "sqrt(mean truth^2): the RMSE of guessing the climatological mean 0", {}},
      {"seconds_per_window", "s/window", "%.3g", "s", "sampling time per window and seed", {}},
      {"model_steps_per_window", "steps/w", "%.4g", "1", "model steps per window and seed, over all members "
                                                        "(forward; autograd's adjoint pass not counted apart)", {}},
      {"network_evaluations_per_window", "nets/w", "%.4g", "1", "network evaluations of one window each, per "
                                                               "window and seed, over all members", {}},
      {"training_seconds", "train_s", "%.4g", "s", "time of the train stage that fitted its learned component", {}},
      {"diverged", "diverged", "%.0f", "1", "windows x seeds that diverged", {}}};
}

// Every run's scores, read from its result; runs of other window lengths or
// units are refused.
Evaluation gather(const StageContext& context) {
  const Config& config = context.config();
  const auto inputs = context.inputs("of");
  const auto runs = static_cast<std::int64_t>(inputs.size());
  Evaluation ev;
  ev.columns = empty_columns();
  for (std::int64_t r = 0; r < runs; ++r) {
    const products::AssimilationResult result = products::read_assimilation_scores(*inputs[r]);
    ev.names.push_back(inputs[r]->name);
    ev.samplers.push_back(result.sampler);
    const at::Tensor& e = result.rmse;  // (window, seed, time)
    if (ev.frames >= 0 && e.size(2) != ev.frames)
      config.fail("of", "runs have windows of different lengths (" + std::to_string(ev.frames) + " and " +
                            std::to_string(e.size(2)) + " frames)");
    if (r > 0 && result.state.units != ev.units)
      config.fail("of", "runs are scored in different units ('" + ev.units + "' and '" + result.state.units +
                            "'): observe all of them with the same normalise setting");
    ev.frames = e.size(2);
    ev.units = result.state.units;
    const at::Tensor& sample = result.rmse_sample;
    ev.column("rmse_sample").push_back(at::nanmean(sample).item<double>());
    ev.column("rmse_sample_frame0").push_back(at::nanmean(sample.select(2, 0)).item<double>());
    ev.column("rmse_sample_later").push_back(ev.frames > 1 ? at::nanmean(sample.slice(2, 1)).item<double>() : NAN);
    const at::Tensor by_seed = at::nanmean(e, at::IntArrayRef{0, 2});
    ev.column("rmse").push_back(by_seed.mean().item<double>());
    ev.column("rmse_seed_std").push_back(by_seed.numel() > 1 ? by_seed.std().item<double>() : 0.0);
    ev.per_frame.push_back(at::nanmean(e, at::IntArrayRef{0, 1}));
    ev.sample_per_frame.push_back(at::nanmean(sample, at::IntArrayRef{0, 1}));
    const double spread = at::nanmean(result.ensemble_spread).item<double>();
    ev.column("spread").push_back(spread);
    ev.column("calibration")
        .push_back(scores::calibration(spread, ev.column("rmse").back(), static_cast<double>(result.members)));
    ev.column("crps").push_back(at::nanmean(result.crps).item<double>());
    ev.column("climatology").push_back(result.truth.pow(2).mean().sqrt().item<double>());
    ev.column("seconds_per_window").push_back(result.seconds_per_window);
    ev.column("diverged").push_back(static_cast<double>(result.diverged));
    ev.column("model_steps_per_window").push_back(result.model_steps_per_window);
    ev.column("network_evaluations_per_window").push_back(result.network_evaluations_per_window);
    ev.column("training_seconds").push_back(result.training_seconds);
    ev.needs.push_back(result.needs);
  }
  for (auto& c : ev.columns)
    if (c.units.empty()) c.units = ev.units;
  return ev;
}

// The evaluation as NetCDF: a value per run in each column, the RMSE per frame.
void write_evaluation(const std::filesystem::path& path, const Evaluation& ev) {
  const auto runs = static_cast<std::int64_t>(ev.names.size());
  const std::int64_t frames = ev.frames;
  const std::string& units = ev.units;
  const auto& columns = ev.columns;
  auto out = netcdf::File::create(path);
  out.dimension("run", runs);
  out.variable("run", "string", {"run"});
  out.attribute("run", "long_name", "the assimilate stage scored");
  out.variable("sampler", "string", {"run"});
  out.attribute("sampler", "long_name", "the type of its sampler");
  out.variable("needs", "string", {"run"});
  out.attribute("needs", "long_name", "what the method takes besides the observations");
  out.dimension("time", frames);
  out.variable("rmse_per_frame", "double", {"run", "time"});
  out.attribute("rmse_per_frame", "units", units);
  out.attribute("rmse_per_frame", "long_name", "RMSE of the ensemble mean per frame, mean over windows and seeds");
  out.variable("rmse_sample_per_frame", "double", {"run", "time"});
  out.attribute("rmse_sample_per_frame", "units", units);
  out.attribute("rmse_sample_per_frame", "long_name",
                "RMSE of one sample per frame, mean over samples, windows and seeds");
  for (const auto& c : columns) {
    out.variable(c.name, "double", {"run"});
    out.attribute(c.name, "units", c.units);
    out.attribute(c.name, "long_name", c.doc);
  }
  out.attribute("", "Conventions", "CF-1.8");
  out.attribute("", "source", "assim " ASSIM_SDK_VERSION " evaluate stage");
  out.end_definitions();
  out.write("run", ev.names);
  out.write("sampler", ev.samplers);
  out.write("needs", ev.needs);
  write_tensor(out, "rmse_per_frame", at::stack(ev.per_frame));
  write_tensor(out, "rmse_sample_per_frame", at::stack(ev.sample_per_frame));
  for (const auto& c : columns) write_tensor(out, c.name, at::tensor(at::ArrayRef<double>(c.values), at::kDouble));
  out.close();

}

// The evaluation as a plain table, with what each run takes and its RMSE per frame.
std::string table_text(const Evaluation& ev) {
  const auto runs = static_cast<std::int64_t>(ev.names.size());
  const std::int64_t frames = ev.frames;
  const std::string& units = ev.units;
  const auto& columns = ev.columns;
  const auto& names = ev.names;
  const auto& samplers = ev.samplers;
  const auto& needs = ev.needs;
  const auto& per_frame = ev.per_frame;
  const auto& sample_per_frame = ev.sample_per_frame;
  // Every cell formatted first, then each column as wide as its widest
  // cell, so that a long run or sampler name does not shift the others.
  char cell[64];
  std::vector<std::vector<std::string>> rows = {{"run", "sampler"}};
  for (const auto& c : columns) rows[0].push_back(c.header);
  for (std::int64_t r = 0; r < runs; ++r) {
    std::vector<std::string> row = {names[r], samplers[r]};
    for (const auto& c : columns) {
      const double value = c.values[static_cast<std::size_t>(r)];
      // Absent, not zero: a deterministic method's spread, a one-frame window's later frames.
      if (std::isnan(value)) {
        row.push_back("-");
      } else {
        std::snprintf(cell, sizeof cell, c.format, value);
        row.push_back(cell);
      }
    }
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
  table += "\nrmse: one sample's, the papers' metric; rmse_mean: the ensemble mean's; units " + units + "\n";
  table += "\nWhat each takes besides the observations:\n";
  for (std::int64_t r = 0; r < runs; ++r) table += names[r] + ": " + needs[static_cast<std::size_t>(r)] + "\n";
  for (const auto& [title, series] : {std::pair{"RMSE of one sample per frame:", &sample_per_frame},
                                      std::pair{"RMSE of the mean per frame:", &per_frame}}) {
    table += std::string("\n") + title + "\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += names[r] + ":";
      for (std::int64_t f = 0; f < frames; ++f) {
        std::snprintf(cell, sizeof cell, " %.4f", (*series)[static_cast<std::size_t>(r)][f].item<double>());
        table += cell;
      }
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
    write_evaluation(path, evaluation);
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
