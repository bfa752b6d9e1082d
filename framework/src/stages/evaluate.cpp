// `run: evaluate`: puts assimilation runs side by side. For each run: the
// papers' RMSE (sqrt of the mean over channels and grid of the squared error
// of the ensemble mean, in the units the runs were scored in) averaged over frames and windows,
// its mean and spread over seeds, the RMSE per frame, the ensemble spread and
// its ratio to the RMSE (calibration: 1 for a well-calibrated ensemble), the
// CRPS, and the climatology reference sqrt(mean truth^2) (~1 for states
// divided by their std). Written as NetCDF and as a plain table.
#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>

#include "products.hpp"
#include "tensor_io.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace assim {

namespace {

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

  void run(StageContext& context) const override {
    const Config& config = context.config();
    const auto inputs = context.inputs("of");
    const auto runs = static_cast<std::int64_t>(inputs.size());
    std::vector<std::string> names, samplers;
    std::vector<double> rmse, rmse_seed_std, spread, calibration, crps, climatology, seconds, diverged;
    std::vector<at::Tensor> per_frame;
    std::int64_t frames = -1;
    std::string units;
    for (std::int64_t r = 0; r < runs; ++r) {
      const products::AssimilationResult result = products::read_assimilation_scores(*inputs[r]);
      names.push_back(inputs[r]->name);
      samplers.push_back(result.sampler);
      const at::Tensor& e = result.rmse;  // (window, seed, time)
      if (frames >= 0 && e.size(2) != frames)
        config.fail("of", "runs have windows of different lengths (" + std::to_string(frames) + " and " +
                              std::to_string(e.size(2)) + " frames)");
      if (r > 0 && result.state.units != units)
        config.fail("of", "runs are scored in different units ('" + units + "' and '" + result.state.units +
                              "'): observe all of them with the same normalise setting");
      frames = e.size(2);
      units = result.state.units;
      at::Tensor by_seed = at::nanmean(e, at::IntArrayRef{0, 2});
      rmse.push_back(by_seed.mean().item<double>());
      rmse_seed_std.push_back(by_seed.numel() > 1 ? by_seed.std().item<double>() : 0.0);
      per_frame.push_back(at::nanmean(e, at::IntArrayRef{0, 1}));
      double s = at::nanmean(result.ensemble_spread).item<double>();
      spread.push_back(s);
      calibration.push_back(s / rmse.back());
      crps.push_back(at::nanmean(result.crps).item<double>());
      climatology.push_back(result.truth.pow(2).mean().sqrt().item<double>());
      seconds.push_back(result.seconds_per_window);
      diverged.push_back(static_cast<double>(result.diverged));
    }

    auto path = context.output() / config.get<std::string>("out");
    auto out = netcdf::File::create(path);
    out.dimension("run", runs);
    out.variable("run", "string", {"run"});
    out.attribute("run", "long_name", "the assimilate stage scored");
    out.variable("sampler", "string", {"run"});
    out.attribute("sampler", "long_name", "the type of its sampler");
    out.dimension("time", frames);
    out.variable("rmse_per_frame", "double", {"run", "time"});
    out.attribute("rmse_per_frame", "units", units);
    out.attribute("rmse_per_frame", "long_name", "RMSE of the ensemble mean per frame, mean over windows and seeds");
    struct Column {
      const char* name;
      const char* doc;
      const std::vector<double>* values;
      std::string units;
    };
    const std::vector<Column> columns = {
        {"rmse", "RMSE averaged over frames, windows and seeds", &rmse, units},
        {"rmse_seed_std", "standard deviation over seeds of the per-seed RMSE", &rmse_seed_std, units},
        {"spread", "RMS ensemble spread", &spread, units},
        {"calibration", "spread / RMSE (1: calibrated)", &calibration, "1"},
        {"crps", "ensemble CRPS", &crps, units},
        {"climatology", "sqrt(mean truth^2): the RMSE of guessing the climatological mean 0", &climatology, units},
        {"seconds_per_window", "sampling time per window and seed", &seconds, "s"},
        {"diverged", "windows x seeds that diverged", &diverged, "1"}};
    for (const auto& c : columns) {
      out.variable(c.name, "double", {"run"});
      out.attribute(c.name, "units", c.units);
      out.attribute(c.name, "long_name", c.doc);
    }
    out.attribute("", "Conventions", "CF-1.8");
    out.attribute("", "source", "assim " ASSIM_SDK_VERSION " evaluate stage");
    out.end_definitions();
    out.write("run", names);
    out.write("sampler", samplers);
    write_tensor(out, "rmse_per_frame", at::stack(per_frame));
    for (const auto& c : columns)
      write_tensor(out, c.name, at::tensor(at::ArrayRef<double>(*c.values), at::kDouble));
    out.close();

    std::string table;
    char line[1024];
    // The run column as wide as the longest name, so that columns line up.
    int width = 20;
    for (const auto& n : names) width = std::max(width, static_cast<int>(n.size()));
    std::snprintf(line, sizeof line, "%-*s %-16s %8s %8s %8s %8s %8s %8s %10s %8s\n", width, "run", "sampler", "rmse",
                  "+-seeds", "spread", "calib", "crps", "clim", "s/window", "diverged");
    table += line;
    for (std::int64_t r = 0; r < runs; ++r) {
      std::snprintf(line, sizeof line, "%-*s %-16s %8.4f %8.4f %8.4f %8.3f %8.4f %8.4f %10.3g %8.0f\n", width,
                    names[r].c_str(), samplers[r].c_str(), rmse[r], rmse_seed_std[r], spread[r], calibration[r],
                    crps[r], climatology[r], seconds[r], diverged[r]);
      table += line;
    }
    table += "\nRMSE per frame:\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += names[r] + ":";
      for (std::int64_t f = 0; f < frames; ++f) {
        std::snprintf(line, sizeof line, " %.4f", per_frame[r][f].item<double>());
        table += line;
      }
      table += "\n";
    }
    auto table_path = path;
    table_path.replace_extension(".txt");
    std::ofstream(table_path) << table;
    log::info("evaluation:\n", table);
  }
};

}  // namespace

std::unique_ptr<Stage> make_evaluate_stage() { return std::make_unique<Evaluate>(); }

}  // namespace assim
