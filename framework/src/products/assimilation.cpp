#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/shared_schema.hpp"
#include "products/table.hpp"

namespace assim::products {

using namespace schema;

namespace {

using Coordinate = Dim::Coordinate;

// assimilation.nc's table. The samples, the members' dim, and a minimiser's
// iterations are there only when the result holds them.
Table assimilation_table(AssimilationResult& r) {
  const auto state_dims = state_dim_names(r.state);
  const std::vector<std::string> field = with({"window", "seed", "time"}, state_dims);
  const std::vector<std::string> per_frame = {"window", "seed", "time"}, per_iteration = {"window", "seed", "iteration"};
  const std::string& units = r.state.units;
  Table t;
  t.stage = "assimilate";
  t.state = r.state;
  t.frame_steps = r.frame_steps;
  t.entries = {
      Dim{"window", Coordinate::index, "assimilation window of the observe stage"},
      Dim{"seed", Coordinate::index, "repetition with its own seed"},
      Dim{"time", Coordinate::time, "time since the start of the window"},
      StateDims{},
      Dim{"member", Coordinate::index, "posterior sample", true},
      Variable{"mean", field, units, "posterior ensemble mean", &r.mean},
      Variable{"spread", field, units, "posterior ensemble standard deviation", &r.spread},
      Variable{"truth", with({"window", "time"}, state_dims), units, "true states", &r.truth},
      Variable{"rmse", per_frame, units, "RMSE of the ensemble mean per frame, over channels and grid", &r.rmse},
      Variable{"rmse_sample", per_frame, units,
               "RMSE of each posterior sample per frame, averaged over the samples (the papers' metric)",
               &r.rmse_sample},
      Dim{"rank", Coordinate::index, "number of members below the truth"},
      Variable{"rank_histogram", {"window", "seed", "rank"}, "",
               "points and frames where the truth has that rank among the members", &r.ranks},
      Variable{"ensemble_spread", per_frame, units, "RMS of the ensemble std per frame", &r.ensemble_spread},
      Variable{"crps", per_frame, units,
               "fair ensemble CRPS per frame (member pairs i != j), averaged over channels and grid", &r.crps},
      Variable{"energy_score", per_frame, units,
               "fair energy score per frame, the CRPS of the whole state (member pairs i != j, distances in the RMS "
               "norm over channels and grid)", &r.energy, Stored::real, true},
      Variable{"samples", with({"window", "seed", "member", "time"}, state_dims), units, "", &r.samples,
               Stored::single, true},
      Variable{"forecast", field, units,
               "mean of the forecast ensemble each frame was analysed from (a filter cycled through the window; "
               "frame 0: the background ensemble)", &r.forecast, Stored::real, true},
      Variable{"forecast_samples", with({"window", "seed", "member", "time"}, state_dims), units,
               "members of the forecast each frame was analysed from", &r.forecast_samples, Stored::single, true},
      Dim{"iteration", Coordinate::index, "minimiser iteration, 0 at the starting point", true},
      Variable{"cost", per_iteration, "", "the minimised cost J after each iteration (NaN past the last)", &r.cost,
               Stored::real, true},
      Variable{"gradient_norm", per_iteration, "", "|grad J| after each iteration (NaN past the last)",
               &r.gradient_norm, Stored::real, true}};
  using Kind = Attribute::Kind;
  t.attributes = {{"observations_digest", &r.observations_digest},
                  {"members", &r.members},
                  {"frame_steps", &r.frame_steps},
                  {"seconds_per_window", &r.seconds_per_window},
                  {"diverged", &r.diverged},
                  {"status", &r.status, Kind::optional},
                  {"needs", &r.needs, Kind::optional},
                  {"model_steps_per_window", &r.model_steps_per_window, Kind::optional},
                  {"network_evaluations_per_window", &r.network_evaluations_per_window, Kind::optional},
                  {"training_seconds", &r.training_seconds, Kind::optional},
                  {"observations_stage", &r.observations_stage, Kind::optional}};
  append(t.attributes, noise_attributes(r.design));
  append(t.attributes, window_attributes(r.design));
  append(t.attributes, sampler_attributes(r.sampler));
  t.settings = &r.settings;
  return t;
}

// The result's state, as the file has it: what its table is made of.
netcdf::File open_assimilation(const std::filesystem::path& path, AssimilationResult& r) {
  auto file = netcdf::File::open(path);
  r.state = state_of(file, assimilation_table(r), &r.truth);
  return file;
}

}  // namespace

void write_assimilation(const std::filesystem::path& path, const AssimilationResult& result) {
  write(path, assimilation_table(const_cast<AssimilationResult&>(result)));  // the table only reads its fields
}

AssimilationResult read_assimilation_scores(const StageInput& input) {
  AssimilationResult r;
  const auto file = open_assimilation(product_of(input), r);
  read(file, assimilation_table(r), {&r.truth, &r.rmse, &r.rmse_sample, &r.ensemble_spread, &r.crps, &r.energy});
  return r;
}

AssimilationResult read_assimilation_fields(const StageInput& input) {
  AssimilationResult r;
  const auto file = open_assimilation(product_of(input), r);
  read(file, assimilation_table(r),
       {&r.truth, &r.rmse, &r.rmse_sample, &r.ensemble_spread, &r.crps, &r.energy, &r.mean, &r.samples, &r.forecast,
        &r.forecast_samples});
  return r;
}

std::string read_observations_digest(const std::filesystem::path& path) {
  AssimilationResult r;
  read_attributes(open_assimilation(path, r), assimilation_table(r));
  return r.observations_digest;
}

AssimilationResult read_assimilation_window(const std::filesystem::path& path, std::int64_t window,
                                            std::int64_t seed) {
  AssimilationResult r;
  const auto file = open_assimilation(path, r);
  read(file, assimilation_table(r), {&r.truth, &r.mean, &r.spread, &r.rmse, &r.ensemble_spread},
       {{"window", window}, {"seed", seed}});
  return r;
}

}  // namespace assim::products
