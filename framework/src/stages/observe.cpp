// `run: observe`: turns a generated dataset into assimilation problems. Each
// sample is cut into windows of L frames; frames 0, N, 2N, ... of a window
// are observed through y = H(x) + noise on the masked points, and optionally
// a background for frame 0 is drawn: x_b = x_0 + N(0, sigma_b^2), or, given a
// model, the one-frame forecast of the perturbed previous state
// x_b = M(x_{-1} + N(0, sigma_b^2)) (then windows start at frame 1). Everything
// random comes from the stage's seed and is saved, so that every sampler sees
// the very same observations. With `file`, the observations are read from an
// observation file instead (products/observation_file.hpp) and the data gives
// the truth they are scored against; `export` writes the set's observations
// in that layout, so that what is drawn here can be read back elsewhere.
#include <assim/error.hpp>
#include <assim/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/observation_design.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>

#include "products/observation_file.hpp"
#include "products/products.hpp"
#include "products/tensor_io.hpp"
#include "science/off_grid.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/accumulate.h>

#include <cmath>
#include <sstream>

namespace assim {

namespace {

// The window in frames, checked against the samples' frames.
std::int64_t window_of(const Config& config, std::int64_t frames) {
  const std::int64_t window = config.get<std::int64_t>("window") == 0 ? frames : config.get<std::int64_t>("window");
  if (window > frames)
    config.fail("window", "window of " + std::to_string(window) + " frames is longer than the samples (" +
                              std::to_string(frames) + " frames)");
  const auto every = config.get<std::int64_t>("every");
  if (every >= window && window > 1)
    config.fail("every", "with N = " + std::to_string(every) + " only frame 0 of each " + std::to_string(window) +
                             "-frame window is observed");
  return window;
}

class Observe : public Stage {
 public:
  std::string name() const override { return "observe"; }
  std::string doc() const override {
    return "cut a generated dataset into windows and observe them through an operator, a mask and noise";
  }
  Parameters parameters() const override {
    Parameters mask;
    mask.real("random", 1.0, "", "fraction of grid points observed, drawn at random once").above(0).at_most(1);
    mask.integer("stride", 1, "grid points", "observe every stride-th point along each spatial dim").at_least(1);
    mask.string("file", "", "", "NetCDF file with an integer variable over the grid (1: observed), "
                "relative to the experiment; replaces random and stride").input_file();
    mask.string("variable", "mask", "", "the mask variable in `file`");
    Parameters noise;
    noise.string("law", "gaussian", "", "distribution of the observation noise (all zero-mean with std sigma)")
        .one_of(noise_law_names());
    noise.real("sigma", 0.1, "observation units", "standard deviation of the observation noise, as the samplers "
               "assume it").at_least(0);
    noise.real("drawn", 0.1, "observation units", "standard deviation of the noise actually drawn, when it differs "
               "from the sigma the samplers assume (a mis-specified R, which evaluate's Desroziers ratio shows); "
               "default: sigma")
        .at_least(0)
        .optional();
    Parameters background;
    background.real("sigma", 0.1, "state units", "standard deviation of the background error at frame 0, as "
                    "the samplers assume it (normalised units when normalise is true)")
        .at_least(0)
        .optional();
    background.real("perturbation", 0.1, "state units", "standard deviation of the perturbation actually drawn, "
                    "when it differs from the sigma the samplers assume (the SOAD paper's Fig. 8: 0.01 drawn, 0.1 "
                    "assumed); default: sigma")
        .at_least(0)
        .optional();
    background.component("model", Kind::Model, "if given, the background is this model's one-frame forecast "
                         "from the previous state perturbed by `perturbation` (default sigma)").optional();
    Parameters p;
    p.stage("data", "the generate stage whose states are observed").one_of({"generate"});
    p.component("operator", Kind::ObservationOperator, "the observation operator H");
    p.boolean("normalise", false, "divide the states by a per-channel std before H "
              "(the papers observe normalised states); the background is then normalised too");
    p.stage("scale_from", "the generated dataset whose per-channel std normalises the states: the training data of "
            "the prior that will assimilate them, so that the sampler sees the units the prior learned (a "
            "trained prior refuses others); default: the observed data's own std")
        .one_of({"generate"})
        .optional();
    p.integer("window", 0, "frames", "frames per assimilation window, cut without overlap from each sample; "
              "0: the whole sample").at_least(0);
    p.integer("every", 1, "frames", "time interval N: frames 0, N, 2N, ... of each window are observed").at_least(1);
    p.section("mask", "which grid points are observed (the same on every observed frame and channel)", mask);
    p.section("noise", "the observation noise", noise);
    p.section("background", "a background state at frame 0 (setting I of the papers); absent sigma: none",
              background);
    p.string("file", "", "", "an observation file (IODA's groups: MetaData/window, time and the grid coordinates, "
             "ObsValue, ObsError, PreQC; framework/src/products/observation_file.hpp), relative to the experiment: "
             "its observations and errors replace those drawn (every, mask and noise are then not used), at frame "
             "times of the data's windows and any places inside the domain (between grid points H is the operator "
             "applied to the state interpolated there); its Background group, if any, is the background; read "
             "when the experiment is validated")
        .input_file();
    p.string("variable", "observation", "", "the observed variable's name in the groups of `file` and `export`");
    p.string("out", "observations.nc", "", "file name of the result").output_name();
    p.string("export", "obs.nc", "", "also write the observations (and the background) as an observation file of "
             "this name, the layout `file` reads").output_name().optional();
    return p;
  }

  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    window_of(config, inputs.at("data").get<std::int64_t>("frames"));
    // The operator keeps the grid (run() checks it against the data), so the
    // data's grid decides the stride.
    if (config.section("mask").get<std::string>("file").empty())
      design::check_stride(config.section("mask"), products::grid_of(products::generated_spec(inputs.at("data"))));
    if (config.has("scale_from") && !config.get<bool>("normalise"))
      config.fail("scale_from", "takes the scale to normalise by, but normalise is false");
    const Config background = config.section("background");
    if (background.has("perturbation") && !background.has("sigma"))
      background.fail("perturbation", "needs a sigma (the background error the samplers assume)");
    if (!config.get<std::string>("file").empty()) file_observations(config, inputs.at("data"));
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto op = config.component<ObservationOperator>("operator");
    const products::Dataset data = products::read_dataset(context.input("data"));
    const StateSpec& spec = data.spec;
    const std::vector<std::int64_t> shape = data.shape();
    const std::vector<std::int64_t> state_shape = spec.shape();
    const std::size_t spatial = products::grid_rank(spec);

    // Everything that can be refused is refused before any work.
    const std::vector<std::int64_t> out_shape = observed_shape(config, *op, state_shape, spatial);
    std::vector<std::int64_t> grid(out_shape.end() - spatial, out_shape.end());
    const std::int64_t frames = data.frames;
    const std::int64_t window = window_of(config, frames);
    const auto every = config.get<std::int64_t>("every");

    auto generator = at::make_generator<at::CPUGeneratorImpl>(context.seed());
    const bool from_file = !config.get<std::string>("file").empty();
    std::string mask_design;  // how the mask was drawn, in words, for tables and heatmaps
    at::Tensor mask = from_file ? at::Tensor() : grid_mask(context, grid, generator, mask_design);

    const at::Tensor scale = scale_of(context, data);
    const products::Normalisation normalisation(scale, spec);

    const bool with_background = config.section("background").has("sigma");
    const std::shared_ptr<Model> forecaster = background_model(config, state_shape, window, frames);
    // A forecast background starts from the frame before the window.
    const std::int64_t offset = forecaster ? 1 : 0;
    // The states, their windows, the observations and the background.
    check_memory(config, "data", 4 * 8.0 * static_cast<double>(c10::multiply_integers(shape)),
                 "observing " + shape_text(shape) + " float64 values");
    at::Tensor states = data.states();
    const std::int64_t per_sample = (frames - offset) / window;
    const at::Tensor windows = normalisation.normalise(cut_into_windows(states, offset, per_sample, window), 2);

    products::ObservationSet set;
    set.state = spec;
    set.scale = normalisation.scale();
    set.design.normalised = config.get<bool>("normalise");
    set.frame_steps = data.frame_steps;
    set.design.seed = context.seed();
    set.observation_dims = observation_dims(spec, out_shape, spatial);
    set.design.noise_law = config.section("noise").get<std::string>("law");
    at::Tensor observed_windows = windows;
    if (from_file) {
      observed_windows = read_file(context, set, windows);
    } else {
      set.design.every = every;
      set.design.mask_design = mask_design;
      set.design.mask_fraction = mask.to(at::kDouble).mean().item<double>();
      set.mask = design::window_mask(window, every, mask).to(at::kInt);  // (time, grid...)
      set.design.sigma = config.section("noise").get<double>("sigma");
      if (config.section("noise").has("drawn")) set.design.sigma_drawn = config.section("noise").get<double>("drawn");
      const double drawn = std::isnan(set.design.sigma_drawn) ? set.design.sigma : set.design.sigma_drawn;
      std::vector<std::int64_t> frame_shape = {window};
      frame_shape.insert(frame_shape.end(), out_shape.begin(), out_shape.end());
      at::Tensor y;
      try {
        y = design::observe(*op, windows, design::over_observations(set.mask, frame_shape),
                            noise_law(set.design.noise_law), drawn, generator);
      } catch (const Error& e) {
        config.fail("operator", e.what());
      }
      if (!at::isfinite(y).all().item<bool>())
        config.fail("noise", "the observations hold " + std::to_string((~at::isfinite(y)).sum().item<std::int64_t>()) +
                                 " non-finite values (NaN or Inf): the noise (sigma " + number_text(drawn) +
                                 ") or the operator overflows on these data");
      set.observations = y;
    }

    if (with_background && !set.background.defined())
      draw_background(context, data, states, observed_windows, forecaster, normalisation, per_sample, window,
                      generator, set);
    const std::int64_t count = observed_windows.size(0);
    set.truth = observed_windows.contiguous();
    for (std::int64_t w = 0; w < count; ++w) {
      set.window_sample.push_back(static_cast<int>(w / per_sample));
      set.window_start.push_back(static_cast<int>(offset + (w % per_sample) * window));
    }
    describe_operator(context, set);
    auto path = context.output() / config.get<std::string>("out");
    products::write_observations(path, set);
    if (config.has("export"))
      products::write_observation_file(context.output() / config.get<std::string>("export"), set,
                                       config.get<std::string>("variable"));
    if (!from_file)
      log::info("observed ", count, " windows of ", window, " frames (every ", every, ", ",
                mask.sum().item<std::int64_t>(), " of ", mask.numel(), " points) into ", path.filename().string());
  }

 private:
  // (samples, frames, state...) -> (samples x per_sample, window, state...):
  // consecutive windows of each sample from frame `offset` on.
  static at::Tensor cut_into_windows(const at::Tensor& states, std::int64_t offset, std::int64_t per_sample,
                                     std::int64_t window) {
    std::vector<std::int64_t> shape = {states.size(0) * per_sample, window};
    for (std::int64_t d = 2; d < states.dim(); ++d) shape.push_back(states.size(d));
    return states.slice(1, offset, offset + per_sample * window).reshape(shape);
  }

  // The names of an observed frame's dims: the state's grid dims, after the
  // operator's channel dims (channel, or channel_0, channel_1, ...).
  static std::vector<std::string> observation_dims(const StateSpec& spec, const std::vector<std::int64_t>& observed,
                                                   std::size_t spatial) {
    std::vector<std::string> dims;
    for (std::size_t d = 0; d < observed.size(); ++d) {
      if (d + spatial >= observed.size())
        dims.push_back(spec.dims[spec.dims.size() - (observed.size() - d)].name);
      else
        dims.push_back(observed.size() - spatial > 1 ? "channel_" + std::to_string(d) : "channel");
    }
    return dims;
  }

  // The observations, their errors and mask, and the background if it has
  // one, of observation file `file`, on the data's windows (those the file
  // observes, from the first): the windows' truth.
  static at::Tensor read_file(const StageContext& context, products::ObservationSet& set, const at::Tensor& windows) {
    const Config& config = context.config();
    const std::string name = config.get<std::string>("file");
    const products::FileObservations read = file_observations(config, context.input("data").settings);
    if (read.background.defined() && !config.section("background").has("sigma"))
      config.fail("file", name + " holds a background (group Background): give background: {sigma: ...}, the "
                  "background error the samplers assume");
    if (read.background.defined() && config.section("background").has("model"))
      config.section("background").fail("model", name + " holds the background (group Background): it is not "
                                        "forecast here");
    const std::int64_t count = read.observations.size(0);
    if (read.places.defined()) {
      // H observes the state interpolated at the file's places.
      set.places = read.places;
      set.observation_dims.resize(set.observation_dims.size() - products::grid_rank(set.state));
      set.observation_dims.push_back("location");
    }
    set.observations = read.observations;
    set.mask = read.mask;
    set.window_mask = read.window_mask;
    if (read.background.defined()) {
      set.background = read.background;
      set.design.background_sigma = config.section("background").get<double>("sigma");
      set.background_doc = "background of " + name;
    }
    // One error for all is the design's sigma; errors that differ travel per observation.
    const at::Tensor observed_errors = read.sigma.masked_select(read.sigma.gt(0));  // 0 where unobserved
    const double first = observed_errors[0].item<double>();
    if (observed_errors.eq(first).all().item<bool>())
      set.design.sigma = first;
    else {
      set.sigma = read.sigma;
      set.design.sigma = observed_errors.mean().item<double>();
    }
    // The frames observed: every N from frame 0 is the design's `every`.
    const at::Tensor frames = set.mask.flatten(1).any(1).nonzero().flatten();
    const std::int64_t interval = frames.size(0) > 1 ? frames[1].item<std::int64_t>() - frames[0].item<std::int64_t>() : set.mask.size(0);
    set.design.every = frames[0].item<std::int64_t>() == 0 &&
                               frames.equal(at::arange(0, set.mask.size(0), interval, at::kLong))
                           ? interval
                           : 1;
    set.design.mask_design = "file " + name + (set.places.defined() ? ", between grid points" : "");
    // The fraction of grid points observed; between them, the observations of
    // an observed frame per grid point (0.5: as many as on half the grid).
    double grid_points = 1;
    for (const auto& d : set.state.dims)
      if (d.spacing > 0) grid_points *= static_cast<double>(d.size);
    const at::Tensor seen = set.window_mask.defined() ? set.window_mask.flatten(2) : set.mask.flatten(1).unsqueeze(0);
    const double observed_frames = static_cast<double>(seen.any(2).sum().item<std::int64_t>());
    set.design.mask_fraction = set.places.defined()
                                   ? static_cast<double>(seen.sum().item<std::int64_t>()) / (observed_frames * grid_points)
                                   : set.mask.flatten(1).any(0).to(at::kDouble).mean().item<double>();
    log::info("read ", observed_errors.numel(), " observations in ", count, " windows from ", name,
              set.places.defined() ? " at " + std::to_string(set.places.size(0)) + " places between grid points" : "",
              set.window_mask.defined() ? ", observed at other places or times in each" : "",
              read.flagged > 0 ? " (" + std::to_string(read.flagged) + " flagged by PreQC, skipped)" : std::string());
    return windows.slice(0, 0, count);
  }

  // The observations of the stage's file on the windows of its data
  // (generate stage `generate`), from the settings alone, so that `validate`
  // refuses a bad file before anything runs: each failure names the key, the
  // file and the variable. Between grid points, H must act on the
  // interpolated values (an element-wise operator).
  static products::FileObservations file_observations(const Config& config, const Config& generate) {
    products::ObservationPlaces places;
    try {
      places = products::places_of(config, generate);
    } catch (const Error& e) {
      config.fail("operator", e.what());
    }
    products::FileObservations read;
    try {
      read = products::read_observation_file(config.file("file"), places);
    } catch (const Error& e) {
      config.fail("file", e.what());
    }
    if (read.places.defined()) try {
        off_grid::check_element_wise(*config.component<ObservationOperator>("operator"), places.state.shape(),
                                     products::grid_rank(places.state), read.places.size(0));
      } catch (const Error& e) {
        config.fail("operator", config.get<std::string>("file") + ": " + e.what());
      }
    return read;
  }

  // The operator's type is part of the design the products describe; its
  // other settings go with it as `operator_<key>`.
  static void describe_operator(const StageContext& context, products::ObservationSet& set) {
    for (const auto& [key, value] : context.settings_of("operator")) {
      if (key == "type")
        set.design.operator_type = value;
      else
        set.operator_settings.setting("operator_" + key, value);
    }
  }

  // The operator's output shape on the data's states, refused unless it
  // keeps the state's grid in its trailing dims (the mask is drawn on it).
  static std::vector<std::int64_t> observed_shape(const Config& config, const ObservationOperator& op,
                                                  const std::vector<std::int64_t>& state_shape, std::size_t spatial) {
    std::vector<std::int64_t> out_shape;
    try {
      out_shape = op.output_shape(state_shape);
    } catch (const std::exception& e) {
      config.fail("operator", std::string("cannot observe the states of stage '") + config.reference("data") +
                                  "' (shape " + shape_text(state_shape) + "): " + e.what());
    }
    if (out_shape.size() < spatial ||
        !std::equal(out_shape.end() - spatial, out_shape.end(), state_shape.end() - spatial))
      config.fail("operator", "its output " + shape_text(out_shape) + " does not keep the grid of the state " +
                                  shape_text(state_shape) + ", so the mask cannot be applied to it");
    return out_shape;
  }

  // The per-channel std the states are divided by, as stored by generate:
  // the training data's (scale_from) or the observed data's own; ones when
  // normalise is false.
  static at::Tensor scale_of(const StageContext& context, const products::Dataset& data) {
    const Config& config = context.config();
    const StateSpec& spec = data.spec;
    const std::vector<std::int64_t> state_shape = spec.shape();
    const std::int64_t channels = products::has_channel_dim(spec) ? state_shape[0] : 1;
    at::Tensor scale = at::ones({channels}, at::kDouble);
    if (config.get<bool>("normalise")) {
      const std::string key = config.has("scale_from") ? "scale_from" : "normalise";
      at::Tensor std = data.std;
      if (config.has("scale_from")) {
        const products::Dataset reference = products::read_dataset(context.input("scale_from"));
        if (reference.spec.shape() != spec.shape())
          config.fail("scale_from", "stage '" + config.reference("scale_from") + "' holds states " +
                                        shape_text(reference.spec.shape()) + ", not the observed " +
                                        shape_text(spec.shape()));
        std = reference.std;
      }
      scale = std.numel() == 1 ? std.expand({channels}).contiguous() : std;
      if (!(scale > 0).logical_and(at::isfinite(scale)).all().item<bool>())
        config.fail(key, (config.has("scale_from") ? "the standard deviation of stage '" + config.reference("scale_from") + "' "
                                                    : std::string("the data's standard deviation ")) +
                             products::values_text(scale) +
                             " is not a positive finite number in every channel (a constant field?); "
                             "set normalise: false");
    }
    return scale;
  }

  // The model of a forecast background (background: {model: ...}), checked
  // against the data; none for a background drawn about the truth.
  static std::shared_ptr<Model> background_model(const Config& config, const std::vector<std::int64_t>& state_shape,
                                                 std::int64_t window, std::int64_t frames) {
    Config background_config = config.section("background");
    const bool with_background = background_config.has("sigma");
    std::shared_ptr<Model> forecaster;
    if (background_config.has("model")) {
      if (!with_background) background_config.fail("model", "needs a sigma (the background error the samplers assume)");
      forecaster = background_config.component<Model>("model");
      if (forecaster->state_spec().shape() != state_shape)
        background_config.fail("model", "its states " + shape_text(forecaster->state_spec().shape()) +
                                            " are not the data's " + shape_text(state_shape));
      if (window + 1 > frames)
        config.fail("window", "a forecast background needs the frame before each window: windows of at most " +
                                  std::to_string(frames - 1) + " frames");
    }
    return forecaster;
  }

  // The background of every window's frame 0: the truth plus noise, or a
  // one-frame forecast of the perturbed previous state.
  static void draw_background(const StageContext& context, const products::Dataset& data, const at::Tensor& states,
                              const at::Tensor& windows,
                              const std::shared_ptr<Model>& forecaster, const products::Normalisation& normalisation,
                              std::int64_t per_sample, std::int64_t window, at::Generator& generator,
                              products::ObservationSet& set) {
    const Config background_config = context.config().section("background");
    const StateSpec& spec = data.spec;
    const std::vector<std::int64_t> shape = data.shape(), state_shape = spec.shape();
    const std::int64_t frames = data.frames;
    const double sigma_b = background_config.get<double>("sigma");
    const double drawn = background_config.has("perturbation") ? background_config.get<double>("perturbation") : sigma_b;
    set.design.background_sigma = sigma_b;
    at::Tensor previous;
    if (forecaster) {
      std::vector<std::int64_t> starts;
      for (std::int64_t sample = 0; sample < shape[0]; ++sample)
        for (std::int64_t k = 0; k < per_sample; ++k) starts.push_back(sample * frames + k * window);
      previous = normalisation.normalise(states.reshape([&] {
                                                 std::vector<std::int64_t> s = {shape[0] * frames};
                                                 s.insert(s.end(), state_shape.begin(), state_shape.end());
                                                 return s;
                                               }())
                                             .index_select(0, at::tensor(starts, at::kLong)),
                                         1);
    }
    const auto forecast = forecaster ? products::in_units(forecaster, normalisation, spec) : nullptr;
    const at::Tensor background = design::background(windows.select(1, 0).to(at::kDouble), previous, forecast.get(),
                                                     data.frame_steps, drawn, generator);
    set.background_doc = forecaster ? "one-frame forecast of the perturbed previous state" : "true state at frame 0 plus noise";
    if (drawn != sigma_b)
      set.background_doc += " (perturbation std " + number_text(drawn) + ", assumed " + number_text(sigma_b) + ")";
    if (!at::isfinite(background).all().item<bool>())
      background_config.fail("sigma", "the background holds non-finite values (NaN or Inf): sigma " +
                                          number_text(sigma_b) + " overflows, or the forecast diverged");
    // Drawn for every window of the data, kept for those observed (a file may observe fewer).
    set.background = background.slice(0, 0, windows.size(0)).contiguous();
  }

  // The observed grid points, from a file or drawn; `design` says how, in words.
  static at::Tensor grid_mask(const StageContext& context, const std::vector<std::int64_t>& grid,
                              at::Generator& generator, std::string& design) {
    const Config& config = context.config();
    Config mask_config = config.section("mask");
    at::Tensor mask;
    if (!mask_config.get<std::string>("file").empty()) {
      design = "file " + mask_config.get<std::string>("file");
      auto path = context.resolve(mask_config.get<std::string>("file"));
      if (!std::filesystem::exists(path)) mask_config.fail("file", "mask file " + path.string() + " does not exist");
      auto file = netcdf::File::open(path);
      std::string var = mask_config.get<std::string>("variable");
      if (!file.has_variable(var)) mask_config.fail("variable", path.string() + " has no variable '" + var + "'");
      auto mshape = file.shape(var);
      if (std::vector<std::int64_t>(mshape.begin(), mshape.end()) != grid)
        mask_config.fail("file", path.string() + ": variable '" + var + "' has shape " +
                                     shape_text(std::vector<std::int64_t>(mshape.begin(), mshape.end())) +
                                     ", the grid is " + shape_text(grid));
      at::Tensor read = read_tensor(file, var);
      const auto other = (read.ne(0).logical_and(read.ne(1))).sum().item<std::int64_t>();
      if (other > 0)
        mask_config.fail("file", path.string() + ": variable '" + var + "' has " + std::to_string(other) +
                                     " values that are neither 0 (unobserved) nor 1 (observed), such as NaN, 0.5 or 2");
      mask = read.eq(1);
    } else {
      const auto stride = mask_config.get<std::int64_t>("stride");
      design::check_stride(mask_config, grid);
      const double random = mask_config.get<double>("random");
      mask = design::mask(grid, random, stride, generator);
      std::ostringstream text;
      if (stride > 1) text << "stride " << stride;
      if (random < 1) text << (stride > 1 ? ", " : "") << "random " << random;
      design = stride > 1 || random < 1 ? text.str() : "all";
    }
    design::check_observes(mask, config, "mask");
    return mask;
  }
};

}  // namespace

std::unique_ptr<Stage> make_observe_stage() { return std::make_unique<Observe>(); }

}  // namespace assim
