#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/observation_design.hpp>

#include <numeric>

namespace assim::products {

using namespace schema;

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

}  // namespace assim::products
