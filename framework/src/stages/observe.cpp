// `run: observe`: turns a generated dataset into assimilation problems. Each
// sample is cut into windows of L frames; frames 0, N, 2N, ... of a window
// are observed through y = H(x) + noise on the masked points, and optionally
// a background for frame 0 is drawn: x_b = x_0 + N(0, sigma_b^2), or, given a
// model, the one-frame forecast of the perturbed previous state
// x_b = M(x_{-1} + N(0, sigma_b^2)) (then windows start at frame 1). Everything
// random comes from the stage's seed and is saved, so that every sampler sees
// the very same observations.
#include <assim/error.hpp>
#include <assim/framework/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/observation_design.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>

#include "tensor_io.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

namespace assim {

namespace {

// "1e+308": a number as a message shows it.
std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// "[1.2, 0]": a short per-channel tensor for a message.
std::string data_text(const at::Tensor& values) {
  std::string out = "[";
  for (std::int64_t i = 0; i < values.numel(); ++i)
    out += (i ? ", " : "") + std::to_string(values[i].item<double>());
  return out + "]";
}

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
        .one_of(design::noise_law_names());
    noise.real("sigma", 0.1, "observation units", "standard deviation of the observation noise").at_least(0);
    Parameters background;
    background.real("sigma", 0.1, "state units", "standard deviation of the background error at frame 0")
        .at_least(0)
        .optional();
    background.component("model", Kind::Model, "if given, the background is this model's one-frame forecast "
                         "from the previous state perturbed by sigma (in physical units)").optional();
    Parameters p;
    p.stage("data", "the generate stage whose states are observed").one_of({"generate"});
    p.component("operator", Kind::ObservationOperator, "the observation operator H");
    p.boolean("normalise", false, "divide the states by the data's per-channel std before H "
              "(the papers observe normalised states); the background is then normalised too");
    p.integer("window", 0, "frames", "frames per assimilation window, cut without overlap from each sample; "
              "0: the whole sample").at_least(0);
    p.integer("every", 1, "frames", "time interval N: frames 0, N, 2N, ... of each window are observed").at_least(1);
    p.section("mask", "which grid points are observed (the same on every observed frame and channel)", mask);
    p.section("noise", "the observation noise", noise);
    p.section("background", "a background state at frame 0 (setting I of the papers); absent sigma: none",
              background);
    p.string("out", "observations.nc", "", "file name of the result").output_name();
    return p;
  }

  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    window_of(config, inputs.at("data").get<std::int64_t>("frames"));
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto op = config.component<ObservationOperator>("operator");
    netcdf::File data = netcdf::File::open(context.input("data") / "data.nc");
    std::string variable = data.text_attribute("", "state_variable");
    auto names = data.dimensions_of(variable);
    auto file_shape = data.shape(variable);
    std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
    std::vector<std::int64_t> state_shape(shape.begin() + 2, shape.end());
    std::vector<std::string> state_names(names.begin() + 2, names.end());
    std::size_t spatial = 0;
    for (const auto& n : state_names) spatial += data.has_variable(n) ? 1 : 0;

    // Everything that can be refused is refused before any work.
    std::vector<std::int64_t> out_shape;
    try {
      out_shape = op->output_shape(state_shape);
    } catch (const std::exception& e) {
      config.fail("operator", std::string("cannot observe the states of stage '") + config.reference("data") +
                                  "' (shape " + shape_text(state_shape) + "): " + e.what());
    }
    if (out_shape.size() < spatial ||
        !std::equal(out_shape.end() - spatial, out_shape.end(), state_shape.end() - spatial))
      config.fail("operator", "its output " + shape_text(out_shape) + " does not keep the grid of the state " +
                                  shape_text(state_shape) + ", so the mask cannot be applied to it");
    std::vector<std::int64_t> grid(out_shape.end() - spatial, out_shape.end());
    const std::int64_t frames = shape[1];
    const std::int64_t window = window_of(config, frames);
    const auto every = config.get<std::int64_t>("every");

    Config mask_config = config.section("mask");
    auto generator = at::make_generator<at::CPUGeneratorImpl>(context.seed());
    at::Tensor mask;
    std::string mask_design;  // how the mask was drawn, in words, for tables and heatmaps
    if (!mask_config.get<std::string>("file").empty()) {
      mask_design = "file " + mask_config.get<std::string>("file");
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
      auto values = file.read(var);
      at::Tensor read = at::from_blob(values.data(), grid, at::kDouble).clone();
      const auto other = (read.ne(0).logical_and(read.ne(1))).sum().item<std::int64_t>();
      if (other > 0)
        mask_config.fail("file", path.string() + ": variable '" + var + "' has " + std::to_string(other) +
                                     " values that are neither 0 (unobserved) nor 1 (observed), such as NaN, 0.5 or 2");
      mask = read.eq(1);
    } else {
      const auto stride = mask_config.get<std::int64_t>("stride");
      for (auto n : grid)
        if (stride > n)
          mask_config.fail("stride", "stride " + std::to_string(stride) + " is larger than the grid (" +
                                         std::to_string(n) + " points)");
      const double random = mask_config.get<double>("random");
      mask = design::mask(grid, random, stride, generator);
      std::ostringstream text;
      if (stride > 1) text << "stride " << stride;
      if (random < 1) text << (stride > 1 ? ", " : "") << "random " << random;
      mask_design = stride > 1 || random < 1 ? text.str() : "all";
    }
    if (mask.sum().item<std::int64_t>() == 0) config.fail("mask", "observes no grid point at all");

    // Normalisation by the data's per-channel std, as stored by generate. The
    // channel dim is the first state dim when it is no grid dim (layer).
    const bool state_channel_dim = state_shape.size() > spatial;
    const std::int64_t channels = state_channel_dim ? state_shape[0] : 1;
    at::Tensor scale = at::ones({channels}, at::kDouble);
    if (config.get<bool>("normalise")) {
      scale = read_tensor(data, variable + "_std").reshape({-1});
      if (scale.numel() == 1) scale = scale.expand({channels}).contiguous();
      if (!(scale > 0).logical_and(at::isfinite(scale)).all().item<bool>())
        config.fail("normalise", "the data's standard deviation " + data_text(scale) +
                                     " is not a positive finite number in every channel (a constant field?); "
                                     "set normalise: false");
    }
    std::vector<std::int64_t> scale_view(state_shape.size(), 1);
    if (state_channel_dim) scale_view[0] = channels;

    Config background_config = config.section("background");
    const bool with_background = background_config.has("sigma");
    std::shared_ptr<Model> forecaster;
    if (background_config.has("model")) {
      if (!with_background) background_config.fail("model", "needs a sigma to perturb the previous state with");
      forecaster = background_config.component<Model>("model");
      if (forecaster->state_spec().shape() != state_shape)
        background_config.fail("model", "its states " + shape_text(forecaster->state_spec().shape()) +
                                            " are not the data's " + shape_text(state_shape));
      if (window + 1 > frames)
        config.fail("window", "a forecast background needs the frame before each window: windows of at most " +
                                  std::to_string(frames - 1) + " frames");
    }
    // A forecast background starts from the frame before the window.
    const std::int64_t offset = forecaster ? 1 : 0;
    {
      double bytes = 8.0;
      for (auto n : shape) bytes *= static_cast<double>(n);
      // The states, their windows, the observations and the background.
      check_memory(config, "data", 4 * bytes, "observing " + shape_text(shape) + " float64 values");
    }
    at::Tensor states = read_tensor(data, variable);
    const std::int64_t per_sample = (frames - offset) / window;
    at::Tensor windows = states.slice(1, offset, offset + per_sample * window).reshape([&] {
      std::vector<std::int64_t> s = {shape[0] * per_sample, window};
      s.insert(s.end(), state_shape.begin(), state_shape.end());
      return s;
    }());
    std::vector<std::int64_t> full_view = {1, 1};
    full_view.insert(full_view.end(), scale_view.begin(), scale_view.end());
    windows = windows / scale.view(full_view);

    // Observed frames: 0, N, 2N, ... within each window.
    at::Tensor observed = (at::arange(window, at::kLong) % every) == 0;
    std::vector<std::int64_t> time_view(1 + grid.size(), 1);
    time_view[0] = window;
    at::Tensor time_mask = observed.view(time_view).logical_and(mask.unsqueeze(0));  // (time, grid...)

    auto law = design::noise_law(config.section("noise").get<std::string>("law"));
    const double sigma = config.section("noise").get<double>("sigma");
    at::Tensor y = op->apply(windows);
    std::vector<std::int64_t> expected = {windows.size(0), window};
    expected.insert(expected.end(), out_shape.begin(), out_shape.end());
    if (y.sizes().vec() != expected)
      config.fail("operator", "returned shape " + shape_text(y.sizes().vec()) + " instead of the " +
                                  shape_text(expected) + " its output_shape promised");
    // (time, 1..., grid...) broadcast over the leading observation dims (channels).
    std::vector<std::int64_t> obs_mask_view = {1, window};
    for (std::size_t d = 0; d + grid.size() < out_shape.size(); ++d) obs_mask_view.push_back(1);
    obs_mask_view.insert(obs_mask_view.end(), grid.begin(), grid.end());
    at::Tensor obs_mask = time_mask.reshape(obs_mask_view).to(at::kDouble);
    y = ((y + design::noise(law, sigma, y.sizes(), generator)) * obs_mask).contiguous();
    if (!at::isfinite(y).all().item<bool>())
      config.fail("noise", "the observations hold " + std::to_string((~at::isfinite(y)).sum().item<std::int64_t>()) +
                               " non-finite values (NaN or Inf): the noise (sigma " + number_text(sigma) +
                               ") or the operator overflows on these data");

    at::Tensor background;
    if (with_background) {
      const double sigma_b = background_config.get<double>("sigma");
      const auto options = at::TensorOptions().dtype(at::kDouble);
      if (forecaster) {
        std::vector<std::int64_t> starts;
        for (std::int64_t sample = 0; sample < shape[0]; ++sample)
          for (std::int64_t k = 0; k < per_sample; ++k) starts.push_back(sample * frames + k * window);
        at::Tensor previous = states.reshape([&] {
                                      std::vector<std::int64_t> s = {shape[0] * frames};
                                      s.insert(s.end(), state_shape.begin(), state_shape.end());
                                      return s;
                                    }())
                                  .index_select(0, at::tensor(starts, at::kLong)) /
                              scale.view(scale_view);
        at::Tensor perturbed = (previous + sigma_b * at::randn(previous.sizes(), generator, options)) * scale.view(scale_view);
        auto trajectory = forecaster->start(perturbed.contiguous());
        trajectory->advance(static_cast<std::int64_t>(data.number_attribute("", "sample_every_steps")[0]));
        background = (trajectory->state() / scale.view(scale_view)).contiguous();
      } else {
        at::Tensor x0 = windows.select(1, 0);
        background = (x0 + sigma_b * at::randn(x0.sizes(), generator, options)).contiguous();
      }
      if (!at::isfinite(background).all().item<bool>())
        background_config.fail("sigma", "the background holds non-finite values (NaN or Inf): sigma " +
                                            number_text(sigma_b) + " overflows, or the forecast diverged");
    }

    auto path = context.output() / config.get<std::string>("out");
    auto file = netcdf::File::create(path);
    const std::int64_t count = windows.size(0);
    file.dimension("window", count);
    file.dimension("time", window);
    std::vector<std::string> out_names;
    for (std::size_t d = 0; d < out_shape.size(); ++d) {
      bool grid_dim = d + spatial >= out_shape.size();
      std::string n = grid_dim ? state_names[state_names.size() - (out_shape.size() - d)] : "channel";
      if (!grid_dim && out_shape.size() - spatial > 1) n = "channel_" + std::to_string(d);
      out_names.push_back(n);
    }
    for (std::size_t d = 0; d < out_shape.size(); ++d) file.dimension(out_names[d], out_shape[d]);
    if (state_channel_dim) file.dimension("state_" + state_names[0], channels);
    std::vector<std::string> y_dims = {"window", "time"};
    y_dims.insert(y_dims.end(), out_names.begin(), out_names.end());
    std::vector<std::string> mask_dims = {"time"};
    mask_dims.insert(mask_dims.end(), out_names.end() - spatial, out_names.end());
    for (std::size_t d = out_names.size() - spatial; d < out_names.size(); ++d) {
      file.variable(out_names[d], "double", {out_names[d]});
      file.attribute(out_names[d], "units", data.text_attribute(out_names[d], "units"));
    }
    file.variable("observation", "double", y_dims);
    file.attribute("observation", "long_name", "observations H(x) + noise on the observed points, 0 elsewhere");
    file.variable("mask", "int", mask_dims);
    file.attribute("mask", "long_name", "1 where observed (every channel of H at that point and frame)");
    file.variable("window_sample", "int", {"window"});
    file.attribute("window_sample", "long_name", "sample of the data the window is cut from");
    file.variable("window_start", "int", {"window"});
    file.attribute("window_start", "long_name", "frame of the sample where the window starts");
    std::vector<std::string> channel_dims;
    if (state_channel_dim) channel_dims.push_back("state_" + state_names[0]);
    file.variable("scale", "double", channel_dims);
    file.attribute("scale", "long_name", "per-channel factor the states were divided by before H");
    std::vector<std::string> state_dims;
    if (state_channel_dim) state_dims.push_back("state_" + state_names[0]);
    state_dims.insert(state_dims.end(), state_names.end() - spatial, state_names.end());
    std::vector<std::string> truth_dims = {"window", "time"};
    truth_dims.insert(truth_dims.end(), state_dims.begin(), state_dims.end());
    file.variable("truth", "double", truth_dims);
    file.attribute("truth", "long_name", "the true states of the window (divided by scale), for scoring");
    if (with_background) {
      std::vector<std::string> b_dims = {"window"};
      if (state_channel_dim) b_dims.push_back("state_" + state_names[0]);
      b_dims.insert(b_dims.end(), state_names.end() - spatial, state_names.end());
      file.variable("background", "double", b_dims);
      file.attribute("background", "long_name",
                     forecaster ? "one-frame forecast of the perturbed previous state (divided by scale)"
                                : "true state at frame 0 plus noise (divided by scale)");
      file.attribute("", "background_sigma", background_config.get<double>("sigma"));
    }
    file.attribute("", "Conventions", "CF-1.8");
    file.attribute("", "source", "assim " ASSIM_SDK_VERSION " observe stage");
    file.attribute("", "state_variable", variable);
    file.attribute("", "frame_steps", data.number_attribute("", "sample_every_steps")[0]);
    file.attribute("", "time_step", data.number_attribute("", "time_step")[0]);
    file.attribute("", "observation_sigma", sigma);
    file.attribute("", "noise_law", config.section("noise").get<std::string>("law"));
    file.attribute("", "every", static_cast<double>(every));
    file.attribute("", "normalised", config.get<bool>("normalise") ? "true" : "false");
    file.attribute("", "mask_fraction", mask.to(at::kDouble).mean().item<double>());
    file.attribute("", "mask_design", mask_design);
    file.attribute("", "seed", static_cast<double>(context.seed()));
    for (const auto& [key, value] : context.settings_of("operator")) file.attribute("", "operator_" + key, value);
    file.end_definitions();

    std::vector<std::size_t> start(y_dims.size(), 0), extent;
    for (auto n : y.sizes()) extent.push_back(static_cast<std::size_t>(n));
    file.write("observation", start, extent, y.data_ptr<double>());
    for (std::size_t d = out_names.size() - spatial; d < out_names.size(); ++d)
      write_tensor(file, out_names[d], read_tensor(data, out_names[d]));
    at::Tensor mask_int = time_mask.to(at::kInt).contiguous();
    std::vector<std::size_t> mask_extent;
    for (auto n : mask_int.sizes()) mask_extent.push_back(static_cast<std::size_t>(n));
    file.write("mask", std::vector<std::size_t>(mask_extent.size(), 0), mask_extent, mask_int.data_ptr<int>());
    std::vector<int> sample_of(count), start_of(count);
    for (std::int64_t w = 0; w < count; ++w) {
      sample_of[w] = static_cast<int>(w / per_sample);
      start_of[w] = static_cast<int>(offset + (w % per_sample) * window);
    }
    file.write("window_sample", {0}, {static_cast<std::size_t>(count)}, sample_of.data());
    file.write("window_start", {0}, {static_cast<std::size_t>(count)}, start_of.data());
    at::Tensor scale_values = scale.contiguous();
    file.write("scale", std::vector<std::size_t>(channel_dims.size(), 0),
               std::vector<std::size_t>(channel_dims.size(), static_cast<std::size_t>(channels)),
               scale_values.data_ptr<double>());
    at::Tensor truth = windows.contiguous();
    std::vector<std::size_t> truth_extent;
    for (auto n : truth.sizes()) truth_extent.push_back(static_cast<std::size_t>(n));
    file.write("truth", std::vector<std::size_t>(truth_extent.size(), 0), truth_extent, truth.data_ptr<double>());
    if (with_background) {
      std::vector<std::size_t> b_extent;
      for (auto n : background.sizes()) b_extent.push_back(static_cast<std::size_t>(n));
      file.write("background", std::vector<std::size_t>(b_extent.size(), 0), b_extent, background.data_ptr<double>());
    }
    file.close();
    log::info("observed ", count, " windows of ", window, " frames (every ", every, ", ",
              mask.sum().item<std::int64_t>(), " of ", mask.numel(), " points) into ", path.filename().string());
  }
};

}  // namespace

std::unique_ptr<Stage> make_observe_stage() { return std::make_unique<Observe>(); }

}  // namespace assim
