// The bootstrap particle filter's analysis (sequential importance
// resampling), free of LibTorch so that it can be tested and benchmarked on
// its own. Conventions follow DAPPER's PartFilt, which the Lorenz-96 run in
// experiments/enkf/ is set beside: resampling when the effective sample size
// falls to NER N or below, systematic resampling, and regularisation of the
// duplicated particles by Gaussian jitter of covariance
// (reg h)^2 times the weighted ensemble's covariance, h = N^(-1/(M+4)) (Scott's
// bandwidth; Doucet, de Freitas & Gordon 2001, sec. 12.2.2).
//
// Particles are the rows of a (particles x state) row-major matrix, the
// memory of a (member, state dims...) tensor. Weights are carried as
// log-weights: a product of likelihoods of many observations underflows in
// double long before the ratios between particles do.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace assim::particle {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Rng = std::mt19937_64;

struct Settings {
  // Resample when N_eff <= resample_below * N (DAPPER's NER), in (0, 1]; 1
  // resamples at every analysis.
  double resample_below = 1.0;
  // Jitter after resampling, in units of Scott's bandwidth times the
  // weighted ensemble's covariance (DAPPER's reg); 0: none.
  double regularisation = 0.0;
};

// Throws std::invalid_argument naming the setting that cannot work.
void check(const Settings& settings, std::int64_t particles);

// Every log-weight is -inf or not a number: no particle explains the
// observations (with a bounded noise law, or a likelihood that underflowed
// even in log space). The filter has lost the truth.
struct Degenerate : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Shifts the log-weights so that their exponentials sum to 1; throws Degenerate.
void normalise(Eigen::VectorXd& log_weights);

// 1 / sum w_i^2 of normalised log-weights: N for equal weights, 1 for one particle.
double effective_size(const Eigen::VectorXd& log_weights);

// Systematic resampling (Kitagawa 1996; van Leeuwen's "stochastic universal"):
// N points u/N + i/N, u ~ U(0, 1), each takes the particle whose cumulative
// weight interval holds it. Particle i is drawn floor(N w_i) or ceil(N w_i)
// times; the indices come out sorted.
std::vector<Eigen::Index> systematic_resample(const Eigen::VectorXd& weights, double u);

// Bayes' rule with the forecast as the proposal (the bootstrap filter):
// log_weights += log_likelihood (one entry per particle), normalised.
void reweight(Eigen::VectorXd& log_weights, const Eigen::VectorXd& log_likelihood);

// If N_eff <= resample_below N: systematic resampling, jitter of the
// duplicates and equal weights. Returns whether it resampled.
bool resample_if_degenerate(RowMatrix& particles, Eigen::VectorXd& log_weights, const Settings& settings, Rng& rng);

// One analysis: reweight, then resample_if_degenerate.
bool analyse(RowMatrix& particles, Eigen::VectorXd& log_weights, const Eigen::VectorXd& log_likelihood,
             const Settings& settings, Rng& rng);

}  // namespace assim::particle
