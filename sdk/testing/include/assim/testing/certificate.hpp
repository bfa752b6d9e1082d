// A posterior certificate for a sampler: problems whose exact posterior is
// known, and how far a sampler's draws are from it.
//
// Simulation-based calibration (Talts et al. 2018, Algorithm 1): for
// r = 1..R draw x*_r from the prior and y_r from x*_r, draw M posterior
// samples given y_r, and record the rank of x*_r,i among them per
// coordinate i. If the sampler draws from the exact posterior, x*_r is one
// more draw from it, so each rank is uniform on {0..M} (Talts et al.'s
// Theorem 1), whatever the problem. Departures show the kind of error: a
// U shape an under-dispersed sampler, a hump an over-dispersed one, a slope
// a biased one. The distances beside it say how large the error is, in
// units of the exact posterior's std.
//
// It lives in AssimSDK::testing, beside the contract suites, because it
// needs nothing but a Sampler and its samples: a plugin's own tests (in
// tree: plugins/{enkf,variational,sda,soad}/tests/test_*_certificate.cpp,
// or a sampler written later out of tree) build the problem their sampler
// takes from the draws here, hand it over, and judge the samples.
//
// Link AssimSDK::testing (installed with the SDK).
#pragma once

#include <assim/abi.hpp>
#include <assim/observation_operator.hpp>
#include <assim/sampler.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace assim::testing {

// x ~ N(mean, covariance) over n entries, y = H x + e, e ~ N(0, sigma_o^2 I_p):
// the posterior is Gaussian and known (the Kalman update).
struct ASSIM_API LinearGaussian {
  at::Tensor mean;        // (n) float64
  at::Tensor covariance;  // (n, n) float64, symmetric positive definite
  at::Tensor H;           // (p, n) float64
  double sigma_o = 1;
};

// The problem the in-tree samplers' certificates share, so that their
// results compare: n = 4 entries of unit variance correlated 0.6^|i - j|
// about m = 0 (prior.gaussian's one mean, which an augmented prior over
// (x, H x) can only have at 0), p = 2 observations y = (x_0 + 0.5 x_1,
// x_2 - x_3) + N(0, 0.5^2): x_0, x_1 partly seen, x_2 + x_3 unseen but
// for the prior's coupling.
ASSIM_API LinearGaussian example_problem();

// H over the channel dim of states (..., n, y, x): y_j = sum_i H_ji x_i at
// every grid point, output (..., p, y, x). Replications laid side by side
// on the grid are then one problem of independent points.
class ASSIM_API ChannelMatrix : public ObservationOperator {
 public:
  explicit ChannelMatrix(at::Tensor H) : H_(std::move(H)) {}
  at::Tensor apply(const at::Tensor& x) const override;
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override;
  bool linear() const override { return true; }

 private:
  at::Tensor H_;  // (p, n)
};

// R replications of the problem: truth (R, n) from the prior, observations
// (R, p) = H truth + noise, from `seed`.
struct ASSIM_API Replications {
  at::Tensor truth, observations;
};
ASSIM_API Replications draw_replications(const LinearGaussian& problem, std::int64_t replications,
                                         std::uint64_t seed);

// The exact posterior of each replication: mean (R, n) and the covariance
// (n, n), the same for every y in a linear-Gaussian problem:
//   K = P H^T (H P H^T + sigma_o^2 I)^-1,  mean = m + K (y - H m),  cov = (I - K H) P.
struct ASSIM_API GaussianPosterior {
  at::Tensor mean, covariance;
};
ASSIM_API GaussianPosterior exact_posterior(const LinearGaussian& problem, const at::Tensor& observations);

// SBC: the ranks of truth (R, n) among samples (M, R, n) per replication and
// coordinate, binned into `bins` bins of equal width ((M + 1) must be a
// multiple of `bins`, so that a uniform rank fills each bin equally), and
// Pearson's chi-square of each coordinate's histogram against R / bins per
// bin (bins - 1 degrees of freedom). A coordinate rejects uniformity when its
// p-value is below alpha / n (Bonferroni: the whole certificate rejects an
// exact sampler with probability at most alpha).
struct ASSIM_API Calibration {
  at::Tensor ranks;       // (R, n) int64: how many samples lie below the truth
  at::Tensor histogram;   // (n, bins)
  at::Tensor chi_square;  // (n)
  at::Tensor p_value;     // (n)
  double alpha = 0.01;
  double smallest_p() const;
  bool uniform() const;  // no coordinate rejects
  std::string text() const;
};
ASSIM_API Calibration calibrate(const at::Tensor& truth, const at::Tensor& samples, std::int64_t bins,
                                double alpha = 0.01);

// How far samples (M, R, n) are from the exact Gaussian posterior, in units
// of its std sigma_i:
//   mean_error  RMS over replications and coordinates of (sample mean - exact mean) / sigma_i
//               (1 / sqrt(M) for independent exact draws: their Monte-Carlo error);
//   std_ratio   per coordinate, sqrt(sample variance pooled over replications / sigma_i^2),
//               its smallest and largest (1 when exact);
//   correlation_error  the largest |pooled sample covariance - exact|_ij / (sigma_i sigma_j).
struct ASSIM_API Distance {
  double mean_error = 0, std_ratio_min = 0, std_ratio_max = 0, correlation_error = 0;
  std::string text() const;
};
ASSIM_API Distance distance(const at::Tensor& samples, const GaussianPosterior& exact);

// The problem a sampler that analyses a forecast ensemble (the EnKF family,
// the particle and score filters) is handed here: n entries as n channels of
// a 1 x 1 grid (the layout ChannelMatrix observes), the forecast (members,
// n), every entry of y (p) observed at one frame with noise std sigma under
// `law`. Its sample (members, 1, n, 1, 1) is the members' (members, n).
ASSIM_API AssimilationProblem forecast_problem(std::shared_ptr<const ObservationOperator> h, const at::Tensor& forecast,
                                               const at::Tensor& y, double sigma,
                                               NoiseLaw law = NoiseLaw::Gaussian);

// The samplers' nonlinear toy (the papers' "hard" operator h = 1.5 sin(3 x),
// which the caller supplies: obs.sin): 4 points x = (0.3, -0.8, 1.2, 0.05),
// prior N(0, 0.5^2), y = h(x) + (0.05, -0.12, 0.08, 0.02), sigma_o = 0.1;
// each posterior has two to four modes. Through the main job's h =
// arctan(3 x) (obs.arctan) instead, each has one mode, skewed towards large
// |x| where arctan saturates (x = 1.2).
struct ASSIM_API NonlinearExample {
  at::Tensor truth, noise;  // (4)
  double sigma_o = 0.1, prior_std = 0.5;
};
ASSIM_API NonlinearExample nonlinear_example();

// A nonlinear 1-D problem: x ~ N(0, prior_std^2) per point, y = h(x) +
// N(0, sigma_o^2). Its exact posterior of each point, as probabilities
// (P, nodes) on the quadrature nodes (ascending, fine against the
// posterior's width), for observations y (P).
ASSIM_API at::Tensor quadrature_posterior(const ObservationOperator& h, const at::Tensor& nodes, const at::Tensor& y,
                                         double sigma_o, double prior_std);

// The Wasserstein-1 distance between the empirical law of 1-D samples (M)
// and a discrete law with probabilities `weights` on `nodes` (ascending,
// e.g. a quadrature posterior): the integral of |F_samples - F_exact|, exact
// for these two step functions.
ASSIM_API double wasserstein1(const at::Tensor& samples, const at::Tensor& nodes, const at::Tensor& weights);

// The size of a certificate run: `ci` in the test suite, `full` when the
// environment sets ASSIM_CERTIFICATE=full (the README's table).
ASSIM_API std::int64_t certificate_size(std::int64_t ci, std::int64_t full);

// One row of the README's table (method, problem, SBC, distance), printed
// to standard output as "certificate | ... |" for the table to be read off a run.
ASSIM_API void print_row(const std::string& method, const std::string& problem, const Calibration& calibration,
                         const Distance& distance);

// The same for a nonlinear problem: W1 to its quadrature posterior, per case.
ASSIM_API void print_row(const std::string& method, const std::string& problem, const at::Tensor& w1);

}  // namespace assim::testing
