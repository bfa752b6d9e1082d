#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/observation_design.hpp>

#include <numeric>

namespace assim::products {

using namespace schema;

at::Tensor ObservationSet::full_mask() const { return design::over_observations(mask, observations.sizes().slice(1)); }

void write_observations(const std::filesystem::path& path, const ObservationSet& set) {
  auto file = netcdf::File::create(path);
  const std::int64_t windows = set.observations.size(0), frames = set.observations.size(1);
  const auto state_dims = state_dim_names(set.state);
  define_index(file, "window", windows, "assimilation window");
  define_time(file, frames, set.state, "time since the start of the window");
  define_state(file, set.state);
  const std::size_t grid = grid_rank(set.state);
  for (std::size_t d = 0; d + grid < set.observation_dims.size(); ++d)
    define_index(file, set.observation_dims[d], set.observations.size(static_cast<std::int64_t>(d) + 2),
                 "channel of the observation operator's output");
  const std::vector<std::string> grid_dims(state_dims.end() - static_cast<std::ptrdiff_t>(grid), state_dims.end());
  const std::string units = stored_units(set.state, set.normalised), doc = stored_doc(set.normalised);
  file.variable("observation", "double", with({"window", "time"}, set.observation_dims));
  file.attribute("observation", "long_name", "observations H(x) + noise on the observed points, 0 elsewhere");
  file.variable("mask", "int", with({"time"}, grid_dims));
  file.attribute("mask", "long_name", "1 where observed (every channel of H at that point and frame)");
  file.variable("window_sample", "int", {"window"});
  file.attribute("window_sample", "long_name", "sample of the data the window is cut from");
  file.variable("window_start", "int", {"window"});
  file.attribute("window_start", "long_name", "frame of the sample where the window starts");
  file.variable("scale", "double", channel_dims(set.state));
  file.attribute("scale", "units", set.state.units);
  file.attribute("scale", "long_name", "per-channel factor the states were divided by before H (1: not normalised)");
  file.variable("truth", "double", with({"window", "time"}, state_dims));
  file.attribute("truth", "units", units);
  file.attribute("truth", "long_name", "the true states of the window" + doc + ", for scoring");
  if (set.background) {
    file.variable("background", "double", with({"window"}, state_dims));
    file.attribute("background", "units", units);
    file.attribute("background", "long_name", set.background_doc + doc);
    file.attribute("", "background_sigma", set.background_sigma);
  }
  file.attribute("", "Conventions", "CF-1.8");
  file.attribute("", "source", "assim " ASSIM_SDK_VERSION " observe stage");
  file.attribute("", "frame_steps", static_cast<double>(set.frame_steps));
  file.attribute("", "observation_sigma", set.sigma);
  file.attribute("", "noise_law", set.noise_law);
  file.attribute("", "every", static_cast<double>(set.every));
  file.attribute("", "normalised", set.normalised ? "true" : "false");
  file.attribute("", "mask_fraction", set.mask_fraction);
  file.attribute("", "mask_design", set.mask_design);
  file.attribute("", "seed", static_cast<double>(set.seed));
  set.operator_settings.write(file);
  file.end_definitions();
  write_index(file, "window", windows);
  write_time(file, frames, set.frame_steps, set.state);
  write_state_coordinates(file, set.state);
  for (std::size_t d = 0; d + grid < set.observation_dims.size(); ++d)
    write_index(file, set.observation_dims[d], set.observations.size(static_cast<std::int64_t>(d) + 2));
  write_tensor(file, "observation", set.observations);
  write_tensor<int>(file, "mask", set.mask);
  file.write("window_sample", {0}, {set.window_sample.size()}, set.window_sample.data());
  file.write("window_start", {0}, {set.window_start.size()}, set.window_start.data());
  write_tensor(file, "scale", has_channel_dim(set.state) ? set.scale : set.scale.reshape({}));
  write_tensor(file, "truth", set.truth);
  if (set.background) write_tensor(file, "background", *set.background);
  file.close();
}

ObservationSet read_observations(const StageInput& input) {
  auto file = netcdf::File::open(product_of(input));
  ObservationSet set;
  set.state = read_state(file, "truth", 2);
  set.observations = read_tensor(file, "observation");
  const auto dims = file.dimensions_of("observation");
  set.observation_dims.assign(dims.begin() + 2, dims.end());
  set.mask = read_tensor(file, "mask");
  set.truth = read_tensor(file, "truth");
  set.scale = read_tensor(file, "scale").reshape({-1});
  if (file.has_variable("background")) {
    set.background = read_tensor(file, "background");
    set.background_doc = text_or(file, "background", "long_name");
    set.background_sigma = number(file, "background_sigma");
  }
  set.sigma = number(file, "observation_sigma");
  set.noise_law = text_or(file, "", "noise_law", "gaussian");
  set.every = static_cast<std::int64_t>(number(file, "every"));
  set.frame_steps = static_cast<std::int64_t>(number(file, "frame_steps"));
  set.window_sample = read_ints(file, "window_sample");
  set.window_start = read_ints(file, "window_start");
  set.normalised = text_or(file, "", "normalised") == "true";
  set.mask_fraction = number(file, "mask_fraction");
  set.mask_design = text_or(file, "", "mask_design");
  set.seed = static_cast<std::uint64_t>(number(file, "seed"));
  set.operator_settings.add("operator_type", text_or(file, "", "operator_type", "?"));
  return set;
}

}  // namespace assim::products
