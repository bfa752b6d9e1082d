#include "products.hpp"

#include "tensor_io.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/observation_design.hpp>

#include <numeric>

namespace assim::products {

std::string values_text(const at::Tensor& values) {
  const at::Tensor flat = values.reshape({-1});
  std::string out = "[";
  for (std::int64_t i = 0; i < flat.numel(); ++i) out += (i ? ", " : "") + number_text(flat[i].item<double>());
  return out + "]";
}

namespace {

bool is_number(const std::string& text, double& value) {
  try {
    std::size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::string text_or(const netcdf::File& file, const std::string& variable, const std::string& name,
                    const std::string& otherwise = "") {
  return file.has_attribute(variable, name) ? file.text_attribute(variable, name) : otherwise;
}

double number(const netcdf::File& file, const std::string& name) {
  if (!file.has_attribute("", name))
    throw Error(file.path().string() + ": attribute '" + name + "' is missing; the file was not written by this "
                "version of assim (rerun the stage that made it, with --force)");
  return file.number_attribute("", name)[0];
}

// The stage's product, or an error that says which stage has none.
const std::filesystem::path& product_of(const StageInput& input) {
  if (input.product.empty()) throw Error("internal: stage '" + input.name + "' declares no output file");
  if (!std::filesystem::exists(input.product))
    throw Error("stage '" + input.name + "': its result " + input.product.string() +
                " is missing; rerun it (--force --only " + input.name + ")");
  return input.product;
}

std::vector<std::string> state_dim_names(const StateSpec& spec) {
  std::vector<std::string> out;
  for (const auto& d : spec.dims) out.push_back(d.name);
  return out;
}

std::vector<std::string> with(std::vector<std::string> leading, const std::vector<std::string>& rest) {
  leading.insert(leading.end(), rest.begin(), rest.end());
  return leading;
}

// The state's dims and their coordinate variables (cell centres for grid
// dims, with their spacing; indices otherwise), and the spec's scalars.
void define_state(netcdf::File& file, const StateSpec& spec) {
  for (const auto& d : spec.dims) {
    file.dimension(d.name, static_cast<std::size_t>(d.size));
    if (d.spacing > 0) {
      file.variable(d.name, "double", {d.name});
      file.attribute(d.name, "units", d.units);
      file.attribute(d.name, "spacing", d.spacing);
      file.attribute(d.name, "long_name", "cell-centre coordinate");
    } else {
      file.variable(d.name, "int", {d.name});
      file.attribute(d.name, "long_name", d.name + " index");
    }
  }
  file.attribute("", "state_variable", spec.variable);
  file.attribute("", "state_long_name", spec.long_name);
  file.attribute("", "state_units", spec.units);
  file.attribute("", "time_step", spec.time_step);
  file.attribute("", "time_units", spec.time_units);
}

void write_index(netcdf::File& file, const std::string& variable, std::int64_t n) {
  std::vector<int> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  file.write(variable, {0}, {static_cast<std::size_t>(n)}, index.data());
}

void write_state_coordinates(netcdf::File& file, const StateSpec& spec) {
  for (const auto& d : spec.dims) {
    if (d.spacing > 0) {
      std::vector<double> centres(static_cast<std::size_t>(d.size));
      for (std::int64_t i = 0; i < d.size; ++i) centres[static_cast<std::size_t>(i)] = (i + 0.5) * d.spacing;
      file.write(d.name, {0}, {static_cast<std::size_t>(d.size)}, centres.data());
    } else {
      write_index(file, d.name, d.size);
    }
  }
}

// The spec of `variable`, whose state dims start at `first`.
StateSpec read_state(const netcdf::File& file, const std::string& variable, std::size_t first) {
  StateSpec spec;
  spec.variable = file.text_attribute("", "state_variable");
  spec.long_name = text_or(file, "", "state_long_name");
  spec.units = text_or(file, "", "state_units");
  spec.time_step = number(file, "time_step");
  spec.time_units = text_or(file, "", "time_units");
  const auto names = file.dimensions_of(variable);
  const auto shape = file.shape(variable);
  for (std::size_t d = first; d < names.size(); ++d) {
    Dimension dim{names[d], static_cast<std::int64_t>(shape[d]), "", 0.0};
    if (file.has_variable(names[d]) && file.has_attribute(names[d], "spacing")) {
      dim.spacing = file.number_attribute(names[d], "spacing")[0];
      dim.units = text_or(file, names[d], "units");
    }
    spec.dims.push_back(dim);
  }
  return spec;
}

// A time coordinate of `n` frames `steps` model steps apart.
void define_time(netcdf::File& file, std::int64_t n, const StateSpec& spec, const std::string& doc) {
  file.dimension("time", static_cast<std::size_t>(n));
  file.variable("time", "double", {"time"});
  file.attribute("time", "units", spec.time_units);
  file.attribute("time", "long_name", doc);
}

void write_time(netcdf::File& file, std::int64_t n, std::int64_t steps, const StateSpec& spec) {
  std::vector<double> times(static_cast<std::size_t>(n));
  for (std::int64_t f = 0; f < n; ++f) times[static_cast<std::size_t>(f)] = static_cast<double>(f * steps) * spec.time_step;
  file.write("time", {0}, {static_cast<std::size_t>(n)}, times.data());
}

void define_index(netcdf::File& file, const std::string& name, std::int64_t n, const std::string& doc) {
  file.dimension(name, static_cast<std::size_t>(n));
  file.variable(name, "int", {name});
  file.attribute(name, "long_name", doc);
}

// Units of stored states: the model's, or 1 for states divided by their std.
std::string stored_units(const StateSpec& spec, bool normalised) { return normalised ? "1" : spec.units; }
std::string stored_doc(bool normalised) { return normalised ? " (divided by the per-channel scale)" : ""; }

std::vector<std::string> channel_dims(const StateSpec& spec) {
  return has_channel_dim(spec) ? std::vector<std::string>{spec.dims[0].name} : std::vector<std::string>{};
}

std::vector<int> read_ints(const netcdf::File& file, const std::string& variable) {
  std::vector<int> out;
  for (double v : file.read(variable)) out.push_back(static_cast<int>(v));
  return out;
}

}  // namespace

void Attributes::setting(const std::string& name, const std::string& value) {
  double n = 0;
  if (is_number(value, n))
    add(name, n);
  else
    add(name, value);
}

void Attributes::write(netcdf::File& file) const {
  for (const auto& [name, value] : text) file.attribute("", name, value);
  for (const auto& [name, value] : numbers) file.attribute("", name, value);
}

std::size_t grid_rank(const StateSpec& spec) {
  std::size_t n = 0;
  for (const auto& d : spec.dims) n += d.spacing > 0 ? 1 : 0;
  return n;
}

std::vector<std::int64_t> grid_of(const StateSpec& spec) {
  std::vector<std::int64_t> grid;
  for (const auto& d : spec.dims)
    if (d.spacing > 0) grid.push_back(d.size);
  return grid;
}

bool has_channel_dim(const StateSpec& spec) { return !spec.dims.empty() && spec.dims[0].spacing <= 0; }

std::int64_t window_frames(const Config& observe, const Config& generate) {
  const auto window = observe.get<std::int64_t>("window");
  return window == 0 ? generate.get<std::int64_t>("frames") : window;
}

StateSpec generated_spec(const Config& generate) {
  StateSpec spec = generate.component<Model>("model")->state_spec();
  const auto factor = generate.get<std::int64_t>("coarsen");
  for (auto& d : spec.dims)
    if (d.spacing > 0) {
      if (d.size % factor != 0)
        generate.fail("coarsen", "factor " + std::to_string(factor) + " does not divide dimension " + d.name +
                                     " of size " + std::to_string(d.size));
      d.size /= factor;
      d.spacing *= factor;
    }
  return spec;
}

Normalisation::Normalisation(at::Tensor scale, const StateSpec& spec)
    : rank_(static_cast<std::int64_t>(spec.dims.size())), channel_dim_(has_channel_dim(spec)) {
  const std::int64_t channels = channel_dim_ ? spec.dims[0].size : 1;
  scale = scale.to(at::kDouble).reshape({-1});
  if (scale.numel() == 1) scale = scale.expand({channels});
  if (scale.numel() != channels)
    throw Error("a scale of " + std::to_string(scale.numel()) + " channels for states of " + std::to_string(channels));
  scale_ = scale.contiguous();
}

at::Tensor Normalisation::view(std::int64_t leading) const {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(leading + rank_), 1);
  if (channel_dim_) shape[static_cast<std::size_t>(leading)] = scale_.numel();
  return scale_.view(shape);
}

at::Tensor Normalisation::normalise(const at::Tensor& states, std::int64_t leading) const {
  return states / view(leading);
}

at::Tensor Normalisation::physical(const at::Tensor& states, std::int64_t leading) const {
  return states * view(leading);
}

namespace {

class NormalisedTrajectory : public Trajectory {
 public:
  NormalisedTrajectory(std::unique_ptr<Trajectory> inner, const Normalisation& normalisation)
      : inner_(std::move(inner)), normalisation_(normalisation) {}
  void advance(std::int64_t steps) override { inner_->advance(steps); }
  at::Tensor state() const override { return normalisation_.normalise(inner_->state(), 1); }
  std::int64_t steps_taken() const override { return inner_->steps_taken(); }

 private:
  std::unique_ptr<Trajectory> inner_;
  Normalisation normalisation_;
};

class NormalisedModel : public Model {
 public:
  NormalisedModel(std::shared_ptr<const Model> model, Normalisation normalisation, StateSpec spec)
      : model_(std::move(model)), normalisation_(std::move(normalisation)), spec_(std::move(spec)) {}
  StateSpec state_spec() const override { return spec_; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    return normalisation_.normalise(model_->initial_state(members, seed), 1);
  }
  std::unique_ptr<Trajectory> start(const at::Tensor& states) const override {
    return std::make_unique<NormalisedTrajectory>(model_->start(normalisation_.physical(states, 1).contiguous()),
                                                  normalisation_);
  }
  bool differentiable() const override { return model_->differentiable(); }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    return normalisation_.normalise(
        model_->differentiable_trajectory(normalisation_.physical(states, 1), frames, frame_steps), 2);
  }

 private:
  std::shared_ptr<const Model> model_;
  Normalisation normalisation_;
  StateSpec spec_;
};

}  // namespace

std::shared_ptr<const Model> in_units(std::shared_ptr<const Model> model, const Normalisation& normalisation,
                                      const StateSpec& spec) {
  return std::make_shared<NormalisedModel>(std::move(model), normalisation, spec);
}

// -- dataset ------------------------------------------------------------------

at::Tensor Dataset::states() const { return read_tensor(netcdf::File::open(path), spec.variable); }

std::vector<std::int64_t> Dataset::shape() const {
  std::vector<std::int64_t> s = {samples, frames};
  for (auto n : spec.shape()) s.push_back(n);
  return s;
}

Dataset read_dataset(const StageInput& input) {
  Dataset d;
  d.path = product_of(input);
  auto file = netcdf::File::open(d.path);
  const std::string variable = file.text_attribute("", "state_variable");
  d.spec = read_state(file, variable, 2);
  const auto shape = file.shape(variable);
  d.samples = static_cast<std::int64_t>(shape[0]);
  d.frames = static_cast<std::int64_t>(shape[1]);
  d.frame_steps = static_cast<std::int64_t>(number(file, "sample_every_steps"));
  d.std = read_tensor(file, variable + "_std").reshape({-1});
  return d;
}

DatasetWriter::DatasetWriter(const std::filesystem::path& path, const StateSpec& spec, std::int64_t samples,
                             std::int64_t frames, std::int64_t frame_steps, const Attributes& attributes)
    : file_(netcdf::File::create(path)), spec_(spec), frames_(frames) {
  define_index(file_, "sample", samples, "piece of a trajectory: sample = piece * trajectories + trajectory");
  define_time(file_, frames, spec, "time since the start of the piece");
  define_state(file_, spec);
  file_.variable("trajectory", "int", {"sample"});
  file_.attribute("trajectory", "long_name", "trajectory (independent initial state) the sample comes from");
  file_.variable("piece", "int", {"sample"});
  file_.attribute("piece", "long_name", "index of the piece within its trajectory");
  file_.variable("piece_start", "double", {"sample"});
  file_.attribute("piece_start", "units", spec.time_units);
  file_.attribute("piece_start", "long_name", "start of the piece, counted from the end of the spin-up");
  file_.variable(spec.variable, "double", with({"sample", "time"}, state_dim_names(spec)));
  file_.attribute(spec.variable, "units", spec.units);
  file_.attribute(spec.variable, "long_name", spec.long_name);
  for (const char* stat : {"_mean", "_std"}) {
    file_.variable(spec.variable + stat, "double", channel_dims(spec));
    file_.attribute(spec.variable + stat, "units", spec.units);
    file_.attribute(spec.variable + stat, "long_name",
                    std::string(stat == std::string("_mean") ? "mean" : "standard deviation") +
                        " over trajectories, time and space, for normalisation");
  }
  file_.attribute("", "Conventions", "CF-1.8");
  file_.attribute("", "title", "trajectories of " + spec.long_name);
  file_.attribute("", "source", "assim " ASSIM_SDK_VERSION " generate stage");
  file_.attribute("", "sample_every_steps", static_cast<double>(frame_steps));
  attributes.write(file_);
  file_.end_definitions();
  write_index(file_, "sample", samples);
  write_time(file_, frames, frame_steps, spec);
  write_state_coordinates(file_, spec);
}

void DatasetWriter::write_samples(std::int64_t first, const std::vector<int>& trajectory, const std::vector<int>& piece,
                                  const std::vector<double>& piece_start) {
  std::vector<std::size_t> start = {static_cast<std::size_t>(first)}, count = {trajectory.size()};
  file_.write("trajectory", start, count, trajectory.data());
  file_.write("piece", start, count, piece.data());
  file_.write("piece_start", start, count, piece_start.data());
}

void DatasetWriter::write_frame(std::int64_t first, std::int64_t frame, const at::Tensor& states) {
  at::Tensor t = states.to(at::kDouble).contiguous();
  std::vector<std::size_t> start(2 + spec_.dims.size(), 0), count = {static_cast<std::size_t>(t.size(0)), 1};
  start[0] = static_cast<std::size_t>(first);
  start[1] = static_cast<std::size_t>(frame);
  for (const auto& d : spec_.dims) count.push_back(static_cast<std::size_t>(d.size));
  file_.write(spec_.variable, start, count, t.data_ptr<double>());
}

void DatasetWriter::finish(const std::vector<double>& mean, const std::vector<double>& std) {
  const std::size_t rank = has_channel_dim(spec_) ? 1 : 0;
  std::vector<std::size_t> start(rank, 0), count(rank, mean.size());
  file_.write(spec_.variable + "_mean", start, count, mean.data());
  file_.write(spec_.variable + "_std", start, count, std.data());
  file_.close();
}

// -- observation set ----------------------------------------------------------

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

// -- assimilation result ------------------------------------------------------

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
