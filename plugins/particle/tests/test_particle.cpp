// Tests of the particle filter's analysis core: log-weights, the effective
// sample size, systematic resampling, the NER trigger, regularisation, and
// the weighted posterior of a linear-Gaussian case against the Kalman filter.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "particle.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

using namespace assim::particle;

TEST_CASE("settings that cannot work are refused, naming the setting") {
  CHECK_NOTHROW(check({0.2, 1.2}, 3000));
  CHECK_NOTHROW(check({1.0, 0.0}, 2));
  CHECK_THROWS_WITH_AS(check({0.0, 1.0}, 10), doctest::Contains("resample_below"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(check({1.5, 1.0}, 10), doctest::Contains("resample_below"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(check({0.5, -0.1}, 10), doctest::Contains("regularisation"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(check({0.5, 1.0}, 1), doctest::Contains("particles"), std::invalid_argument);
}

TEST_CASE("log-weights: normalised without underflow, effective size from N down to 1") {
  // Log-likelihoods of -1e4 would underflow exp() to 0 for every particle;
  // their differences are what count.
  Eigen::VectorXd log_weights(3);
  log_weights << -1e4, -1e4 - std::log(2.0), -1e4 - std::log(4.0);
  normalise(log_weights);
  CHECK(log_weights.array().exp().sum() == doctest::Approx(1).epsilon(1e-12));
  CHECK(std::exp(log_weights(0)) == doctest::Approx(4.0 / 7).epsilon(1e-12));
  Eigen::VectorXd equal = Eigen::VectorXd::Zero(5);
  normalise(equal);
  CHECK(effective_size(equal) == doctest::Approx(5).epsilon(1e-12));
  Eigen::VectorXd one(3);
  one << 0, -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity();
  normalise(one);
  CHECK(effective_size(one) == doctest::Approx(1).epsilon(1e-12));
}

TEST_CASE("a filter whose every weight is zero says so") {
  const double minus_infinity = -std::numeric_limits<double>::infinity();
  RowMatrix particles = RowMatrix::Random(4, 2);
  Eigen::VectorXd log_weights = Eigen::VectorXd::Constant(4, -std::log(4.0));
  Rng rng(1);
  CHECK_THROWS_AS(analyse(particles, log_weights, Eigen::VectorXd::Constant(4, minus_infinity), {0.5, 1.0}, rng),
                  Degenerate);
}

TEST_CASE("systematic resampling draws particle i floor(N w_i) or ceil(N w_i) times, sorted") {
  Eigen::VectorXd weights(5);
  weights << 0.05, 0.4, 0.0, 0.33, 0.22;
  for (const double u : {0.0, 0.3, 0.999}) {
    CAPTURE(u);
    const auto index = systematic_resample(weights, u);
    REQUIRE(index.size() == 5);
    CHECK(std::is_sorted(index.begin(), index.end()));
    for (Eigen::Index i = 0; i < 5; ++i) {
      const auto count = std::count(index.begin(), index.end(), i);
      CHECK(count >= std::floor(5 * weights(i)));
      CHECK(count <= std::ceil(5 * weights(i)));
    }
  }
  // u = 0 puts the first point on the boundary of a leading zero weight.
  {
    Eigen::VectorXd leading_zero(3);
    leading_zero << 0.0, 0.5, 0.5;
    const auto index = systematic_resample(leading_zero, 0.0);
    CHECK(std::count(index.begin(), index.end(), 0) == 0);
  }
}

TEST_CASE("resampling happens when N_eff <= NER N, and regularisation jitters only the duplicates") {
  Rng rng(2);
  RowMatrix particles(4, 1);
  particles << 0, 1, 2, 3;
  // Weights 0.4, 0.3, 0.2, 0.1: N_eff = 1 / 0.3 = 3.33 of 4.
  Eigen::VectorXd log_likelihood(4);
  log_likelihood << std::log(0.4), std::log(0.3), std::log(0.2), std::log(0.1);
  Eigen::VectorXd log_weights = Eigen::VectorXd::Constant(4, -std::log(4.0));
  RowMatrix kept = particles;
  CHECK_FALSE(analyse(kept, log_weights, log_likelihood, {0.8, 1.0}, rng));
  CHECK(kept == particles);
  CHECK(std::exp(log_weights(0)) == doctest::Approx(0.4).epsilon(1e-12));

  // Weights 0.7, 0.1, 0.1, 0.1 (N_eff 1.9): particle 0 (N w = 2.8) is drawn
  // 2 or 3 times and every copy jittered; the others (N w = 0.4) at most
  // once each, and kept as they were.
  Eigen::VectorXd heavy(4);
  heavy << std::log(0.7), std::log(0.1), std::log(0.1), std::log(0.1);
  for (int trial = 0; trial < 20; ++trial) {
    log_weights.setConstant(-std::log(4.0));
    RowMatrix resampled = particles;
    CHECK(analyse(resampled, log_weights, heavy, {0.9, 1.0}, rng));
    CHECK(effective_size(log_weights) == doctest::Approx(4).epsilon(1e-12));
    CHECK((resampled.array() == particles(0, 0)).count() == 0);
    const auto kept_as_drawn = (resampled.array() == particles(1, 0)).count() +
                               (resampled.array() == particles(2, 0)).count() +
                               (resampled.array() == particles(3, 0)).count();
    CHECK(kept_as_drawn >= 1);
    CHECK(kept_as_drawn <= 2);
  }
  // Without regularisation the copies stay copies.
  log_weights.setConstant(-std::log(4.0));
  RowMatrix copies = particles;
  CHECK(analyse(copies, log_weights, log_likelihood, {1.0, 0.0}, rng));
  for (Eigen::Index i = 0; i < 4; ++i) CHECK((particles.array() == copies(i, 0)).count() == 1);
}

TEST_CASE("linear-Gaussian: the weighted posterior is the Kalman posterior to Monte-Carlo error") {
  // x ~ N(m, P) in 2-D, y = H x + N(0, r^2) of the first coordinate only.
  // The Kalman posterior: K = P H^T / (H P H^T + r^2).
  const Eigen::Index n = 200000;
  const Eigen::Vector2d m(1.0, -0.5);
  Eigen::Matrix2d root;
  root << 1.0, 0.0, 0.6, 0.8;  // P = root root^T: variances 1 and 1, covariance 0.6
  const double r = 0.7, y = 2.0;
  Rng rng(3);
  std::normal_distribution<double> normal;
  RowMatrix particles(n, 2);
  for (Eigen::Index i = 0; i < n; ++i)
    particles.row(i) = (m + root * Eigen::Vector2d(normal(rng), normal(rng))).transpose();
  Eigen::VectorXd log_likelihood = -0.5 * ((y - particles.col(0).array()) / r).square().matrix();
  Eigen::VectorXd log_weights = Eigen::VectorXd::Constant(n, -std::log(static_cast<double>(n)));
  // NER small: the weights are kept, and compared as weights.
  REQUIRE_FALSE(analyse(particles, log_weights, log_likelihood, {0.01, 0.0}, rng));
  const Eigen::VectorXd w = log_weights.array().exp();
  const Eigen::Vector2d mean = particles.transpose() * w;
  const RowMatrix anomalies = particles.rowwise() - mean.transpose();
  const Eigen::Matrix2d covariance = anomalies.transpose() * w.asDiagonal() * anomalies;

  const Eigen::Matrix2d P = root * root.transpose();
  const Eigen::Vector2d gain = P.col(0) / (P(0, 0) + r * r);
  const Eigen::Vector2d kalman_mean = m + gain * (y - m(0));
  const Eigen::Matrix2d kalman_covariance = P - gain * P.row(0);
  // Monte-Carlo error of a weighted mean: sqrt(var / N_eff), N_eff about
  // N / 1.5 here; 5 of them, so that a correct filter passes and a filter
  // off by a tenth of a posterior std does not.
  const double neff = effective_size(log_weights);
  CHECK(neff > n / 3.0);
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    const double mc = std::sqrt(kalman_covariance(k, k) / neff);
    CHECK(std::abs(mean(k) - kalman_mean(k)) < 5 * mc);
    // The variance's error: sqrt(2 / N_eff) relative for a Gaussian.
    CHECK(std::abs(covariance(k, k) / kalman_covariance(k, k) - 1) < 5 * std::sqrt(2 / neff));
  }
  // Resampled with regularisation, the equally weighted ensemble keeps the
  // mean, and its variance grows by at most the jitter's (reg h)^2 share.
  RowMatrix resampled = particles;
  REQUIRE(analyse(resampled, log_weights, Eigen::VectorXd::Zero(n), {1.0, 1.0}, rng));
  const Eigen::Vector2d resampled_mean = resampled.colwise().mean();
  const double h2 = std::pow(static_cast<double>(n), -2.0 / 6);
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(std::abs(resampled_mean(k) - kalman_mean(k)) < 5 * std::sqrt(kalman_covariance(k, k) / neff));
    const double variance = (resampled.col(k).array() - resampled_mean(k)).square().mean();
    CHECK(variance / kalman_covariance(k, k) > 1 - 5 * std::sqrt(2 / neff));
    CHECK(variance / kalman_covariance(k, k) < 1 + h2 + 5 * std::sqrt(2 / neff));
  }
}
