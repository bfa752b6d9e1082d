// Restart files: pyqg's own arrays through their meta.json, NetCDF states of
// every documented shape, and the refusals that keep a restart from reading
// outside its folder or starting from garbage.
#include <ATen/ATen.h>

#include "../../framework/src/stages/restart.hpp"

#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const fs::path pyqg = fs::path(ASSIM_PYQG_DIR) / "qg_default_nx64";

assim::StateSpec qg_spec(std::int64_t nx) {
  assim::StateSpec spec;
  spec.variable = "q";
  spec.units = "s-1";
  spec.dims = {{"layer", 2, "", 0}, {"y", nx, "m", 1e6 / nx}, {"x", nx, "m", 1e6 / nx}};
  spec.time_step = 7200;
  spec.time_units = "s";
  return spec;
}

std::vector<double> raw(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<double> v(fs::file_size(file) / 8);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 8));
  return v;
}

struct Folder {
  fs::path path = fs::temp_directory_path() / ("assim_restart_" + std::to_string(::getpid()));
  Folder() { fs::create_directories(path); }
  ~Folder() { fs::remove_all(path); }
};

void write_meta(const fs::path& folder, const std::string& entry) {
  std::ofstream(folder / "meta.json") << "{\"arrays\": {\"q_step0\": " << entry << "}}";
}

// A (sample, time, layer, y, x) or (layer, y, x) variable q; `unlimited`
// makes that dim unlimited, so that `shape` may hold 0 there; `trajectory`
// and `piece` (one per sample) as a generate stage writes them, when given.
void write_state_nc(const fs::path& file, const std::vector<std::size_t>& shape, const std::vector<double>& values,
                    const std::vector<int>& trajectory = {}, const std::vector<int>& piece = {},
                    int unlimited = -1) {
  auto f = assim::netcdf::File::create(file);
  std::vector<std::string> dims;
  const char* names[] = {"sample", "time", "layer", "y", "x"};
  for (std::size_t d = 0; d < shape.size(); ++d) {
    std::string n = names[5 - shape.size() + d];
    f.dimension(n, static_cast<int>(d) == unlimited ? 0 : shape[d]);
    dims.push_back(n);
  }
  f.variable("q", "double", dims);
  if (!trajectory.empty()) {
    f.variable("trajectory", "int", {"sample"});
    f.variable("piece", "int", {"sample"});
  }
  f.end_definitions();
  if (!values.empty()) f.write("q", std::vector<std::size_t>(shape.size(), 0), shape, values.data());
  if (!trajectory.empty()) {
    f.write("trajectory", {0}, {trajectory.size()}, trajectory.data());
    f.write("piece", {0}, {piece.size()}, piece.data());
  }
  f.close();
}

}  // namespace

TEST_CASE("a pyqg meta.json restart gives its array to every trajectory") {
  at::Tensor q = assim::read_restart(pyqg / "meta.json", "q_step0", qg_spec(64), 3, "test");
  CHECK(q.sizes().vec() == std::vector<std::int64_t>{3, 2, 64, 64});
  auto expected = raw(pyqg / "q_step0.f64");
  REQUIRE(expected.size() == 2 * 64 * 64);
  for (std::int64_t t = 0; t < 3; ++t) {
    CHECK(q[t][0][0][0].item<double>() == expected[0]);
    CHECK(q[t][1][63][63].item<double>() == expected.back());
  }
  CHECK(assim::restart_files(pyqg / "meta.json", "q_step0").at("restart_array") == pyqg / "q_step0.f64");
}

TEST_CASE("a meta.json is refused with the key at fault") {
  Folder dir;
  fs::copy_file(pyqg / "q_step0.f64", dir.path / "q.f64");
  auto fails_with = [&](const std::string& entry, const std::string& text) {
    write_meta(dir.path, entry);
    CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "meta.json", "q_step0", qg_spec(64), 1, "stages.x.restart"),
                         doctest::Contains(text.c_str()), assim::Error);
  };
  SUBCASE("paths outside the folder") {
    fails_with(R"({"file": "../../etc/passwd", "shape": [2, 64, 64], "dtype": "float64-le"})", "leaves the meta.json's folder");
    fails_with(R"({"file": "/dev/urandom", "shape": [2, 64, 64], "dtype": "float64-le"})", "must be relative");
  }
  SUBCASE("content") {
    fails_with(R"({"file": "q.f64", "shape": "big", "dtype": "float64-le"})", "arrays.q_step0.shape: expected a list");
    fails_with(R"({"file": "q.f64", "shape": [2, "x", 64], "dtype": "float64-le"})", "arrays.q_step0.shape[1]: not an integer");
    fails_with(R"({"file": "q.f64", "shape": [2, 64, 64], "dtype": "float32"})", "arrays.q_step0.dtype: must be");
    fails_with(R"({"shape": [2, 64, 64], "dtype": "float64-le"})", "arrays.q_step0.file: expected the name");
    fails_with(R"({"file": "q.f64", "shape": [2, 32, 32], "dtype": "float64-le"})", "has shape (2, 32, 32)");
    fails_with(R"("q.f64")", "expected an object with file, shape and dtype");
  }
  SUBCASE("a raw file of the wrong size") {
    std::ofstream(dir.path / "short.f64") << "12345678";
    fails_with(R"({"file": "short.f64", "shape": [2, 64, 64], "dtype": "float64-le"})", "holds 8 bytes");
  }
}

TEST_CASE("the documented reference case reads without error") {
  Folder dir;
  fs::copy_file(pyqg / "q_step0.f64", dir.path / "q.f64");
  write_meta(dir.path, R"({"file": "q.f64", "shape": [2, 64, 64], "dtype": "float64-le"})");
  CHECK_NOTHROW(assim::read_restart(dir.path / "meta.json", "q_step0", qg_spec(64), 2, "x"));
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "meta.json", "q_final", qg_spec(64), 2, "x"),
                       doctest::Contains("arrays.q_final: no such array (arrays: q_step0)"), assim::Error);
}

TEST_CASE("NetCDF restarts: one state, one sample for many trajectories, the last frame of each trajectory") {
  Folder dir;
  const std::int64_t nx = 4, n = 2 * nx * nx;
  std::vector<double> one(n);
  for (std::int64_t i = 0; i < n; ++i) one[i] = 0.5 * static_cast<double>(i);
  write_state_nc(dir.path / "state.nc", {2, 4, 4}, one);
  at::Tensor a = assim::read_restart(dir.path / "state.nc", "", qg_spec(nx), 3, "x");
  CHECK(a.sizes().vec() == std::vector<std::int64_t>{3, 2, 4, 4});
  CHECK(a[2][1][3][3].item<double>() == one.back());

  // (sample 1, time 2): the last frame, for every trajectory.
  std::vector<double> frames(2 * n);
  for (std::int64_t i = 0; i < 2 * n; ++i) frames[i] = static_cast<double>(i);
  write_state_nc(dir.path / "one_sample.nc", {1, 2, 2, 4, 4}, frames);
  at::Tensor b = assim::read_restart(dir.path / "one_sample.nc", "", qg_spec(nx), 4, "x");
  CHECK(b.sizes().vec() == std::vector<std::int64_t>{4, 2, 4, 4});
  CHECK(b[3][0][0][0].item<double>() == static_cast<double>(n));

  // (sample 4, time 1), 2 trajectories of 2 pieces as generate writes them
  // (piece-major): the last piece of each, samples 2 and 3.
  std::vector<double> pieces(4 * n);
  for (std::int64_t i = 0; i < 4 * n; ++i) pieces[i] = static_cast<double>(i);
  write_state_nc(dir.path / "pieces.nc", {4, 1, 2, 4, 4}, pieces, {0, 1, 0, 1}, {0, 0, 1, 1});
  at::Tensor c = assim::read_restart(dir.path / "pieces.nc", "", qg_spec(nx), 2, "x");
  CHECK(c[0][0][0][0].item<double>() == static_cast<double>(2 * n));
  CHECK(c[1][0][0][0].item<double>() == static_cast<double>(3 * n));
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "pieces.nc", "", qg_spec(nx), 4, "stages.t.restart"),
                       doctest::Contains("holds 2 trajectories (variable 'trajectory', in 4 samples); "
                                         "trajectories is 4"),
                       assim::Error);

  one[5] = std::nan("");
  write_state_nc(dir.path / "nan.nc", {2, 4, 4}, one);
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "nan.nc", "", qg_spec(nx), 2, "stages.t.restart"),
                       doctest::Contains("holds 2 non-finite values (NaN or Inf) among 64"), assim::Error);
  std::ofstream(dir.path / "junk.nc") << "not netcdf";
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "junk.nc", "", qg_spec(nx), 1, "x"),
                       doctest::Contains("is not a NetCDF file this host can read"), assim::Error);
}

TEST_CASE("a NetCDF restart follows the file's trajectories and pieces, not the order of its samples") {
  Folder dir;
  const std::int64_t nx = 4, n = 2 * nx * nx;
  std::vector<double> values(3 * n);
  for (std::int64_t i = 0; i < 3 * n; ++i) values[i] = static_cast<double>(i);
  // One trajectory in 3 pieces: it cannot start 3 independent trajectories
  // (its pieces are one trajectory a piece apart), but continues 1.
  write_state_nc(dir.path / "one.nc", {3, 1, 2, 4, 4}, values, {0, 0, 0}, {0, 1, 2});
  const std::string refusal = "stages.t.restart: restart file " + (dir.path / "one.nc").string() +
                              ": holds 1 trajectory (variable 'trajectory', in 3 samples); trajectories is 3";
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "one.nc", "", qg_spec(nx), 3, "stages.t.restart"),
                       doctest::Contains(refusal.c_str()), assim::Error);
  CHECK(assim::read_restart(dir.path / "one.nc", "", qg_spec(nx), 1, "x")[0][0][0][0].item<double>() == 2 * n);
  // Samples in any order: trajectory 0's last piece is sample 1, trajectory 1's sample 0.
  write_state_nc(dir.path / "shuffled.nc", {3, 1, 2, 4, 4}, values, {1, 0, 0}, {1, 1, 0});
  at::Tensor s = assim::read_restart(dir.path / "shuffled.nc", "", qg_spec(nx), 2, "x");
  CHECK(s[0][0][0][0].item<double>() == static_cast<double>(n));
  CHECK(s[1][0][0][0].item<double>() == 0.0);
  // Without the variables each sample is a trajectory.
  write_state_nc(dir.path / "bare.nc", {3, 1, 2, 4, 4}, values);
  CHECK(assim::read_restart(dir.path / "bare.nc", "", qg_spec(nx), 3, "x")[2][0][0][0].item<double>() == 2 * n);
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "bare.nc", "", qg_spec(nx), 1, "x"),
                       doctest::Contains("holds 3 trajectories (one per sample); trajectories is 1"), assim::Error);
}

TEST_CASE("a NetCDF restart with an empty or huge sample or time dim, or values out of range, is named") {
  Folder dir;
  const std::int64_t nx = 4, n = 2 * nx * nx;
  write_state_nc(dir.path / "no_samples.nc", {0, 2, 2, 4, 4}, {}, {}, {}, 0);
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "no_samples.nc", "", qg_spec(nx), 2, "stages.t.restart"),
                       doctest::Contains("no_samples.nc: dim 'sample' of variable 'q' is empty"), assim::Error);
  write_state_nc(dir.path / "no_frames.nc", {2, 0, 2, 4, 4}, {}, {}, {}, 1);
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "no_frames.nc", "", qg_spec(nx), 2, "stages.t.restart"),
                       doctest::Contains("no_frames.nc: dim 'time' of variable 'q' is empty"), assim::Error);
  {
    // A record far along an unlimited `sample` dim: 10^9 samples of which one is written.
    auto f = assim::netcdf::File::create(dir.path / "huge.nc");
    f.dimension("sample", 0);
    f.dimension("time", 1);
    f.dimension("layer", 2);
    f.dimension("y", 4);
    f.dimension("x", 4);
    f.variable("q", "double", {"sample", "time", "layer", "y", "x"});
    f.end_definitions();
    std::vector<double> state(n, 1.0);
    f.write("q", {999999999, 0, 0, 0, 0}, {1, 1, 2, 4, 4}, state.data());
    f.close();
  }
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "huge.nc", "", qg_spec(nx), 2, "stages.t.restart"),
                       doctest::Contains("huge.nc: holds 1000000000 trajectories (one per sample); trajectories is 2"),
                       assim::Error);
  std::vector<double> big(n, 1.0);
  big[3] = -1e300;
  write_state_nc(dir.path / "big.nc", {2, 4, 4}, big);
  CHECK_THROWS_WITH_AS(assim::read_restart(dir.path / "big.nc", "", qg_spec(nx), 2, "stages.t.restart"),
                       doctest::Contains("big.nc: holds values up to 1e+300, out of range for a state"),
                       assim::Error);
}
