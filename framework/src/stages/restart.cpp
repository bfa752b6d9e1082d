#include "restart.hpp"

#include "tensor_io.hpp"

#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>

#include <ATen/ATen.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

namespace assim {


at::Tensor read_restart(const std::filesystem::path& file, const std::string& array, const StateSpec& spec,
                        std::int64_t trajectories, const std::string& where) {
  const auto state_shape = spec.shape();
  auto fail = [&](const std::string& why) -> at::Tensor {
    throw Error(where + ": restart file " + file.string() + ": " + why);
  };
  if (!std::filesystem::exists(file)) fail("does not exist");
  at::Tensor states;
  if (file.filename() == "meta.json" || file.extension() == ".json") {
    YAML::Node meta;
    try {
      meta = YAML::LoadFile(file.string());
    } catch (const YAML::Exception& e) {
      fail(std::string("cannot be parsed: ") + e.what());
    }
    YAML::Node entry = meta["arrays"][array];
    if (!entry.IsDefined()) fail("has no array '" + array + "'");
    if (entry["dtype"].as<std::string>("") != "float64-le") fail("array '" + array + "' is not float64-le");
    std::vector<std::int64_t> shape = entry["shape"].as<std::vector<std::int64_t>>();
    if (shape != state_shape)
      fail("array '" + array + "' has shape " + shape_text(shape) + ", the model's state is " + shape_text(state_shape));
    auto raw = file.parent_path() / entry["file"].as<std::string>();
    std::ifstream in(raw, std::ios::binary);
    states = at::empty(shape, at::kDouble);
    in.read(reinterpret_cast<char*>(states.data_ptr<double>()), states.numel() * sizeof(double));
    if (!in) fail("cannot read " + std::to_string(states.numel()) + " float64 values from " + raw.string());
    return states.unsqueeze(0).expand({trajectories}).contiguous();
  }

  auto nc = netcdf::File::open(file);
  if (!nc.has_variable(spec.variable)) fail("has no variable '" + spec.variable + "'");
  auto file_shape = nc.shape(spec.variable);
  std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
  auto values = nc.read(spec.variable);
  at::Tensor all = at::from_blob(values.data(), shape, at::kDouble).clone();
  if (shape == state_shape) return all.unsqueeze(0).expand({trajectories}).contiguous();
  std::vector<std::int64_t> tail(shape.begin() + std::min<std::size_t>(2, shape.size()), shape.end());
  if (shape.size() == state_shape.size() + 2 && tail == state_shape) {
    at::Tensor last = all.select(1, shape[1] - 1);
    // Samples are piece-major: the last `trajectories` samples are the last
    // piece of each trajectory, where a continuation starts.
    if (shape[0] % trajectories == 0) return last.slice(0, shape[0] - trajectories).contiguous();
    if (shape[0] == 1) return last.expand({trajectories}).contiguous();
    fail("holds " + std::to_string(shape[0]) + " samples, not a multiple of the " + std::to_string(trajectories) +
         " trajectories asked for");
  }
  return fail("variable '" + spec.variable + "' has shape " + shape_text(shape) + "; expected " +
              shape_text(state_shape) + " or (sample, time, " + shape_text(state_shape).substr(1));
}

}  // namespace assim
