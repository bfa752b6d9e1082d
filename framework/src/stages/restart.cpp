#include "restart.hpp"

#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/memory.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <limits>

namespace assim {

namespace fs = std::filesystem;

namespace {

bool is_meta_json(const fs::path& file) { return file.extension() == ".json"; }

// The array entry `array` of a meta.json, checked key by key so that a bad
// file is named with the key at fault rather than with yaml-cpp's words.
struct MetaArray {
  fs::path file;
  std::vector<std::int64_t> shape;
};

MetaArray meta_array(const fs::path& meta_file, const std::string& array) {
  auto fail = [&](const std::string& key, const std::string& why) -> MetaArray {
    throw Error(meta_file.string() + ": " + key + ": " + why);
  };
  YAML::Node meta;
  try {
    meta = YAML::LoadFile(meta_file.string());
  } catch (const YAML::ParserException& e) {
    fail("line " + std::to_string(e.mark.line + 1), "not valid JSON: " + e.msg);
  } catch (const YAML::Exception& e) {
    fail("(file)", std::string("cannot be read: ") + e.what());
  }
  if (!meta.IsMap()) fail("(top level)", "expected an object with an 'arrays' member");
  YAML::Node arrays = meta["arrays"];
  if (!arrays.IsDefined() || !arrays.IsMap()) fail("arrays", "missing, or not an object of named arrays");
  YAML::Node entry = arrays[array];
  if (!entry.IsDefined()) {
    std::string names;
    for (const auto& a : arrays) names += (names.empty() ? "" : ", ") + a.first.as<std::string>("?");
    fail("arrays." + array, "no such array (arrays: " + (names.empty() ? "none" : names) + ")");
  }
  if (!entry.IsMap()) fail("arrays." + array, "expected an object with file, shape and dtype");
  std::string key = "arrays." + array;
  YAML::Node dtype = entry["dtype"];
  if (!dtype.IsScalar() || dtype.Scalar() != "float64-le")
    fail(key + ".dtype", "must be \"float64-le\" (raw little-endian doubles)");
  YAML::Node order = entry["order"];
  if (order.IsDefined() && (!order.IsScalar() || order.Scalar() != "C"))
    fail(key + ".order", "must be \"C\" (row-major) when given");
  MetaArray out;
  YAML::Node shape = entry["shape"];
  if (!shape.IsSequence()) fail(key + ".shape", "expected a list of sizes");
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::int64_t n = 0;
    try {
      n = shape[i].as<std::int64_t>();
    } catch (const YAML::Exception&) {
      fail(key + ".shape[" + std::to_string(i) + "]", "not an integer");
    }
    if (n < 1) fail(key + ".shape[" + std::to_string(i) + "]", "must be at least 1");
    out.shape.push_back(n);
  }
  YAML::Node file = entry["file"];
  if (!file.IsScalar() || file.Scalar().empty()) fail(key + ".file", "expected the name of the raw file");
  // The raw file sits beside the meta.json: no absolute path, no '..', so that
  // a meta.json cannot make the host read anything else on the machine.
  fs::path name = file.Scalar();
  if (name.is_absolute()) fail(key + ".file", "'" + name.string() + "' must be relative to the meta.json's folder");
  for (const auto& part : name)
    if (part == "..") fail(key + ".file", "'" + name.string() + "' leaves the meta.json's folder");
  out.file = meta_file.parent_path() / name;
  std::error_code ec;
  if (!fs::is_regular_file(out.file, ec)) fail(key + ".file", out.file.string() + " is not a regular file");
  return out;
}

// The states a NetCDF restart starts `trajectories` trajectories from: its
// one state (for every trajectory), or, from (sample, time, state dims...),
// the last frame of the last piece of each of the file's trajectories (its
// `trajectory` and `piece` variables, as a generate stage writes them; each
// sample its own trajectory without them). A single sample is one state too.
// Reads only those frames (and the index), so that a huge `sample` or `time`
// dim is not read whole.
template <class Fail>
at::Tensor netcdf_states(const netcdf::File& nc, const StateSpec& spec, std::int64_t trajectories, Fail fail) {
  const auto state_shape = spec.shape();
  const std::string& variable = spec.variable;
  if (!nc.has_variable(variable)) fail("has no variable '" + variable + "'");
  const std::vector<std::size_t> file_shape = nc.shape(variable);
  const std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
  const std::vector<std::int64_t> tail(shape.begin() + std::min<std::size_t>(2, shape.size()), shape.end());
  auto read = [&](const std::string& name, std::vector<std::size_t> start, std::vector<std::size_t> count) {
    try {
      return nc.read(name, start, count);
    } catch (const std::exception& e) {
      fail("variable '" + name + "' cannot be read: " + without_backtrace(e.what()));
    }
    throw Error("unreachable");
  };
  std::vector<std::int64_t> state_with_one = {1};
  state_with_one.insert(state_with_one.end(), state_shape.begin(), state_shape.end());
  if (shape == state_shape) {
    auto values = read(variable, {}, {});
    return at::tensor(values, at::kDouble).reshape(state_with_one);
  }
  if (shape.size() != state_shape.size() + 2 || tail != state_shape)
    fail("variable '" + variable + "' has shape " + shape_text(shape) + "; expected " + shape_text(state_shape) +
         " or (sample, time, " + shape_text(state_shape).substr(1));
  const auto dims = nc.dimensions_of(variable);
  for (std::size_t d = 0; d < 2; ++d)
    if (shape[d] == 0) fail("dim '" + dims[d] + "' of variable '" + variable + "' is empty: no state to start from");
  const std::int64_t samples = shape[0];

  // The sample holding each trajectory's last piece.
  const bool layout = nc.has_variable("trajectory") && nc.has_variable("piece");
  std::vector<std::int64_t> last_sample;
  if (layout) {
    for (const char* name : {"trajectory", "piece"})
      if (nc.shape(name) != std::vector<std::size_t>{file_shape[0]})
        fail("variable '" + std::string(name) + "' is not one value per sample (" + std::to_string(samples) + ")");
    const double index_bytes = 2 * 8.0 * static_cast<double>(samples);
    if (index_bytes > available_memory_bytes())
      fail("dim '" + dims[0] + "' holds " + std::to_string(samples) + " samples, whose trajectory and piece need " +
           number_text(index_bytes) + " bytes, more than this machine's " + number_text(available_memory_bytes()));
    const auto trajectory = read("trajectory", {}, {}), piece = read("piece", {}, {});
    std::vector<double> last_piece;
    for (std::int64_t s = 0; s < samples; ++s) {
      const double t = trajectory[static_cast<std::size_t>(s)], p = piece[static_cast<std::size_t>(s)];
      if (!(t >= 0 && t < static_cast<double>(samples) && t == std::floor(t)))
        fail("variable 'trajectory' of sample " + std::to_string(s) + " is " + number_text(t) +
             ", not a trajectory index below the " + std::to_string(samples) + " samples");
      const auto k = static_cast<std::size_t>(t);
      if (k >= last_sample.size()) {
        last_sample.resize(k + 1, -1);
        last_piece.resize(k + 1, -INFINITY);
      }
      if (p >= last_piece[k]) {
        last_piece[k] = p;
        last_sample[k] = s;
      }
    }
    for (std::size_t k = 0; k < last_sample.size(); ++k)
      if (last_sample[k] < 0)
        fail("variable 'trajectory' skips trajectory " + std::to_string(k) + " of " +
             std::to_string(last_sample.size()));
  }
  const std::int64_t held = layout ? static_cast<std::int64_t>(last_sample.size()) : samples;
  if (samples > 1 && held != trajectories)
    fail("holds " + std::to_string(held) + (held == 1 ? " trajectory" : " trajectories") +
         (layout ? " (variable 'trajectory', in " + std::to_string(samples) + " samples)" : " (one per sample)") +
         "; trajectories is " + std::to_string(trajectories) +
         ": a continuation starts each trajectory from the end of one of the file's");
  if (!layout)
    for (std::int64_t s = 0; s < samples; ++s) last_sample.push_back(s);
  std::vector<at::Tensor> states;
  std::vector<std::size_t> count(file_shape.begin(), file_shape.end());
  count[0] = count[1] = 1;
  for (const auto s : last_sample) {
    std::vector<std::size_t> start(file_shape.size(), 0);
    start[0] = static_cast<std::size_t>(s);
    start[1] = file_shape[1] - 1;
    states.push_back(at::tensor(read(variable, start, count), at::kDouble).reshape(state_with_one));
  }
  return at::cat(states, 0);
}

}  // namespace

std::map<std::string, fs::path> restart_files(const fs::path& file, const std::string& array) {
  if (!is_meta_json(file)) return {};
  try {
    return {{"restart_array", meta_array(file, array).file}};
  } catch (const Error&) {
    return {};  // read_restart names what is wrong when the stage runs
  }
}

at::Tensor read_restart(const fs::path& file, const std::string& array, const StateSpec& spec,
                        std::int64_t trajectories, const std::string& where) {
  const auto state_shape = spec.shape();
  auto fail = [&](const std::string& why) -> at::Tensor {
    throw Error(where + ": restart file " + file.string() + ": " + why);
  };
  if (!fs::exists(file)) fail("does not exist");
  std::vector<std::int64_t> state_with_one = {1};
  state_with_one.insert(state_with_one.end(), state_shape.begin(), state_shape.end());
  at::Tensor states;
  if (is_meta_json(file)) {
    MetaArray meta;
    try {
      meta = meta_array(file, array);
    } catch (const Error& e) {
      fail(e.what());
    }
    if (meta.shape != state_shape)
      fail("array '" + array + "' has shape " + shape_text(meta.shape) + ", the model's state is " +
           shape_text(state_shape));
    const auto numel = at::empty(meta.shape, at::kDouble).numel();
    const auto bytes = static_cast<std::uintmax_t>(numel) * sizeof(double);
    if (fs::file_size(meta.file) != bytes)
      fail(meta.file.string() + " holds " + std::to_string(fs::file_size(meta.file)) + " bytes, but shape " +
           shape_text(meta.shape) + " of float64 needs " + std::to_string(bytes));
    at::Tensor one = at::empty(state_with_one, at::kDouble);
    std::ifstream in(meta.file, std::ios::binary);
    in.read(reinterpret_cast<char*>(one.data_ptr<double>()), static_cast<std::streamsize>(bytes));
    if (!in) fail("cannot read " + std::to_string(numel) + " float64 values from " + meta.file.string());
    states = one;
  } else {
    netcdf::File nc = [&] {
      try {
        return netcdf::File::open(file);
      } catch (const std::exception& e) {
        fail(std::string("is not a NetCDF file this host can read: ") + e.what());
      }
      throw Error("unreachable");
    }();
    states = netcdf_states(nc, spec, trajectories, fail);
  }
  std::vector<std::int64_t> sizes = {trajectories};
  sizes.insert(sizes.end(), state_shape.begin(), state_shape.end());
  states = states.expand(sizes).contiguous();
  const auto bad = (~at::isfinite(states)).sum().item<std::int64_t>();
  if (bad > 0)
    fail("holds " + std::to_string(bad) + " non-finite values (NaN or Inf) among " + std::to_string(states.numel()) +
         "; a restart must be a finite state");
  // Beyond sqrt(DBL_MAX) a value's square overflows, so the first step of
  // any model with a product of states would diverge and blame its time step.
  const double largest = states.abs().max().item<double>(), limit = std::sqrt(std::numeric_limits<double>::max());
  if (largest > limit)
    fail("holds values up to " + number_text(largest) + ", out of range for a state: beyond " + number_text(limit) +
         " their squares overflow");
  return states;
}

}  // namespace assim
