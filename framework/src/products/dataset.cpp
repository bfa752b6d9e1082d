#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/table.hpp"
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

namespace {

// What a dataset's file holds besides its spec; the table binds these fields.
struct DatasetFields {
  std::vector<int> trajectory, piece;
  std::vector<double> piece_start;
  at::Tensor states, mean, std;
  std::int64_t frame_steps = 0;
};

Table dataset_table(DatasetFields& d, const StateSpec& spec, const Attributes* settings = nullptr) {
  Table t;
  t.stage = "generate";
  t.title = "trajectories of " + spec.long_name;
  t.state = spec;
  t.frame_steps = d.frame_steps;
  const std::string normalisation = " over trajectories, time and space, for normalisation";
  t.entries = {
      Dim{"sample", Dim::Coordinate::index, "piece of a trajectory: sample = piece * trajectories + trajectory"},
      Dim{"time", Dim::Coordinate::time, "time since the start of the piece"},
      StateDims{},
      Variable{"trajectory", {"sample"}, "", "trajectory (independent initial state) the sample comes from",
               &d.trajectory, Stored::integer},
      Variable{"piece", {"sample"}, "", "index of the piece within its trajectory", &d.piece, Stored::integer},
      Variable{"piece_start", {"sample"}, spec.time_units, "start of the piece, counted from the end of the spin-up",
               &d.piece_start},
      Variable{spec.variable, with({"sample", "time"}, state_dim_names(spec)), spec.units, spec.long_name, &d.states},
      Variable{spec.variable + "_mean", channel_dims(spec), spec.units, "mean" + normalisation, &d.mean},
      Variable{spec.variable + "_std", channel_dims(spec), spec.units, "standard deviation" + normalisation, &d.std},
  };
  t.attributes = {{"sample_every_steps", &d.frame_steps}};
  t.settings = settings;
  return t;
}

}  // namespace

Dataset read_dataset(const StageInput& input) {
  Dataset d;
  d.path = product_of(input);
  auto file = netcdf::File::open(d.path);
  DatasetFields fields;
  StateSpec named;  // the state variable's name is all the table needs to find the spec
  named.variable = file.text_attribute("", "state_variable");
  d.spec = state_of(file, dataset_table(fields, named), &fields.states);
  const Table table = dataset_table(fields, d.spec);
  read(file, table, {&fields.std});
  const auto shape = file.shape(d.spec.variable);
  d.samples = static_cast<std::int64_t>(shape[0]);
  d.frames = static_cast<std::int64_t>(shape[1]);
  d.frame_steps = fields.frame_steps;
  d.std = fields.std.reshape({-1});
  return d;
}

// The fields the writer's table binds, and the table.
struct DatasetWriter::Parts {
  DatasetFields fields;
  Table table;
};

DatasetWriter::DatasetWriter(const std::filesystem::path& path, const StateSpec& spec, std::int64_t samples,
                             std::int64_t frames, std::int64_t frame_steps, const Attributes& attributes)
    : parts_(std::make_unique<Parts>()), spec_(spec) {
  parts_->fields.frame_steps = frame_steps;
  parts_->table = dataset_table(parts_->fields, spec, &attributes);
  file_.emplace(create(path, parts_->table, {{"sample", samples}, {"time", frames}}));
}

DatasetWriter::~DatasetWriter() = default;

void DatasetWriter::write_samples(std::int64_t first, const std::vector<int>& trajectory, const std::vector<int>& piece,
                                  const std::vector<double>& piece_start) {
  const std::vector<std::size_t> start = {static_cast<std::size_t>(first)};
  auto& f = parts_->fields;
  write_part(*file_, parts_->table, &f.trajectory, start, at::tensor(at::ArrayRef<int>(trajectory), at::kInt));
  write_part(*file_, parts_->table, &f.piece, start, at::tensor(at::ArrayRef<int>(piece), at::kInt));
  write_part(*file_, parts_->table, &f.piece_start, start, at::tensor(at::ArrayRef<double>(piece_start), at::kDouble));
}

void DatasetWriter::write_frame(std::int64_t first, std::int64_t frame, const at::Tensor& states) {
  std::vector<std::size_t> start(2 + spec_.dims.size(), 0);
  start[0] = static_cast<std::size_t>(first);
  start[1] = static_cast<std::size_t>(frame);
  // (n, state dims...) as (n, 1 frame, state dims...)
  write_part(*file_, parts_->table, &parts_->fields.states, start, states.unsqueeze(1));
}

void DatasetWriter::finish(const std::vector<double>& mean, const std::vector<double>& std) {
  const std::vector<std::size_t> start(has_channel_dim(spec_) ? 1 : 0, 0);
  auto values = [&](const std::vector<double>& v) {
    const at::Tensor t = at::tensor(at::ArrayRef<double>(v), at::kDouble);
    return start.empty() ? t.reshape({}) : t;
  };
  write_part(*file_, parts_->table, &parts_->fields.mean, start, values(mean));
  write_part(*file_, parts_->table, &parts_->fields.std, start, values(std));
  file_->close();
}

}  // namespace assim::products
