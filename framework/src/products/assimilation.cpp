#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/observation_design.hpp>

#include <numeric>

namespace assim::products {

using namespace schema;

void write_assimilation(const std::filesystem::path& path, const AssimilationResult& r) {
  auto file = netcdf::File::create(path);
  const auto state_dims = state_dim_names(r.state);
  const std::int64_t windows = r.rmse.size(0), seeds = r.rmse.size(1), frames = r.rmse.size(2);
  define_index(file, "window", windows, "assimilation window of the observe stage");
  define_index(file, "seed", seeds, "repetition with its own seed");
  define_time(file, frames, r.state, "time since the start of the window");
  define_state(file, r.state);
  if (r.samples.defined()) define_index(file, "member", r.members, "posterior sample");
  const std::vector<std::string> field = with({"window", "seed", "time"}, state_dims);
  const std::vector<std::string> per_frame = {"window", "seed", "time"};
  const std::string units = r.state.units;
  file.variable("mean", "double", field);
  file.attribute("mean", "units", units);
  file.attribute("mean", "long_name", "posterior ensemble mean");
  file.variable("spread", "double", field);
  file.attribute("spread", "units", units);
  file.attribute("spread", "long_name", "posterior ensemble standard deviation");
  file.variable("truth", "double", with({"window", "time"}, state_dims));
  file.attribute("truth", "units", units);
  file.attribute("truth", "long_name", "true states");
  file.variable("rmse", "double", per_frame);
  file.attribute("rmse", "units", units);
  file.attribute("rmse", "long_name", "RMSE of the ensemble mean per frame, over channels and grid");
  file.variable("rmse_sample", "double", per_frame);
  file.attribute("rmse_sample", "units", units);
  file.attribute("rmse_sample", "long_name",
                 "RMSE of each posterior sample per frame, averaged over the samples (the papers' metric)");
  define_index(file, "rank", r.ranks.size(2), "number of members below the truth");
  file.variable("rank_histogram", "double", {"window", "seed", "rank"});
  file.attribute("rank_histogram", "long_name", "points and frames where the truth has that rank among the members");
  file.variable("ensemble_spread", "double", per_frame);
  file.attribute("ensemble_spread", "units", units);
  file.attribute("ensemble_spread", "long_name", "RMS of the ensemble std per frame");
  file.variable("crps", "double", per_frame);
  file.attribute("crps", "units", units);
  file.attribute("crps", "long_name", "fair ensemble CRPS per frame (member pairs i != j), averaged over channels and grid");
  if (r.samples.defined()) {
    file.variable("samples", "float", with({"window", "seed", "member", "time"}, state_dims));
    file.attribute("samples", "units", units);
  }
  if (r.cost.defined()) {
    define_index(file, "iteration", r.cost.size(2), "minimiser iteration, 0 at the starting point");
    file.variable("cost", "double", {"window", "seed", "iteration"});
    file.attribute("cost", "long_name", "the minimised cost J after each iteration (NaN past the last)");
    file.variable("gradient_norm", "double", {"window", "seed", "iteration"});
    file.attribute("gradient_norm", "long_name", "|grad J| after each iteration (NaN past the last)");
  }
  file.attribute("", "Conventions", "CF-1.8");
  file.attribute("", "source", "assim " ASSIM_SDK_VERSION " assimilate stage");
  file.attribute("", "observations_digest", r.observations_digest);
  file.attribute("", "members", static_cast<double>(r.members));
  file.attribute("", "frame_steps", static_cast<double>(r.frame_steps));
  file.attribute("", "seconds_per_window", r.seconds_per_window);
  file.attribute("", "diverged", static_cast<double>(r.diverged));
  file.attribute("", "status", r.status);
  r.attributes.write(file);
  file.end_definitions();
  write_index(file, "window", windows);
  write_index(file, "seed", seeds);
  write_time(file, frames, r.frame_steps, r.state);
  write_state_coordinates(file, r.state);
  if (r.samples.defined()) write_index(file, "member", r.members);
  write_tensor(file, "mean", r.mean);
  write_tensor(file, "spread", r.spread);
  write_tensor(file, "truth", r.truth);
  write_tensor(file, "rmse", r.rmse);
  write_tensor(file, "rmse_sample", r.rmse_sample);
  write_index(file, "rank", r.ranks.size(2));
  write_tensor(file, "rank_histogram", r.ranks);
  write_tensor(file, "ensemble_spread", r.ensemble_spread);
  write_tensor(file, "crps", r.crps);
  if (r.samples.defined()) write_tensor<float>(file, "samples", r.samples);
  if (r.cost.defined()) {
    write_index(file, "iteration", r.cost.size(2));
    write_tensor(file, "cost", r.cost);
    write_tensor(file, "gradient_norm", r.gradient_norm);
  }
  file.close();
}

AssimilationResult read_assimilation_scores(const StageInput& input) {
  auto file = netcdf::File::open(product_of(input));
  AssimilationResult r;
  r.state = read_state(file, "truth", 2);
  r.truth = read_tensor(file, "truth");
  r.rmse = read_tensor(file, "rmse");
  r.rmse_sample = read_tensor(file, "rmse_sample");
  r.ensemble_spread = read_tensor(file, "ensemble_spread");
  r.crps = read_tensor(file, "crps");
  r.members = static_cast<std::int64_t>(number(file, "members"));
  r.frame_steps = static_cast<std::int64_t>(number(file, "frame_steps"));
  r.seconds_per_window = number(file, "seconds_per_window");
  r.diverged = static_cast<std::int64_t>(number(file, "diverged"));
  r.status = text_or(file, "", "status");
  r.sampler = text_or(file, "", "sampler_type", "?");
  r.needs = text_or(file, "", "needs", "?");
  auto optional = [&](const char* name) { return file.has_attribute("", name) ? number(file, name) : NAN; };
  r.model_steps_per_window = optional("model_steps_per_window");
  r.network_evaluations_per_window = optional("network_evaluations_per_window");
  r.training_seconds = optional("training_seconds");
  return r;
}

}  // namespace assim::products
