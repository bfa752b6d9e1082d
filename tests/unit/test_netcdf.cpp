#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>
#include <unistd.h>
#include <vector>

TEST_CASE("a NetCDF-4 file written frame by frame reads back with its attributes") {
  auto path = std::filesystem::temp_directory_path() / ("assim_netcdf_" + std::to_string(::getpid()) + ".nc");
  {
    auto f = assim::netcdf::File::create(path);
    f.dimension("time", 0);
    f.dimension("x", 3);
    f.variable("q", "double", {"time", "x"});
    f.attribute("q", "units", "s-1");
    f.attribute("", "dt", 7200.0);
    f.end_definitions();
    for (std::size_t t = 0; t < 4; ++t) {
      double row[3] = {t + 0.1, t + 0.2, t + 0.3};
      f.write("q", {t, 0}, {1, 3}, row);
    }
    f.close();
  }
  auto f = assim::netcdf::File::open(path);
  CHECK(f.shape("q") == std::vector<std::size_t>{4, 3});
  CHECK(f.dimensions_of("q") == std::vector<std::string>{"time", "x"});
  auto q = f.read("q");
  CHECK(q[0] == 0.1);
  CHECK(q[11] == 3.3);
  CHECK(f.read("q", {2, 1}, {1, 2}) == std::vector<double>{2.2, 2.3});
  CHECK(f.text_attribute("q", "units") == "s-1");
  CHECK(f.number_attribute("", "dt") == std::vector<double>{7200.0});
  CHECK_FALSE(f.has_variable("p"));
  CHECK_THROWS_WITH_AS(f.read("p"), doctest::Contains((path.string() + ": no variable p").c_str()), assim::Error);
  std::filesystem::remove(path);
}

// The runner runs stages side by side on workers, and two observe stages that
// wrote at once aborted inside NetCDF, which is not thread-safe by itself.
TEST_CASE("files written and read on several threads at once keep their numbers") {
  const auto folder = std::filesystem::temp_directory_path() / ("assim_netcdf_threads_" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  constexpr int threads = 4, files = 25, frames = 8;
  std::vector<std::vector<double>> sums(threads, std::vector<double>(files, -1.0));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int k = 0; k < files; ++k) {
        const auto path = folder / ("f" + std::to_string(t) + "_" + std::to_string(k) + ".nc");
        {
          auto f = assim::netcdf::File::create(path);
          f.dimension("time", 0);
          f.dimension("x", 16);
          f.variable("q", "double", {"time", "x"});
          f.attribute("q", "units", "s-1");
          f.end_definitions();
          std::vector<double> row(16);
          for (std::size_t frame = 0; frame < frames; ++frame) {
            for (std::size_t i = 0; i < row.size(); ++i) row[i] = t * 1000.0 + k * 10.0 + frame + i * 0.5;
            f.write("q", {frame, 0}, {1, row.size()}, row.data());
          }
          f.close();
        }
        auto f = assim::netcdf::File::open(path);
        double sum = 0;
        for (double v : f.read("q")) sum += v;
        sums[t][k] = sum;
      }
    });
  for (auto& thread : pool) thread.join();
  for (int t = 0; t < threads; ++t)
    for (int k = 0; k < files; ++k) {
      // sum over frames and points of t*1000 + k*10 + frame + i/2
      const double expected = frames * 16 * (t * 1000.0 + k * 10.0) + 16 * (frames * (frames - 1) / 2.0) +
                              frames * 0.5 * (16 * 15 / 2.0);
      CHECK(sums[t][k] == expected);
    }
  std::filesystem::remove_all(folder);
}
