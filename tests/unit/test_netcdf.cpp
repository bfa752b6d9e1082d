#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

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
