#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/shared_schema.hpp"
#include "products/table.hpp"

#include <assim/framework/observation_design.hpp>

namespace assim::products {

using namespace schema;

at::Tensor ObservationSet::full_mask() const { return design::over_observations(mask, observations.sizes().slice(1)); }

at::Tensor ObservationSet::full_mask(std::int64_t window) const {
  return window_mask.defined() ? design::over_observations(window_mask[window], observations.sizes().slice(1))
                               : full_mask();
}

std::vector<std::string> ObservationSet::point_dims() const {
  if (!observation_dims.empty() && observation_dims.back() == "location") return {"location"};
  const auto names = state_dim_names(state);
  return std::vector<std::string>(names.end() - static_cast<std::ptrdiff_t>(grid_rank(state)), names.end());
}

at::Tensor ObservationSet::places_in_grid_units() const {
  std::vector<double> spacing;
  for (const auto& d : state.dims)
    if (d.spacing > 0) spacing.push_back(d.spacing);
  return places.to(at::kDouble) / at::tensor(spacing, at::kDouble).unsqueeze(0) - 0.5;
}

namespace {

// observations.nc's table. The observation dims before the grid's are the
// operator's channels, each an index dim of its own.
Table observations_table(ObservationSet& set) {
  const auto state_dims = state_dim_names(set.state);
  const std::vector<std::string> point_dims = set.point_dims();
  const std::string units = stored_units(set.state, set.design.normalised), doc = stored_doc(set.design.normalised);
  Table t;
  t.stage = "observe";
  t.state = set.state;
  t.frame_steps = set.frame_steps;
  t.entries = {Dim{"window", Dim::Coordinate::index, "assimilation window"},
               Dim{"time", Dim::Coordinate::time, "time since the start of the window"}, StateDims{}};
  for (std::size_t d = 0; d + point_dims.size() < set.observation_dims.size(); ++d)
    t.entries.emplace_back(
        Dim{set.observation_dims[d], Dim::Coordinate::index, "channel of the observation operator's output"});
  t.entries.emplace_back(Dim{"location", Dim::Coordinate::index, "observed place between grid points", true});
  t.entries.emplace_back(Dim{"grid_dim", Dim::Coordinate::index, "the state's grid dims, in order", true});
  const std::vector<Entry> variables = {
      Variable{"observation", with({"window", "time"}, set.observation_dims), "",
               "observations H(x) + noise on the observed points, 0 elsewhere", &set.observations},
      Variable{"mask", with({"time"}, point_dims), "",
               "1 where observed (every channel of H at that point and frame), in any window", &set.mask,
               Stored::integer},
      Variable{"window_mask", with({"window", "time"}, point_dims), "",
               "1 where observed in that window, where windows are observed at other places or times (read from a "
               "file); absent: mask in every window",
               &set.window_mask, Stored::integer, true},
      Variable{"observation_error", with({"window", "time"}, set.observation_dims), "",
               "standard deviation of each observation's error, where they differ (read from a file); absent: "
               "the noise sigma for all",
               &set.sigma, Stored::real, true},
      Variable{"location_coordinate", {"location", "grid_dim"}, "",
               "coordinates of each observed place along the grid dims, in their units, where the observations "
               "lie between grid points (read from a file): H observes the state interpolated there; absent: "
               "on the grid",
               &set.places, Stored::real, true},
      Variable{"window_sample", {"window"}, "", "sample of the data the window is cut from", &set.window_sample,
               Stored::integer},
      Variable{"window_start", {"window"}, "", "frame of the sample where the window starts", &set.window_start,
               Stored::integer},
      Variable{"scale", channel_dims(set.state), set.state.units,
               "per-channel factor the states were divided by before H (1: not normalised)", &set.scale},
      Variable{"truth", with({"window", "time"}, state_dims), units,
               "the true states of the window" + doc + ", for scoring", &set.truth},
      Variable{"background", with({"window"}, state_dims), units, set.background_doc + doc, &set.background,
               Stored::real, true}};
  t.entries.insert(t.entries.end(), variables.begin(), variables.end());
  t.attributes = {{"frame_steps", &set.frame_steps}};
  append(t.attributes, noise_attributes(set.design));
  append(t.attributes, window_attributes(set.design));
  t.attributes.push_back(seed_attribute(set.design));
  t.settings = &set.operator_settings;
  return t;
}

// The set's state and observation dims, as the file has them: what its table
// is made of.
netcdf::File open_observations(const std::filesystem::path& path, ObservationSet& set) {
  auto file = netcdf::File::open(path);
  const Table without_state = observations_table(set);
  set.state = state_of(file, without_state, &set.truth);
  set.observation_dims = trailing_dims(file, without_state, &set.observations);
  return file;
}

}  // namespace

void write_observations(const std::filesystem::path& path, const ObservationSet& set) {
  write(path, observations_table(const_cast<ObservationSet&>(set)));  // the table only reads its fields
}

ObservationSet read_observations(const StageInput& input) {
  ObservationSet set;
  const auto file = open_observations(product_of(input), set);
  read(file, observations_table(set));
  set.scale = set.scale.reshape({-1});  // (channels), also for a state without a channel dim
  return set;
}

ObservationSet read_observed_window(const std::filesystem::path& path, std::int64_t window) {
  ObservationSet set;
  const auto file = open_observations(path, set);
  read(file, observations_table(set), {&set.observations, &set.mask, &set.window_mask}, {{"window", window}});
  if (set.window_mask.defined()) set.mask = std::exchange(set.window_mask, at::Tensor());  // this window's
  return set;
}

}  // namespace assim::products
