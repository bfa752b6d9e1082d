// A twin experiment in DAPPER's manner, shared by the CI test and the
// benchmark program: a truth run and an ensemble from the same initial
// distribution, every state variable observed with N(0, sigma^2) noise after
// each cycle, analysis, and rmse.a = time mean after the burn-in of the
// spatial RMS of (ensemble mean - truth).
#pragma once

#include "enkf.hpp"
#include "lorenz.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace assim::enkf::twin {

struct Setup {
  // Advances `members` contiguous states (rows) by one cycle.
  std::function<void(double* states, int members)> cycle;
  Eigen::VectorXd initial_mean;
  double initial_sd = 0;
  int members = 0;
  double sigma = 1;
  int cycles = 0;
  int burn_in = 0;  // cycles left out of the average
  Settings settings;
  // Additive inflation: sd of the model error added to the forecast members.
  double additive = 0;
  const Localisation* localisation = nullptr;
  std::uint64_t seed = 0;
  // An analysis rmse above this ends the run as diverged.
  double divergence = 1e3;
};

struct Result {
  double rmse = NAN;    // rmse.a
  double spread = NAN;  // time mean of the RMS analysis spread
  bool diverged = false;
};

// Lorenz-96 of Sakov & Oke (2008): 40 sites, F = 8, one RK4 step of 0.05 per
// cycle, X0 = N(e_1, 0.001 I), every site observed with R = I, 400 cycles
// (20 time units) of burn-in. Callers set members, cycles, seed, settings.
inline Setup lorenz96() {
  Setup s;
  s.cycle = [](double* x, int members) {
    std::vector<double> scratch;
    assim::lorenz::rk4_step(
        x, members, 40, 0.05,
        [](const double* state, double* tendency) { assim::lorenz::lorenz96_tendency(state, tendency, 40, 8.0); },
        scratch);
  };
  s.initial_mean = Eigen::VectorXd::Unit(40, 0);
  s.initial_sd = std::sqrt(0.001);
  s.sigma = 1;
  s.burn_in = 400;
  return s;
}

inline Result run(const Setup& s) {
  const Eigen::Index n = s.initial_mean.size();
  Rng rng(s.seed);
  std::normal_distribution<double> normal;
  Eigen::VectorXd truth(n);
  for (Eigen::Index j = 0; j < n; ++j) truth(j) = s.initial_mean(j) + s.initial_sd * normal(rng);
  RowMatrix E(s.members, n);
  for (Eigen::Index i = 0; i < E.rows(); ++i)
    for (Eigen::Index j = 0; j < n; ++j) E(i, j) = s.initial_mean(j) + s.initial_sd * normal(rng);

  Eigen::VectorXd y(n);
  double rmse_sum = 0, spread_sum = 0;
  for (int k = 0; k < s.cycles; ++k) {
    s.cycle(truth.data(), 1);
    s.cycle(E.data(), s.members);
    for (Eigen::Index j = 0; j < n; ++j) y(j) = truth(j) + s.sigma * normal(rng);
    add_model_error(E, s.additive, rng);
    const RowMatrix HX = E;  // H = I
    analyse(E, HX, y, s.sigma, s.settings, s.localisation, rng);
    const double rmse = std::sqrt((E.colwise().mean().transpose() - truth).squaredNorm() / n);
    if (!std::isfinite(rmse) || rmse > s.divergence) return {rmse, NAN, true};
    if (k >= s.burn_in) {
      rmse_sum += rmse;
      spread_sum += std::sqrt(spread(E).squaredNorm() / n);
    }
  }
  const double count = s.cycles - s.burn_in;
  return {rmse_sum / count, spread_sum / count, false};
}

}  // namespace assim::enkf::twin
