// The parameter declaration drives validation, defaults and error messages.
#include <assim/error.hpp>
#include <assim/testing/config.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

using assim::Config;
using assim::ConfigError;
using assim::Parameters;

namespace {
Parameters declaration() {
  Parameters p;
  p.real("dt", 7200.0, "s", "time step").above(0);
  p.integer("nx", 64, "", "grid points").at_least(4).at_most(4096);
  p.string("scheme", "rk4", "", "time scheme").one_of({"rk4", "euler"});
  p.reals("scales", {1.2e4, 1.6e4}, "m s-1", "scales").above(0);
  p.boolean("dealias", false, "use a 2/3 mask");
  p.required("sigma", assim::ParameterType::Real, "1", "noise").at_least(0);
  Parameters mask;
  mask.real("random", 1.0, "", "fraction").above(0).at_most(1);
  p.section("mask", "observed points", mask);
  p.real("radius", 0, "grid points", "localisation radius").above(0).optional();
  return p;
}

std::string error_of(const std::string& yaml) {
  try {
    config_from_yaml(yaml, declaration(), "exp.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("defaults are filled and typed getters read them") {
  Config c = assim::config_from_yaml("sigma: 0.1\nnx: 128\n", declaration(), "exp.yaml");
  CHECK(c.get<double>("dt") == 7200.0);
  CHECK(c.get<int>("nx") == 128);
  CHECK(c.get<std::string>("scheme") == "rk4");
  CHECK(c.get<std::vector<double>>("scales") == std::vector<double>{1.2e4, 1.6e4});
  CHECK(c.get<bool>("dealias") == false);
  CHECK(c.section("mask").get<double>("random") == 1.0);
  CHECK_FALSE(c.has("radius"));
  CHECK(c.where("nx") == "exp.yaml:2:5");
  CHECK(c.path("nx") == "nx");
  auto unread = c.unread();
  CHECK(std::find(unread.begin(), unread.end(), "sigma") != unread.end());
  c.get<double>("sigma");
  unread = c.unread();
  CHECK(std::find(unread.begin(), unread.end(), "sigma") == unread.end());
}

TEST_CASE("bad values are refused with file, line, key and reason") {
  CHECK(error_of("sigma: 1\nnxx: 3\n") ==
        "exp.yaml:2:1: nxx: unknown key 'nxx' for exp.yaml; did you mean 'nx'? "
        "(known keys: dt, nx, scheme, scales, dealias, sigma, mask, radius)");
  CHECK(error_of("nx: 8\n").find("exp.yaml:1:1: sigma: missing required parameter 'sigma'") == 0);
  CHECK(error_of("sigma: 1\nnx: 3\n").find("exp.yaml:2:5: nx: value 3 out of range: must be >= 4") == 0);
  CHECK(error_of("sigma: 1\nnx: 2.5\n").find("exp.yaml:2:5: nx: expected an integer, got '2.5'") == 0);
  CHECK(error_of("sigma: 1\ndt: 0\n").find("dt: value 0 out of range: must be > 0") != std::string::npos);
  CHECK(error_of("sigma: 1\nscheme: rk5\n").find("'rk5' is not one of rk4, euler; did you mean 'rk4'?") !=
        std::string::npos);
  CHECK(error_of("sigma: 1\nscales: [1, -2]\n").find("exp.yaml:2:13: scales[1]: value -2 out of range") == 0);
  CHECK(error_of("sigma: 1\nmask: {randon: 0.5}\n").find("mask.randon: unknown key 'randon'") != std::string::npos);
  CHECK(error_of("sigma: 1\nmask: {random: 0}\n").find("mask.random: value 0 out of range: must be > 0") !=
        std::string::npos);
  CHECK(error_of("sigma: [1]\n").find("sigma: expected a real, got a list") != std::string::npos);
  CHECK(error_of("sigma: 1\ndealias: perhaps\n").find("dealias: expected a boolean") != std::string::npos);
  CHECK(error_of("sigma: .inf\n").find("must be a finite number") != std::string::npos);
}

TEST_CASE("a plugin's own check names the place of the value") {
  Config c = assim::config_from_yaml("sigma: 1\nnx: 100\n", declaration(), "exp.yaml");
  try {
    c.fail("nx", "must be a power of two");
    FAIL("fail() returned");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "exp.yaml:2:5: nx: must be a power of two");
    CHECK(e.key() == "nx");
    CHECK(e.where() == "exp.yaml:2:5");
  }
}

TEST_CASE("the declaration describes itself for `assim plugins --verbose`") {
  auto p = declaration();
  CHECK(p.find("dt")->describe() == "dt: real, default 7200, unit s, > 0: time step");
  CHECK(p.find("scales")->describe() == "scales: list of reals, default [12000, 16000], unit m s-1, > 0: scales");
  CHECK(p.find("sigma")->describe() == "sigma: real, required, unit 1, >= 0: noise");
  CHECK(p.find("scheme")->describe() == "scheme: string, default \"rk4\", one of rk4 euler: time scheme");
}

TEST_CASE("a type's other keys are let through, then checked against what the built component declares") {
  Parameters own;
  own.required("class", assim::ParameterType::String, "", "the class");
  own.others("the class's own parameters");
  CHECK(own.find("...")->describe() == "...: keys the component declares: the class's own parameters");
  Parameters more;
  more.integer("width", 1, "grid points", "half-width").at_least(0);
  more.real("gain", 2.0, "", "factor");
  // Unknown to the type alone: validation lets them through.
  const Config c = assim::config_from_yaml("class: Blur\nwidth: 3\n", own, "exp.yaml");
  const Config all = c.with_parameters(more, "class Blur");
  CHECK(all.get<std::int64_t>("width") == 3);
  CHECK(all.get<double>("gain") == 2.0);                 // the default, filled
  CHECK(c.yaml().find("gain: 2") != std::string::npos);  // into the settings the hash reads
  auto error_of = [&](const std::string& yaml, const Parameters& declared) -> std::string {
    try {
      assim::config_from_yaml(yaml, own, "exp.yaml").with_parameters(declared, "class Blur");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("class: Blur\nwidht: 3\n", more).rfind("exp.yaml:2:1: widht: unknown key 'widht' for class Blur; "
                                                         "did you mean 'width'?", 0) == 0);
  CHECK(error_of("class: Blur\nwidth: -1\n", more).rfind("exp.yaml:2:8: width: value -1 out of range: must be >= 0", 0) ==
        0);
  Parameters clash;
  clash.string("class", "", "", "a key of the type's own");
  CHECK(error_of("class: Blur\n", clash).find("class Blur declares 'class', a key of its type's own") !=
        std::string::npos);
}

// Workers read one stage's settings at once (a filter's repetitions): a
// read records its key, and two first reads at once corrupted that record
// until the next read looped forever. Fresh settings each round, read by two
// threads that start together.
TEST_CASE("settings are read on several threads at once") {
  const std::vector<std::string> keys = {"nx", "dt", "sigma", "scheme", "dealias", "scales"};
  for (int round = 0; round < 300; ++round) {
    const Config c = assim::config_from_yaml("sigma: 0.1\nnx: 128\n", declaration(), "exp.yaml");
    std::atomic<int> ready{0};
    std::vector<double> sums(2, 0);
    std::vector<std::thread> pair;
    for (int t = 0; t < 2; ++t)
      pair.emplace_back([&, t] {
        ++ready;
        while (ready < 2) {
        }
        for (std::size_t k = 0; k < keys.size(); ++k) {
          const std::string& key = keys[t == 0 ? k : keys.size() - 1 - k];
          if (key == "nx") sums[t] += c.get<double>("nx");
          if (key == "dt") sums[t] += c.get<double>("dt");
          if (key == "sigma") sums[t] += c.get<double>("sigma");
          if (key == "scheme") sums[t] += static_cast<double>(c.get<std::string>("scheme").size());
          if (key == "dealias") sums[t] += c.get<bool>("dealias") ? 1 : 0;
          if (key == "scales") sums[t] += c.get<std::vector<double>>("scales").size();
        }
      });
    for (auto& thread : pair) thread.join();
    CHECK(sums[0] == 128 + 7200 + 0.1 + 3 + 0 + 2);
    CHECK(sums[1] == sums[0]);
    const auto unread = c.unread();
    for (const auto& key : keys) CHECK(std::find(unread.begin(), unread.end(), key) == unread.end());
  }
}
