// Reproduces DAPPER's tuned EnKF benchmarks (see
// ../shared/reference/enkf-benchmarks.md): Lorenz-96 after Sakov & Oke
// (2008) and Hoteit (2015), Lorenz-63 after Sakov (2012). Prints rmse.a, the
// mean over seeds of the time-averaged analysis RMSE after the burn-in.
//
//   enkf_l96_table [--cycles K] [--seeds S] [--model L96|L63]
//
// K cycles per run including the burn-in (default 20000), S seeds (default
// 5), both models unless one is named.
#include "enkf.hpp"
#include "lorenz.hpp"
#include "twin.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace assim::enkf;

namespace {

struct Row {
  std::string model;
  std::string method_name;
  Method method;
  int members;
  double inflation;
  bool rotate;
  double radius;  // LETKF only
  double published;
};

// Lorenz-96 with DAPPER's settings (twin.hpp); a wider divergence guard for long runs.
twin::Setup lorenz96() {
  twin::Setup s = twin::lorenz96();
  s.divergence = 10;
  return s;
}

// Lorenz-63: 25 RK4 steps of 0.01 per cycle; X0 = N([1.509, -1.531, 25.46], 2 I), R = 2 I.
twin::Setup lorenz63() {
  twin::Setup s;
  s.cycle = [](double* x, int members) {
    std::vector<double> scratch;
    for (int step = 0; step < 25; ++step)
      assim::lorenz::rk4_step(
          x, members, 3, 0.01,
          [](const double* state, double* tendency) {
            assim::lorenz::lorenz63_tendency(state, tendency, 10.0, 28.0, 8.0 / 3.0);
          },
          scratch);
  };
  s.initial_mean = Eigen::Vector3d(1.509, -1.531, 25.46);
  s.initial_sd = std::sqrt(2.0);
  s.sigma = std::sqrt(2.0);
  s.burn_in = 64;  // 16 time units
  s.divergence = 30;
  return s;
}

Localisation ring_localisation(double radius) {
  Localisation loc;
  loc.extent = {40};
  for (std::int64_t k = 0; k < 40; ++k) {
    loc.state_point.push_back(k);
    loc.observation_point.push_back(k);
  }
  loc.radius = radius;
  return loc;
}

const char* option(int argc, char** argv, const char* flag, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int cycles = std::atoi(option(argc, argv, "--cycles", "20000"));
  const int seeds = std::atoi(option(argc, argv, "--seeds", "5"));
  const std::string model = option(argc, argv, "--model", "");
  const std::vector<Row> rows = {
      {"L96", "PertObs", Method::PertObs, 40, 1.06, false, 0, 0.22},
      {"L96", "Sqrt", Method::ETKF, 40, 1.01, false, 0, 0.18},
      {"L96", "Sqrt", Method::ETKF, 24, 1.04, true, 0, 0.196},
      {"L96", "Sqrt", Method::ETKF, 20, 1.04, false, 0, 0.20},
      {"L96", "LETKF", Method::LETKF, 7, 1.04, false, 4, 0.22},
      {"L96", "LETKF", Method::LETKF, 10, 1.04, false, 6, 0.20},
      {"L96", "LETKF", Method::LETKF, 10, 1.02, false, 4, 0.21},
      {"L63", "Sqrt", Method::ETKF, 10, 1.02, true, 0, 0.60},
      {"L63", "PertObs", Method::PertObs, 10, 1.04, false, 0, 0.65},
      {"L63", "PertObs", Method::PertObs, 100, 1.01, false, 0, 0.56},
  };
  std::printf("cycles %d per run (burn-in included), seeds %d\n", cycles, seeds);
  std::printf("%-5s %-8s %4s %6s %-12s %9s %9s %8s %8s %9s %6s\n", "model", "method", "N", "infl", "other",
              "published", "rmse.a", "sd/seed", "spread", "diverged", "s/run");
  for (const Row& row : rows) {
    if (!model.empty() && row.model != model) continue;
    twin::Setup s = row.model == "L96" ? lorenz96() : lorenz63();
    s.cycles = cycles;
    s.members = row.members;
    s.settings.method = row.method;
    s.settings.inflation = row.inflation;
    s.settings.rotate = row.rotate;
    const Localisation loc = ring_localisation(row.radius);
    if (row.method == Method::LETKF) s.localisation = &loc;
    double sum = 0, sum_sq = 0, spread = 0;
    int ok = 0, diverged = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int seed = 0; seed < seeds; ++seed) {
      s.seed = 1000 + static_cast<std::uint64_t>(seed);
      const twin::Result r = twin::run(s);
      if (r.diverged) {
        ++diverged;
        continue;
      }
      ++ok;
      sum += r.rmse;
      sum_sq += r.rmse * r.rmse;
      spread += r.spread;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double mean = sum / ok;
    const double sd = ok > 1 ? std::sqrt(std::max(0.0, (sum_sq - ok * mean * mean) / (ok - 1))) : NAN;
    std::string other = row.rotate ? "rot" : "";
    if (row.method == Method::LETKF) other += "loc_rad " + std::to_string(static_cast<int>(row.radius));
    std::printf("%-5s %-8s %4d %6.3f %-12s %9.3f %9.4f %8.4f %8.4f %9d %6.1f\n", row.model.c_str(),
                row.method_name.c_str(), row.members, row.inflation, other.c_str(), row.published, mean, sd,
                spread / ok, diverged, seconds / seeds);
    std::fflush(stdout);
  }
}
