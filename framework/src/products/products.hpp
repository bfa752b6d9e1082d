// The products stages pass to each other: a generated dataset (generate ->
// observe, train), an observation set (observe -> assimilate, report) and an
// assimilation result (assimilate -> evaluate, report); the filter's and the
// evaluation's are in filter_result.hpp and evaluation.hpp. The observation
// set's and the assimilation result's files are each declared once as a table
// (products/table.hpp) that their writer and reader go through. The state's
// spec travels in full (units, spacing, time step, dims) and comes back out,
// so no reader guesses it; every dim has a coordinate variable and one name in
// every file.
#pragma once

#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/model.hpp>
#include <assim/sampler.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace assim::products {

// Global attributes of a product: settings keep their YAML text unless it
// is a number, which is written as a number (one type per attribute).
struct Attributes {
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, double>> numbers;
  void add(const std::string& name, const std::string& value) { text.emplace_back(name, value); }
  void add(const std::string& name, double value) { numbers.emplace_back(name, value); }
  // A component's setting (YAML scalar text): a number when it reads as one.
  void setting(const std::string& name, const std::string& value);
  void write(netcdf::File& file) const;
};

// The spatial dims of a state: those with a spacing (y, x, site); the others
// (layer, component) are indices.
std::size_t grid_rank(const StateSpec& spec);
// The sizes of those spatial dims.
std::vector<std::int64_t> grid_of(const StateSpec& spec);
// Whether the first state dim is a channel (an index dim such as layer): the
// normalisation is per channel.
bool has_channel_dim(const StateSpec& spec);
// The spec of the states a generate stage's settings make it write: its
// model's, block-averaged by its coarsen factor (refused when that does not
// divide a spatial dim). What a stage reading them can check at validate time.
StateSpec generated_spec(const Config& generate);
// The frames of an observe stage's windows, as its settings and those of the
// generate stage it reads decide them (window: 0 is the whole sample).
std::int64_t window_frames(const Config& observe, const Config& generate);

// The per-channel factor states are divided by (the papers' normalisation,
// no mean removed): applied and undone here and nowhere else.
class Normalisation {
 public:
  // scale: one factor per channel (or one for all); ones when not normalised.
  Normalisation(at::Tensor scale, const StateSpec& spec);
  // states (leading..., state dims...) with `leading` dims before the state's.
  at::Tensor normalise(const at::Tensor& states, std::int64_t leading) const;
  at::Tensor physical(const at::Tensor& states, std::int64_t leading) const;
  const at::Tensor& scale() const { return scale_; }  // (channels)

 private:
  at::Tensor view(std::int64_t leading) const;
  at::Tensor scale_;
  std::int64_t rank_;
  bool channel_dim_;
};

// `model` seen in normalised units: states go in divided by the scale and
// come out so, through the model in physical units (differentiably), so that
// a sampler integrating the window's states (4D-Var) needs no scale. `spec`
// is the problem's (units "1" when normalised).
std::shared_ptr<const Model> in_units(std::shared_ptr<const Model> model, const Normalisation& normalisation,
                                      const StateSpec& spec);

// "[1.2, 0.5]": a per-channel tensor for a message.
std::string values_text(const at::Tensor& values);

// How the truth was observed, as the products describe it (its attributes are
// declared once, in products/shared_schema.cpp): observe's observation set and
// the assimilation results made from it carry all of it; a filter, which
// observes its own truth every cycle through a mask drawn per repetition, its
// noise and seed.
struct ObservationDesign {
  std::string operator_type = "?";     // the observation operator's type
  std::int64_t every = 1;              // frames 0, every, 2 every, ... of a window are observed
  std::string mask_design;             // which grid points, in words ("all", "stride 2, random 0.5", "file m.nc")
  double mask_fraction = 1;            // of the grid points, observed
  bool normalised = false;             // states divided by a per-channel scale before the operator
  double background_sigma = NAN;       // the background error std the samplers assume; NaN: no background
  std::string noise_law = "gaussian";
  double sigma = 0;                    // observation noise std, as the samplers assume it
  double sigma_drawn = NAN;            // the std of the noise drawn where it differs from sigma; NaN: sigma
  std::uint64_t seed = 0;              // of the draws
};

// The sampler a result comes from, as its settings name it.
struct SamplerName {
  std::string type = "?", method;  // method: "" for samplers that have one way only
  // "sampler.enkf letkf": the type, and the method where there is one.
  std::string text() const { return method.empty() ? type : type + " " + method; }
};

// -- generated dataset: (sample, time, state dims...) -------------------------

struct Dataset {
  std::filesystem::path path;
  StateSpec spec;                  // of one stored state (after any coarsening); time_step of the model
  std::int64_t samples = 0, frames = 0;
  std::int64_t frame_steps = 0;    // model time steps between frames
  at::Tensor std;                  // per channel (channels), over trajectories, time and space
  at::Tensor states() const;       // (sample, time, state dims...), float64
  std::vector<std::int64_t> shape() const;  // (sample, time, state dims...)
};

// The dataset a generate stage wrote; errors name the stage.
Dataset read_dataset(const StageInput& input);

// Writes a dataset as generate produces it: frame by frame, then the statistics.
class DatasetWriter {
 public:
  DatasetWriter(const std::filesystem::path& path, const StateSpec& spec, std::int64_t samples, std::int64_t frames,
                std::int64_t frame_steps, const Attributes& attributes);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;
  // Which trajectory and piece samples first.. come from, and the piece's start time.
  void write_samples(std::int64_t first, const std::vector<int>& trajectory, const std::vector<int>& piece,
                     const std::vector<double>& piece_start);
  // states (n, state dims...) as frame `frame` of samples first..first+n-1.
  void write_frame(std::int64_t first, std::int64_t frame, const at::Tensor& states);
  // Per-channel mean and standard deviation; closes the file.
  void finish(const std::vector<double>& mean, const std::vector<double>& std);

 private:
  struct Parts;  // the table (products/dataset.cpp) and the fields it binds
  std::unique_ptr<Parts> parts_;
  StateSpec spec_;
  std::optional<netcdf::File> file_;
};

// -- observation set: the assimilation problems of an observe stage -----------

struct ObservationSet {
  StateSpec state;                       // of the stored truth and background (units "1" when normalised)
  at::Tensor scale;                      // (channels): the factor the states were divided by
  std::vector<std::string> observation_dims;  // of one observed frame: channel..., grid dims
  at::Tensor observations;               // (window, time, observation dims...): H(x) + noise, 0 where unobserved
  at::Tensor mask;                       // (time, grid dims...), 1 where observed (in any window)
  // (window, time, grid dims...): each window's mask, where windows are
  // observed at other places or times (from a file); undefined: `mask` for every window.
  at::Tensor window_mask;
  // (window, time, observation dims...): each observation's error std, where
  // they differ (from a file); undefined: design.sigma for every one.
  at::Tensor sigma;
  // (location, grid dims): each place's coordinates along the grid dims, in
  // their units, where the observations lie between grid points (read from a
  // file): the last observation dim is then `location`, the masks are over
  // places, and H is the operator applied to the state interpolated there
  // (assimilate_checks::operator_of). Undefined: on the grid.
  at::Tensor places;
  at::Tensor truth;                      // (window, time, state dims...)
  at::Tensor background;                 // (window, state dims...); undefined without a background
  std::string background_doc;            // how the background was made (written only)
  std::int64_t frame_steps = 1;
  std::vector<int> window_sample, window_start;
  ObservationDesign design;
  Attributes operator_settings;          // the operator's settings but its type, `operator_<key>`
  // The mask over every observation dim, (time, observation dims...): of
  // every window, and of window w (its own where windows differ).
  at::Tensor full_mask() const;
  at::Tensor full_mask(std::int64_t window) const;
  // The dims a mask is over, the last of the observation dims: the grid's, or `location`.
  std::vector<std::string> point_dims() const;
  // `places` in grid units (cell i's centre at i), as interpolate_at takes them.
  at::Tensor places_in_grid_units() const;
};

void write_observations(const std::filesystem::path& path, const ObservationSet& set);
ObservationSet read_observations(const StageInput& input);
// What drawing one window takes: its observations (time, observation
// dims...), its mask and the dims, without the truth and the background.
ObservationSet read_observed_window(const std::filesystem::path& path, std::int64_t window);

// -- assimilation result ------------------------------------------------------

struct AssimilationResult {
  StateSpec state;                  // of the truth, mean and spread as stored (units "1" when normalised)
  std::string observations_digest;  // of the observation set assimilated (file_digest)
  std::string observations_stage;   // its observe stage
  at::Tensor mean, spread;          // (window, seed, time, state dims...)
  at::Tensor truth;                 // (window, time, state dims...)
  at::Tensor rmse, rmse_sample, ensemble_spread, crps;  // (window, seed, time)
  at::Tensor energy;                // (window, seed, time) the energy score; undefined in results that predate it
  at::Tensor ranks;                 // (window, seed, rank): the truth's rank among the members, counted
  at::Tensor samples;               // (window, seed, member, time, state dims...) float32, or undefined
  // A filter cycled through the window: the forecast each frame was analysed
  // from (frame 0: the background ensemble), its mean (window, seed, time,
  // state dims...) and, with the samples, its members (as samples);
  // undefined for other samplers.
  at::Tensor forecast, forecast_samples;
  // A minimiser's J and |grad J| per iteration, (window, seed, iteration),
  // NaN past a window's last iteration; undefined for samplers that minimise nothing.
  at::Tensor cost, gradient_norm;
  std::int64_t members = 0;
  std::int64_t frame_steps = 1;     // model time steps between frames
  double seconds_per_window = 0;
  std::int64_t diverged = 0;
  std::string status = "ok";
  // What the method takes besides the observations, in words, and what it
  // costs ("?" and NaN in results that predate them).
  std::string needs = "?";
  double model_steps_per_window = NAN, network_evaluations_per_window = NAN;
  double training_seconds = NAN;    // of the train stage that fitted its learned component
  ObservationDesign design;         // of the observations assimilated, for tables and figures over settings
  SamplerName sampler;              // read back from its settings
  Attributes settings;              // the sampler's
};

void write_assimilation(const std::filesystem::path& path, const AssimilationResult& result);
// What the report's plots of scores read: everything but the fields.
AssimilationResult read_assimilation_scores(const StageInput& input);
// What evaluate reads: the scores, and for its observation-space diagnostics
// the analysis and forecast fields (mean, samples, forecast,
// forecast_samples, each where the result holds it).
AssimilationResult read_assimilation_fields(const StageInput& input);
// What drawing one window and seed takes: the truth (time, state dims...),
// the mean and spread (the same), the RMSE and ensemble spread per frame.
// The digest of the observation set a result assimilated, read alone.
std::string read_observations_digest(const std::filesystem::path& path);
AssimilationResult read_assimilation_window(const std::filesystem::path& path, std::int64_t window,
                                            std::int64_t seed);

}  // namespace assim::products
