// DAPPER's PartFilt on its Lorenz-96 of Sakov & Oke (2008) (twin.hpp's
// setup: 40 sites, F = 8, dt_obs 0.05, every site observed with R = I,
// X0 = N(e_1, 0.001 I), 400 cycles of burn-in), with the weights carried
// from one cycle to the next as DAPPER carries them: what sampler.particle
// cannot do through the SDK, which hands a sampler an equally weighted
// ensemble. Prints rmse.a, the time mean after the burn-in of the RMS error
// of the weighted analysis mean (taken before any resampling, as DAPPER's
// stats), the RMS weighted spread, the share of analyses that resampled and
// the seconds.
//
//   particle_l96 [--particles N] [--ner x] [--reg x] [--cycles K] [--seeds S]
//
// Defaults: N 3000, NER 0.5, reg 0.7 (DAPPER's best in sakov2008.py's
// PartFilt list), K 10000 cycles (DAPPER's), S 1 seed.
#include "particle.hpp"
#include "twin.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

using namespace assim::particle;

int main(int argc, char** argv) {
  Settings settings{0.5, 0.7};
  int particles = 3000, cycles = 10000, seeds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--particles") particles = std::atoi(value);
    else if (key == "--ner") settings.resample_below = std::atof(value);
    else if (key == "--reg") settings.regularisation = std::atof(value);
    else if (key == "--cycles") cycles = std::atoi(value);
    else if (key == "--seeds") seeds = std::atoi(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  try {
    check(settings, particles);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "particle_l96: %s\n", e.what());
    return 2;
  }
  const auto s = assim::enkf::twin::lorenz96();
  if (cycles <= s.burn_in) {
    std::fprintf(stderr, "particle_l96: --cycles must exceed the burn-in of %d\n", s.burn_in);
    return 2;
  }
  const Eigen::Index n = s.initial_mean.size();
  double rmse_mean = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    const auto start = std::chrono::steady_clock::now();
    Rng rng(static_cast<std::uint64_t>(seed) + 3);
    std::normal_distribution<double> normal;
    Eigen::VectorXd truth(n), y(n);
    for (Eigen::Index j = 0; j < n; ++j) truth(j) = s.initial_mean(j) + s.initial_sd * normal(rng);
    RowMatrix E(particles, n);
    for (Eigen::Index i = 0; i < E.rows(); ++i)
      for (Eigen::Index j = 0; j < n; ++j) E(i, j) = s.initial_mean(j) + s.initial_sd * normal(rng);
    Eigen::VectorXd log_weights = Eigen::VectorXd::Constant(particles, -std::log(static_cast<double>(particles)));
    double rmse_sum = 0, spread_sum = 0;
    int resampled = 0, k = 0;
    std::string status = "ok";
    try {
      for (; k < cycles; ++k) {
        s.cycle(truth.data(), 1);
        s.cycle(E.data(), particles);
        for (Eigen::Index j = 0; j < n; ++j) y(j) = truth(j) + s.sigma * normal(rng);
        reweight(log_weights, -0.5 * ((E.rowwise() - y.transpose()) / s.sigma).rowwise().squaredNorm());
        const Eigen::VectorXd w = log_weights.array().exp();
        const Eigen::RowVectorXd mean = w.transpose() * E;
        const double rmse = std::sqrt((mean.transpose() - truth).squaredNorm() / static_cast<double>(n));
        if (!std::isfinite(rmse) || rmse > s.divergence) {
          status = "diverged (rmse " + std::to_string(rmse) + ")";
          break;
        }
        if (k >= s.burn_in) {
          rmse_sum += rmse;
          spread_sum += std::sqrt((w.transpose() * (E.rowwise() - mean).array().square().matrix()).sum() /
                                  static_cast<double>(n));
        }
        resampled += resample_if_degenerate(E, log_weights, settings, rng);
      }
    } catch (const Degenerate& e) {
      status = std::string("degenerate: ") + e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double count = cycles - s.burn_in;
    std::printf("PartFilt N=%d NER=%g reg=%g seed %d: rmse.a %.4f spread.a %.4f resampled %.2f of cycles, %s "
                "at cycle %d of %d (%.1f s)\n",
                particles, settings.resample_below, settings.regularisation, seed + 3, rmse_sum / count,
                spread_sum / count, resampled / static_cast<double>(k > 0 ? k : 1), status.c_str(), k, cycles,
                seconds);
    rmse_mean += rmse_sum / count / seeds;
    std::fflush(stdout);
  }
  if (seeds > 1) std::printf("mean rmse.a %.4f over %d seeds\n", rmse_mean, seeds);
}
