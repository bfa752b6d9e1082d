#include "lorenz.hpp"

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>

using namespace assim::lorenz;

namespace {
// Error at t = 1 of RK4 with step dt against a reference with dt / 64.
double rk4_error(double dt) {
  auto run = [](double step) {
    std::vector<double> x = {1.0, 0.5, 20.0}, scratch;
    auto f = [](const double* s, double* d) { lorenz63_tendency(s, d, 10, 28, 8.0 / 3.0); };
    for (int i = 0; i < static_cast<int>(std::lround(1.0 / step)); ++i) rk4_step(x.data(), 1, 3, step, f, scratch);
    return x;
  };
  auto a = run(dt), b = run(dt / 64);
  return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]);
}
}  // namespace

TEST_CASE("RK4 converges at fourth order") {
  // Halving dt divides the error by 2^4 = 16 in the asymptotic range
  // (17.8 here: still slightly pre-asymptotic); a lower-order bug gives 2 to 8.
  double ratio = rk4_error(0.0025) / rk4_error(0.00125);
  CHECK(ratio > 14.0);
  CHECK(ratio < 20.0);
}

TEST_CASE("the Lorenz-96 rest state x = F is a fixed point and the tendency is cyclic") {
  std::vector<double> x(40, 8.0), d(40);
  lorenz96_tendency(x.data(), d.data(), 40, 8.0);
  for (double v : d) CHECK(v == 0.0);
  // Hand-computed: dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i with wrap-around.
  std::vector<double> y = {1, 2, 3, 4, 5}, dy(5);
  lorenz96_tendency(y.data(), dy.data(), 5, 0.5);
  CHECK(dy[0] == (2 - 4) * 5 - 1 + 0.5);
  CHECK(dy[1] == (3 - 5) * 1 - 2 + 0.5);
  CHECK(dy[2] == (4 - 1) * 2 - 3 + 0.5);
  CHECK(dy[4] == (1 - 3) * 4 - 5 + 0.5);
}

TEST_CASE("members step exactly as one by one") {
  std::vector<double> batch = {1, 2, 3, 4, 5, 6}, scratch;
  auto f = [](const double* s, double* d) { lorenz63_tendency(s, d, 10, 28, 8.0 / 3.0); };
  rk4_step(batch.data(), 2, 3, 0.01, f, scratch);
  std::vector<double> second = {4, 5, 6};
  rk4_step(second.data(), 1, 3, 0.01, f, scratch);
  CHECK(batch[3] == second[0]);
  CHECK(batch[4] == second[1]);
  CHECK(batch[5] == second[2]);
}
