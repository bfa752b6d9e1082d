#include "particle.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace assim::particle {

void check(const Settings& settings, std::int64_t particles) {
  if (!(settings.resample_below > 0 && settings.resample_below <= 1))
    throw std::invalid_argument("resample_below must be in (0, 1], got " + std::to_string(settings.resample_below));
  if (!(settings.regularisation >= 0))
    throw std::invalid_argument("regularisation must be >= 0, got " + std::to_string(settings.regularisation));
  // The jitter's covariance is estimated from the particles.
  if (particles < 2) throw std::invalid_argument("a particle filter needs at least 2 particles, got " +
                                                 std::to_string(particles));
}

void normalise(Eigen::VectorXd& log_weights) {
  double top = -std::numeric_limits<double>::infinity();
  for (const double l : log_weights)
    if (!std::isnan(l)) top = std::max(top, l);
  if (!std::isfinite(top))
    throw Degenerate("every particle's weight is zero: no particle explains the observations");
  double sum = 0;
  for (double& l : log_weights) {
    if (std::isnan(l)) l = -std::numeric_limits<double>::infinity();
    sum += std::exp(l - top);
  }
  log_weights.array() -= top + std::log(sum);
}

double effective_size(const Eigen::VectorXd& log_weights) { return 1 / (2 * log_weights).array().exp().sum(); }

std::vector<Eigen::Index> systematic_resample(const Eigen::VectorXd& weights, double u) {
  const Eigen::Index n = weights.size();
  std::vector<Eigen::Index> index(static_cast<std::size_t>(n));
  double cumulative = weights(0);
  Eigen::Index j = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double point = (u + static_cast<double>(i)) / static_cast<double>(n);
    // A point on a boundary goes to the next particle, so that a particle of
    // zero weight is never drawn; the last takes what rounding leaves of the
    // cumulative sum short of 1.
    while (cumulative <= point && j < n - 1) cumulative += weights(++j);
    index[static_cast<std::size_t>(i)] = j;
  }
  return index;
}

namespace {

// The square root C12 of the jitter's covariance C12^T C12: the weighted
// anomalies about the weighted mean, each row scaled by sqrt(w_i / (1 -
// sum w^2)) so that the covariance is unbiased for reliability weights,
// times reg h. A weight of 1 (to 1e-10) would leave a zero covariance and no
// jitter to revive the ensemble with: the equally weighted ensemble's is used
// then, as DAPPER does.
RowMatrix jitter_root(const RowMatrix& particles, Eigen::VectorXd weights, double scale) {
  const auto n = static_cast<double>(particles.rows());
  if (weights.maxCoeff() > 1 - 1e-10) weights.setConstant(1 / n);
  const Eigen::RowVectorXd mean = weights.transpose() * particles;
  const double unbias = 1 / (1 - weights.squaredNorm());
  return (scale * (unbias * weights).array().sqrt()).matrix().asDiagonal() * (particles.rowwise() - mean);
}

// `count` draws of N(0, C12^T C12), as rows: through the M x M covariance's
// square root when there are more than 2M particles, through C12 itself
// otherwise (the cheaper product either way).
RowMatrix gaussian_draws(const RowMatrix& root, Eigen::Index count, Rng& rng) {
  std::normal_distribution<double> normal;
  const Eigen::Index m = root.cols();
  const bool through_covariance = root.rows() > 2 * m;
  RowMatrix draws(count, through_covariance ? m : root.rows());
  for (Eigen::Index i = 0; i < draws.size(); ++i) draws.data()[i] = normal(rng);
  if (!through_covariance) return draws * root;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(root.transpose() * root);
  const Eigen::MatrixXd sqrt_covariance = eigen.eigenvectors() *
                                          eigen.eigenvalues().cwiseMax(0).cwiseSqrt().asDiagonal() *
                                          eigen.eigenvectors().transpose();
  return draws * sqrt_covariance;
}

}  // namespace

void reweight(Eigen::VectorXd& log_weights, const Eigen::VectorXd& log_likelihood) {
  log_weights += log_likelihood;
  normalise(log_weights);
}

bool analyse(RowMatrix& particles, Eigen::VectorXd& log_weights, const Eigen::VectorXd& log_likelihood,
             const Settings& settings, Rng& rng) {
  reweight(log_weights, log_likelihood);
  return resample_if_degenerate(particles, log_weights, settings, rng);
}

bool resample_if_degenerate(RowMatrix& particles, Eigen::VectorXd& log_weights, const Settings& settings, Rng& rng) {
  const Eigen::Index n = particles.rows();
  if (effective_size(log_weights) > settings.resample_below * static_cast<double>(n)) return false;

  const Eigen::VectorXd weights = log_weights.array().exp();
  const double bandwidth = std::pow(static_cast<double>(n), -1.0 / (static_cast<double>(particles.cols()) + 4));
  const RowMatrix root = settings.regularisation > 0
                             ? jitter_root(particles, weights, settings.regularisation * bandwidth)
                             : RowMatrix();
  const std::vector<Eigen::Index> index =
      systematic_resample(weights, std::uniform_real_distribution<double>(0, 1)(rng));
  RowMatrix resampled(n, particles.cols());
  for (Eigen::Index i = 0; i < n; ++i) resampled.row(i) = particles.row(index[static_cast<std::size_t>(i)]);

  // Only the copies of a particle drawn more than once are jittered: a
  // particle drawn once is already a distinct draw.
  if (settings.regularisation > 0) {
    std::vector<Eigen::Index> copies;
    for (Eigen::Index i = 0; i < n; ++i) {
      const auto k = index[static_cast<std::size_t>(i)];
      if ((i > 0 && index[static_cast<std::size_t>(i - 1)] == k) ||
          (i + 1 < n && index[static_cast<std::size_t>(i + 1)] == k))
        copies.push_back(i);
    }
    const RowMatrix jitter = gaussian_draws(root, static_cast<Eigen::Index>(copies.size()), rng);
    for (std::size_t c = 0; c < copies.size(); ++c) resampled.row(copies[c]) += jitter.row(static_cast<Eigen::Index>(c));
  }
  particles = std::move(resampled);
  log_weights.setConstant(-std::log(static_cast<double>(n)));
  return true;
}

}  // namespace assim::particle
