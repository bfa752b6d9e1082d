#include "restart.hpp"

#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

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

}  // namespace

std::map<std::string, fs::path> restart_files(const fs::path& file, const std::string& array) {
  if (!is_meta_json(file)) return {};
  try {
    return {{"initial_array", meta_array(file, array).file}};
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
    if (!nc.has_variable(spec.variable)) fail("has no variable '" + spec.variable + "'");
    auto file_shape = nc.shape(spec.variable);
    std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
    auto values = nc.read(spec.variable);
    at::Tensor all = at::from_blob(values.data(), shape, at::kDouble).clone();
    std::vector<std::int64_t> tail(shape.begin() + std::min<std::size_t>(2, shape.size()), shape.end());
    if (shape == state_shape) {
      // One state, the start of every trajectory.
      states = all.reshape(state_with_one);
    } else if (shape.size() == state_shape.size() + 2 && tail == state_shape) {
      at::Tensor last = all.select(1, shape[1] - 1);
      // Samples are piece-major: the last `trajectories` samples are the last
      // piece of each trajectory, where a continuation starts.
      if (shape[0] % trajectories == 0)
        states = last.slice(0, shape[0] - trajectories);
      else if (shape[0] == 1)
        states = last;
      else
        fail("holds " + std::to_string(shape[0]) + " samples, not a multiple of the " + std::to_string(trajectories) +
             " trajectories asked for");
    } else {
      fail("variable '" + spec.variable + "' has shape " + shape_text(shape) + "; expected " +
           shape_text(state_shape) + " or (sample, time, " + shape_text(state_shape).substr(1));
    }
  }
  std::vector<std::int64_t> sizes = {trajectories};
  sizes.insert(sizes.end(), state_shape.begin(), state_shape.end());
  states = states.expand(sizes).contiguous();
  const auto bad = (~at::isfinite(states)).sum().item<std::int64_t>();
  if (bad > 0)
    fail("holds " + std::to_string(bad) + " non-finite values (NaN or Inf) among " + std::to_string(states.numel()) +
         "; a restart must be a finite state");
  return states;
}

}  // namespace assim
