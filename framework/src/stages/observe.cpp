// `run: observe`: draws observations of a generated dataset: y = mask * (H(x) + noise)
// on frames 0, N, 2N, ..., reproducibly from the stage's seed, and saves them so
// that every sampler sees the very same observations.
#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/observation_operator.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace assim {

namespace {

class Observe : public Stage {
 public:
  std::string name() const override { return "observe"; }
  std::string doc() const override { return "observe a generated dataset through an operator, a mask and noise"; }
  Parameters parameters() const override {
    Parameters mask;
    mask.real("random", 1.0, "", "fraction of grid points observed, drawn at random once").above(0).at_most(1);
    mask.integer("stride", 1, "grid points", "observe every stride-th point along each spatial dim").at_least(1);
    Parameters p;
    p.stage("data", "the generate stage whose states are observed");
    p.component("operator", Kind::ObservationOperator, "the observation operator H");
    p.integer("every", 1, "frames", "time interval N: frames 0, N, 2N, ... are observed").at_least(1);
    p.section("mask", "which grid points are observed (the same on every frame and channel)", mask);
    p.real("sigma", 0.1, "observation units", "standard deviation of the Gaussian observation noise").at_least(0);
    p.string("out", "observations.nc", "", "file name of the result");
    return p;
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto op = config.component<ObservationOperator>("operator");
    auto data_folder = context.input("data");
    netcdf::File data = netcdf::File::open(data_folder / "data.nc");
    std::string variable = data.text_attribute("", "state_variable");
    auto names = data.dimensions_of(variable);
    auto file_shape = data.shape(variable);
    std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
    std::vector<std::int64_t> state_shape(shape.begin() + 2, shape.end());
    std::vector<std::string> state_names(names.begin() + 2, names.end());
    std::size_t spatial = 0;
    for (const auto& n : state_names) spatial += data.has_variable(n) ? 1 : 0;

    std::vector<std::int64_t> out_shape;
    try {
      out_shape = op->output_shape(state_shape);
    } catch (const std::exception& e) {
      config.fail("operator", std::string("cannot observe the states of stage '") + config.reference("data") +
                                  "': " + e.what());
    }
    if (out_shape.size() < spatial) config.fail("operator", "its output has fewer dims than the state's grid");
    Config mask_config = config.section("mask");
    const auto stride = mask_config.get<std::int64_t>("stride");
    std::vector<std::int64_t> grid(out_shape.end() - spatial, out_shape.end());
    for (auto n : grid)
      if (stride > n) mask_config.fail("stride", "stride " + std::to_string(stride) + " is larger than the grid (" +
                                                     std::to_string(n) + " points)");

    auto generator = at::make_generator<at::CPUGeneratorImpl>(context.seed());
    auto options = at::TensorOptions().dtype(at::kDouble);
    at::Tensor mask = at::rand(grid, generator, options) < mask_config.get<double>("random");
    for (std::size_t d = 0; d < grid.size(); ++d) {
      at::Tensor on_stride = (at::arange(grid[d], at::kLong) % stride) == 0;
      std::vector<std::int64_t> view(grid.size(), 1);
      view[d] = grid[d];
      mask = mask.logical_and(on_stride.view(view));
    }

    const auto every = config.get<std::int64_t>("every");
    const double sigma = config.get<double>("sigma");
    auto values = data.read(variable);
    at::Tensor states = at::from_blob(values.data(), shape, at::kDouble);
    at::Tensor frames = at::arange(0, shape[1], every, at::kLong);
    at::Tensor x = states.index_select(1, frames);
    at::Tensor y = op->apply(x);
    std::vector<std::int64_t> expected = {shape[0], frames.size(0)};
    expected.insert(expected.end(), out_shape.begin(), out_shape.end());
    if (y.sizes().vec() != expected)
      config.fail("operator", "returned a tensor of another shape than its output_shape promised");
    y = (y + sigma * at::randn(y.sizes(), generator, options)) * mask.to(at::kDouble);
    y = y.contiguous();

    auto path = context.output() / config.get<std::string>("out");
    auto file = netcdf::File::create(path);
    file.dimension("trajectory", shape[0]);
    file.dimension("time", frames.size(0));
    std::vector<std::string> out_names;
    for (std::size_t d = 0; d < out_shape.size(); ++d) {
      std::size_t from_end = out_shape.size() - d;
      std::string n = from_end <= state_names.size() && state_shape[state_names.size() - from_end] == out_shape[d]
                          ? state_names[state_names.size() - from_end]
                          : "channel";
      if (n == "channel" || std::find(out_names.begin(), out_names.end(), n) != out_names.end())
        n = "observed_" + std::to_string(d);
      file.dimension(n, out_shape[d]);
      out_names.push_back(n);
    }
    std::vector<std::string> y_dims = {"trajectory", "time"};
    y_dims.insert(y_dims.end(), out_names.begin(), out_names.end());
    std::vector<std::string> mask_dims(out_names.end() - spatial, out_names.end());
    file.variable("y", "double", y_dims);
    file.attribute("y", "long_name", "observations H(x) + noise on the observed points, 0 elsewhere");
    file.variable("mask", "int", mask_dims);
    file.attribute("mask", "long_name", "1 where observed");
    file.variable("frame", "int", {"time"});
    file.attribute("frame", "long_name", "index of the observed frame in the data's time axis");
    file.attribute("", "Conventions", "CF-1.8");
    file.attribute("", "source", "assim " ASSIM_SDK_VERSION " observe stage");
    file.attribute("", "observation_sigma", sigma);
    file.attribute("", "every", static_cast<double>(every));
    file.attribute("", "mask_random", mask_config.get<double>("random"));
    file.attribute("", "mask_stride", static_cast<double>(stride));
    file.attribute("", "seed", static_cast<double>(context.seed()));
    for (const auto& [key, value] : context.settings_of("operator")) file.attribute("", "operator_" + key, value);
    file.end_definitions();
    std::vector<std::size_t> start(y_dims.size(), 0), count;
    for (auto n : y.sizes()) count.push_back(static_cast<std::size_t>(n));
    file.write("y", start, count, y.data_ptr<double>());
    at::Tensor mask_int = mask.to(at::kInt).contiguous();
    std::vector<std::size_t> mask_count(grid.begin(), grid.end());
    file.write("mask", std::vector<std::size_t>(grid.size(), 0), mask_count, mask_int.data_ptr<int>());
    at::Tensor frame_int = frames.to(at::kInt).contiguous();
    file.write("frame", {0}, {static_cast<std::size_t>(frames.size(0))}, frame_int.data_ptr<int>());
    file.close();
    log::info("observed ", frames.size(0), " frames of ", shape[0], " trajectories (", mask.sum().item<std::int64_t>(),
              " of ", mask.numel(), " points) into ", path.filename().string());
  }
};

}  // namespace

std::unique_ptr<Stage> make_observe_stage() { return std::make_unique<Observe>(); }

}  // namespace assim
