// Tests of the EnKF analysis core against the Kalman filter, of its pieces
// (taper, inflation, RTPS, rotation), and a Lorenz-96 twin experiment against
// DAPPER's published rmse.a.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "enkf.hpp"
#include "twin.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace assim::enkf;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

struct Gaussian {
  VectorXd mean;
  MatrixXd cov;
};

// The Kalman filter update of N(m, P) by y = H x + N(0, sigma^2 I):
//   K = P H^T (H P H^T + sigma^2 I)^-1, m_a = m + K (y - H m), P_a = (I - K H) P.
Gaussian kalman(const Gaussian& prior, const MatrixXd& H, const VectorXd& y, double sigma) {
  const MatrixXd S = H * prior.cov * H.transpose() + sigma * sigma * MatrixXd::Identity(H.rows(), H.rows());
  const MatrixXd K = S.ldlt().solve(H * prior.cov).transpose();
  const MatrixXd I = MatrixXd::Identity(prior.cov.rows(), prior.cov.cols());
  return {prior.mean + K * (y - H * prior.mean), (I - K * H) * prior.cov};
}

Gaussian moments(const RowMatrix& E) {
  const VectorXd mean = E.colwise().mean().transpose();
  const MatrixXd A = E.rowwise() - mean.transpose();
  return {mean, A.transpose() * A / static_cast<double>(E.rows() - 1)};
}

RowMatrix draw(const Gaussian& g, Eigen::Index members, Rng& rng) {
  std::normal_distribution<double> normal;
  const MatrixXd L = g.cov.llt().matrixL();
  RowMatrix E(members, g.mean.size());
  for (Eigen::Index i = 0; i < members; ++i) {
    VectorXd z(g.mean.size());
    for (auto& v : z) v = normal(rng);
    E.row(i) = (g.mean + L * z).transpose();
  }
  return E;
}

MatrixXd random_matrix(Eigen::Index rows, Eigen::Index cols, Rng& rng) {
  std::normal_distribution<double> normal;
  MatrixXd M(rows, cols);
  for (auto& v : M.reshaped()) v = normal(rng);
  return M;
}

// A linear Gaussian problem: a correlated prior over n entries, p = n - 1
// observations of pairwise sums, and their values drawn from the prior.
struct Problem {
  Gaussian prior;
  MatrixXd H;
  VectorXd y;
  double sigma = 0.7;
};

Problem linear_problem(Eigen::Index n, Rng& rng) {
  Problem p;
  const MatrixXd M = random_matrix(n, n, rng);
  p.prior = {random_matrix(n, 1, rng), M * M.transpose() / n + MatrixXd::Identity(n, n)};
  p.H = MatrixXd::Zero(n - 1, n);
  for (Eigen::Index k = 0; k + 1 < n; ++k) p.H(k, k) = p.H(k, k + 1) = 1;
  p.y = p.H * draw(p.prior, 1, rng).row(0).transpose() + p.sigma * random_matrix(n - 1, 1, rng);
  return p;
}

RowMatrix predicted(const RowMatrix& E, const MatrixXd& H) { return E * H.transpose(); }

double relative(const MatrixXd& a, const MatrixXd& b) { return (a - b).norm() / b.norm(); }

// One member's state of n entries per grid point of a 1-D grid, with
// observations at some of the points.
Localisation grid_1d(std::int64_t points, std::int64_t fields, const std::vector<std::int64_t>& observed,
                     double radius) {
  Localisation loc;
  loc.extent = {points};
  for (std::int64_t f = 0; f < fields; ++f)
    for (std::int64_t p = 0; p < points; ++p) loc.state_point.push_back(p);
  loc.observation_point = observed;
  loc.radius = radius;
  return loc;
}

// One observation y of the point (0, 0) of a side x side periodic grid with
// one state entry per point, analysed by the LETKF; `global(distance)` is
// the ETKF analysis with the error variance divided by the taper at that
// distance, which the LETKF must give every point at that distance.
struct OneObservation {
  OneObservation(std::int64_t side, std::int64_t batch, double radius_, double cutoff, double value,
                 std::uint64_t seed)
      : rng(seed), radius(radius_), y(VectorXd::Constant(1, value)) {
    const auto points = side * side;
    loc.extent = {side, side};
    for (std::int64_t j = 0; j < points; ++j) loc.state_point.push_back(j);
    loc.observation_point = {0};
    loc.radius = radius;
    loc.batch = batch;
    loc.taper_cutoff = cutoff;
    forecast = draw(Gaussian{VectorXd::Zero(points), MatrixXd::Identity(points, points)}, 6, rng);
    local = forecast;
    Settings settings;
    settings.method = Method::LETKF;
    analyse(local, forecast.col(0), y, sigma, settings, &loc, rng);
  }

  RowMatrix global(double distance) const {
    const double taper = gaspari_cohn(distance, 1.82 * radius);
    REQUIRE(taper >= loc.taper_cutoff);
    RowMatrix out = forecast;
    analyse(out, forecast.col(0), y, sigma / std::sqrt(taper), Settings{}, nullptr, rng);
    return out;
  }

  mutable Rng rng;
  double radius, sigma = 0.4;
  VectorXd y;
  Localisation loc;
  RowMatrix forecast, local;
};

}  // namespace

TEST_CASE("Gaspari-Cohn: 1 at 0, 5/24 at the half-width, 0 from twice the half-width on") {
  const double c = 1.82 * 4;
  CHECK(gaspari_cohn(0, c) == 1.0);
  CHECK(gaspari_cohn(c, c) == doctest::Approx(5.0 / 24).epsilon(1e-14));
  // The two branches meet at c.
  CHECK(gaspari_cohn(c * (1 - 1e-9), c) == doctest::Approx(gaspari_cohn(c * (1 + 1e-9), c)).epsilon(1e-8));
  CHECK(gaspari_cohn(2 * c, c) == doctest::Approx(0).scale(1).epsilon(1e-14));
  CHECK(gaspari_cohn(2 * c + 1e-9, c) == 0.0);
  CHECK(gaspari_cohn(-c, c) == gaspari_cohn(c, c));
  double previous = 1;
  for (double d = 0.01; d < 2 * c; d += 0.01) {
    const double v = gaspari_cohn(d, c);
    CHECK_MESSAGE((v < previous && v > -1e-15), "d = " << d);
    previous = v;
  }
}

TEST_CASE("ETKF: the analysis of a given ensemble is the Kalman filter's for its sample moments") {
  Rng rng(1);
  const Problem p = linear_problem(6, rng);
  for (Eigen::Index N : {4, 12}) {  // fewer and more members than state entries
    CAPTURE(N);
    RowMatrix E = draw(p.prior, N, rng);
    const Gaussian expected = kalman(moments(E), p.H, p.y, p.sigma);
    analyse(E, predicted(E, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
    const Gaussian got = moments(E);
    CHECK((got.mean - expected.mean).norm() < 1e-10);
    CHECK((got.cov - expected.cov).norm() < 1e-10);
  }
}

TEST_CASE("ETKF and PertObs converge to the Kalman filter as the ensemble grows") {
  // The analysis mean of both is the Kalman mean for the sample moments
  // (exactly, see below), so what remains is the sampling error of the prior
  // (and of the perturbations), of relative size ~ 1/sqrt(N): its RMS over 20
  // repetitions must shrink about 4-fold from N = 25 to N = 400. The analysis
  // works in ensemble space (N x N), so N stays moderate.
  Rng rng(3);
  const Problem p = linear_problem(4, rng);
  const Gaussian exact = kalman(p.prior, p.H, p.y, p.sigma);
  const double increment = (exact.mean - p.prior.mean).norm();
  const int repetitions = 20;
  for (Method method : {Method::ETKF, Method::PertObs}) {
    CAPTURE(static_cast<int>(method));
    std::vector<double> mean_error, cov_error;
    for (Eigen::Index N : {25, 400}) {
      double mean_sq = 0, cov_sq = 0;
      for (int r = 0; r < repetitions; ++r) {
        RowMatrix E = draw(p.prior, N, rng);
        const Gaussian sample_kf = kalman(moments(E), p.H, p.y, p.sigma);
        Settings settings;
        settings.method = method;
        analyse(E, predicted(E, p.H), p.y, p.sigma, settings, nullptr, rng);
        const Gaussian got = moments(E);
        // Centred perturbations make the PertObs mean the Kalman mean of the
        // sample moments exactly, as the ETKF's is.
        CHECK((got.mean - sample_kf.mean).norm() < 1e-10 * sample_kf.mean.norm());
        mean_sq += (got.mean - exact.mean).squaredNorm() / (increment * increment) / repetitions;
        cov_sq += std::pow(relative(got.cov, exact.cov), 2) / repetitions;
      }
      mean_error.push_back(std::sqrt(mean_sq));
      cov_error.push_back(std::sqrt(cov_sq));
      MESSAGE("N = " << N << ": RMS mean error / increment " << mean_error.back() << ", RMS covariance error "
                     << cov_error.back());
    }
    CHECK(mean_error[1] < 0.15);
    CHECK(cov_error[1] < 0.15);
    CHECK(mean_error[1] < 0.5 * mean_error[0]);
    CHECK(cov_error[1] < 0.5 * cov_error[0]);
  }
}

TEST_CASE("PertObs: the analysis covariance is the Kalman filter's within Monte-Carlo error") {
  // For a given prior ensemble the perturbed observations add noise of
  // relative size ~ sqrt(2 / N) to the covariance; averaged over 200 draws of
  // the perturbations it must agree with the sample Kalman covariance.
  Rng rng(4);
  const Problem p = linear_problem(4, rng);
  const RowMatrix prior = draw(p.prior, 50, rng);
  const Gaussian sample_kf = kalman(moments(prior), p.H, p.y, p.sigma);
  Settings settings;
  settings.method = Method::PertObs;
  MatrixXd mean_cov = MatrixXd::Zero(4, 4);
  const int draws = 200;
  for (int d = 0; d < draws; ++d) {
    RowMatrix E = prior;
    analyse(E, predicted(E, p.H), p.y, p.sigma, settings, nullptr, rng);
    mean_cov += moments(E).cov / draws;
  }
  CHECK(relative(mean_cov, sample_kf.cov) < 0.05);
}

TEST_CASE("LETKF with an infinite radius is the ETKF") {
  Rng rng(5);
  SUBCASE("1-D grid, two fields per point") {
    const Problem p = linear_problem(20, rng);
    std::vector<std::int64_t> observed;
    for (std::int64_t k = 0; k < 19; ++k) observed.push_back((3 * k) % 10);
    const Localisation loc = grid_1d(10, 2, observed, 1e9);
    RowMatrix etkf = draw(p.prior, 8, rng), letkf = etkf;
    analyse(etkf, predicted(etkf, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
    Settings settings;
    settings.method = Method::LETKF;
    analyse(letkf, predicted(letkf, p.H), p.y, p.sigma, settings, &loc, rng);
    CHECK((letkf - etkf).norm() < 1e-10 * etkf.norm());
  }
  SUBCASE("2-D grid 4 x 5, two layers, batches of 3 x 3 with partial batches at the edges") {
    const Problem p = linear_problem(40, rng);
    Localisation loc;
    loc.extent = {4, 5};
    for (std::int64_t j = 0; j < 40; ++j) loc.state_point.push_back(j % 20);
    for (std::int64_t k = 0; k < 39; ++k) loc.observation_point.push_back((7 * k) % 20);
    loc.radius = 1e9;
    loc.batch = 3;
    RowMatrix etkf = draw(p.prior, 10, rng), letkf = etkf;
    analyse(etkf, predicted(etkf, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
    Settings settings;
    settings.method = Method::LETKF;
    analyse(letkf, predicted(letkf, p.H), p.y, p.sigma, settings, &loc, rng);
    CHECK((letkf - etkf).norm() < 1e-10 * etkf.norm());
  }
}

TEST_CASE("LETKF: the taper divides the error variance of an observation, and distant points keep the forecast") {
  // One observation of field 0 at grid point 0 of a 40-point ring with two
  // fields. The batch {0, 1} lies at mean distance 0.5 from it, so it sees the
  // observation with taper t = GC(0.5, 1.82 r): its analysis is the ETKF's
  // with sigma / sqrt(t). Points 20 grid units away are beyond the support
  // 2 * 1.82 r.
  Rng rng(6);
  const double radius = 2, sigma = 0.5;
  const Localisation loc = grid_1d(40, 2, {0}, radius);
  Gaussian prior{VectorXd::Zero(80), MatrixXd::Identity(80, 80)};
  for (Eigen::Index j = 0; j + 1 < 80; ++j) prior.cov(j, j + 1) = prior.cov(j + 1, j) = 0.3;
  const RowMatrix forecast = draw(prior, 10, rng);
  const RowMatrix HX = forecast.col(0);
  const VectorXd y = VectorXd::Constant(1, 1.5);

  RowMatrix local = forecast;
  Settings settings;
  settings.method = Method::LETKF;
  analyse(local, HX, y, sigma, settings, &loc, rng);

  const double taper = gaspari_cohn(0.5, 1.82 * radius);
  RowMatrix global = forecast;
  analyse(global, HX, y, sigma / std::sqrt(taper), Settings{}, nullptr, rng);
  for (Eigen::Index j : {0, 1, 40, 41}) CHECK((local.col(j) - global.col(j)).norm() < 1e-12);
  for (Eigen::Index j = 10; j < 30; ++j) {
    CHECK(local.col(j) == forecast.col(j));
    CHECK(local.col(j + 40) == forecast.col(j + 40));
  }
  // The ring is periodic: point 39 (batch {38, 39}, 1.5 away) is updated.
  CHECK(local.col(39) != forecast.col(39));
}

TEST_CASE("LETKF on a 2-D periodic grid: an observation's taper is that of its mean distance to a batch") {
  // An 8 x 8 grid, batches of 2 x 2, one observation at (0, 0). The batch
  // {0, 1} x {0, 1} lies at mean distance (0 + 1 + 1 + sqrt 2) / 4 from it, the
  // batch {6, 7} x {6, 7} across both periodic edges at
  // (sqrt 8 + sqrt 5 + sqrt 5 + sqrt 2) / 4.
  const OneObservation case_(8, 2, 1.5, 1e-3, -1.0, 11);
  const auto check_batch = [&](double mean_distance, std::vector<Eigen::Index> entries) {
    const RowMatrix global = case_.global(mean_distance);
    for (auto j : entries) CHECK((case_.local.col(j) - global.col(j)).norm() < 1e-12);
  };
  check_batch((2 + std::sqrt(2.0)) / 4, {0, 1, 8, 9});
  check_batch((std::sqrt(8.0) + 2 * std::sqrt(5.0) + std::sqrt(2.0)) / 4, {54, 55, 62, 63});
  // The batch {4, 5} x {4, 5} is at least 3 * sqrt 2 > 2 * 1.82 * 1.5 away.
  for (Eigen::Index j : {36, 37, 44, 45}) CHECK(case_.local.col(j) == case_.forecast.col(j));
}

TEST_CASE("LETKF: an observation at the edge of the taper's support reaches the points on both sides of the wrap") {
  // A 16 x 16 ring, batches of single points, radius 1 (support 3.64), and a
  // cutoff low enough to keep the taper's tail. Points 3 rows or columns from
  // the observation, or at (3, 2) (distance 3.61), on either side of the
  // periodic edges, are inside the support; (4, 0) and (3, 3) (4.24) are not.
  const OneObservation case_(16, 1, 1, 1e-12, 2.0, 12);
  const auto at = [](std::int64_t row, std::int64_t column) { return static_cast<Eigen::Index>(row * 16 + column); };
  const auto check_point = [&](double distance, Eigen::Index j) {
    CHECK(case_.local.col(j) != case_.forecast.col(j));
    CHECK((case_.local.col(j) - case_.global(distance).col(j)).norm() < 1e-12);
  };
  for (Eigen::Index j : {at(3, 0), at(13, 0), at(0, 3), at(0, 13)}) check_point(3, j);
  for (Eigen::Index j : {at(3, 2), at(13, 14), at(14, 13)}) check_point(std::sqrt(13.0), j);
  for (Eigen::Index j : {at(4, 0), at(12, 0), at(0, 4), at(3, 3), at(13, 13)})
    CHECK(case_.local.col(j) == case_.forecast.col(j));
}

TEST_CASE("Inflation multiplies the posterior anomalies about the unchanged mean") {
  Rng rng(7);
  const Problem p = linear_problem(5, rng);
  const RowMatrix forecast = draw(p.prior, 9, rng);
  RowMatrix plain = forecast, inflated = forecast;
  Settings settings;
  analyse(plain, predicted(forecast, p.H), p.y, p.sigma, settings, nullptr, rng);
  settings.inflation = 1.1;
  analyse(inflated, predicted(forecast, p.H), p.y, p.sigma, settings, nullptr, rng);
  const Eigen::RowVectorXd mean = plain.colwise().mean();
  CHECK((inflated.colwise().mean() - mean).norm() < 1e-12);
  const RowMatrix expected = (1.1 * (plain.rowwise() - mean)).rowwise() + mean;
  CHECK((inflated - expected).norm() < 1e-12);
  // Without observations there is no analysis to inflate.
  RowMatrix unobserved = forecast;
  analyse(unobserved, RowMatrix(9, 0), VectorXd(0), p.sigma, settings, nullptr, rng);
  CHECK(unobserved == forecast);
}

TEST_CASE("Additive inflation adds N(0, sigma^2 I) to every member: the covariance grows by sigma^2 I") {
  Rng rng(31);
  const Gaussian prior{VectorXd::Constant(3, 2.0), MatrixXd::Identity(3, 3) * 0.5};
  const RowMatrix E = draw(prior, 40000, rng);
  RowMatrix perturbed = E;
  add_model_error(perturbed, 0.7, rng);
  const Gaussian before = moments(E), after = moments(perturbed), noise = moments(perturbed - E);
  // The noise alone: mean 0 (s.e. 0.0035) and covariance 0.49 I (s.e. of a
  // variance 0.49 sqrt(2 / N) = 0.0035).
  CHECK(noise.mean.cwiseAbs().maxCoeff() < 0.02);
  CHECK((noise.cov - 0.49 * MatrixXd::Identity(3, 3)).cwiseAbs().maxCoeff() < 0.02);
  CHECK((after.cov - before.cov - 0.49 * MatrixXd::Identity(3, 3)).cwiseAbs().maxCoeff() < 0.03);
  // Zero draws nothing: the ensemble and the generator are left as they were.
  Rng a(5), b(5);
  RowMatrix same = E.topRows(4);
  add_model_error(same, 0, a);
  CHECK(same == E.topRows(4));
  CHECK(a() == b());
  CHECK_THROWS_AS(add_model_error(same, -1, a), std::invalid_argument);
}

TEST_CASE("Additive inflation with a diagonal Q: each entry's variance grows by its own sigma_j^2") {
  Rng rng(32);
  const Gaussian prior{VectorXd::Zero(3), MatrixXd::Identity(3, 3)};
  const RowMatrix E = draw(prior, 40000, rng);
  RowMatrix perturbed = E;
  const Eigen::RowVector3d sigma(0.0, 0.5, 1.5);
  add_model_error(perturbed, sigma, rng);
  const Gaussian noise = moments(perturbed - E);
  // An entry with sigma 0 is left bit for bit; the others get variances 0.25
  // and 2.25 (s.e. 0.0018 and 0.016) and no correlation (s.e. 0.004).
  CHECK(perturbed.col(0) == E.col(0));
  CHECK(std::abs(noise.cov(1, 1) / 0.25 - 1) < 0.03);
  CHECK(std::abs(noise.cov(2, 2) / 2.25 - 1) < 0.03);
  CHECK(std::abs(noise.cov(1, 2)) < 0.02);
  CHECK_THROWS_AS(add_model_error(perturbed, Eigen::RowVector3d(0.1, -0.1, 0.1), rng), std::invalid_argument);
  CHECK_THROWS_AS(add_model_error(perturbed, Eigen::RowVector2d(0.1, 0.1), rng), std::invalid_argument);
}

TEST_CASE("Additive inflation from the climatology's anomalies: Q = scale x their covariance, correlations kept") {
  Rng rng(33);
  // A correlated climatology (correlation 0.8 between entries 0 and 1, 0 with 2).
  MatrixXd C(3, 3);
  C << 4.0, 1.6, 0.0, 1.6, 1.0, 0.0, 0.0, 0.0, 0.25;
  RowMatrix climate = draw({VectorXd::Constant(3, 10.0), C}, 500, rng);
  const RowMatrix anomalies = climate.rowwise() - climate.colwise().mean();
  const MatrixXd sample_cov = anomalies.transpose() * anomalies / 499.0;
  const RowMatrix E = draw({VectorXd::Zero(3), MatrixXd::Identity(3, 3)}, 40000, rng);
  RowMatrix perturbed = E;
  add_climatological_model_error(perturbed, anomalies, 0.09, rng);
  const Gaussian noise = moments(perturbed - E);
  // The noise's covariance is 0.09 times the climatology's sample covariance
  // (relative s.e. sqrt(2 / 40000) = 0.007 on the variances), and it carries
  // the climatology's sample correlation (about 0.8; s.e. of the noise's
  // 0.36 / sqrt(40000) = 0.002), which a diagonal Q would not.
  const auto correlation = [](const MatrixXd& c) { return c(0, 1) / std::sqrt(c(0, 0) * c(1, 1)); };
  for (Eigen::Index i = 0; i < 3; ++i) CHECK(std::abs(noise.cov(i, i) / (0.09 * sample_cov(i, i)) - 1) < 0.03);
  CHECK(correlation(sample_cov) > 0.75);
  CHECK(std::abs(correlation(noise.cov) - correlation(sample_cov)) < 0.01);
  CHECK(noise.mean.cwiseAbs().maxCoeff() < 0.01);
  // Scale 0 draws nothing: the ensemble and the generator are left as they were.
  Rng a(5), b(5);
  RowMatrix same = E.topRows(4);
  add_climatological_model_error(same, anomalies, 0, a);
  CHECK(same == E.topRows(4));
  CHECK(a() == b());
  CHECK_THROWS_AS(add_climatological_model_error(same, anomalies, -0.1, a), std::invalid_argument);
  CHECK_THROWS_AS(add_climatological_model_error(same, anomalies.leftCols(2), 0.1, a), std::invalid_argument);
}

TEST_CASE("RTPS relaxes the posterior spread towards the prior spread, entry by entry") {
  Rng rng(8);
  const Problem p = linear_problem(5, rng);
  const RowMatrix forecast = draw(p.prior, 9, rng);
  const Eigen::RowVectorXd prior_spread = spread(forecast);
  RowMatrix plain = forecast;
  analyse(plain, predicted(forecast, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
  const Eigen::RowVectorXd posterior_spread = spread(plain);
  for (double alpha : {0.0, 0.3, 1.0}) {
    CAPTURE(alpha);
    RowMatrix E = forecast;
    Settings settings;
    settings.rtps = alpha;
    analyse(E, predicted(forecast, p.H), p.y, p.sigma, settings, nullptr, rng);
    CHECK((E.colwise().mean() - plain.colwise().mean()).norm() < 1e-12);
    const Eigen::RowVectorXd expected = (1 - alpha) * posterior_spread + alpha * prior_spread;
    CHECK((spread(E) - expected).norm() < 1e-12);
  }
  // Inflation acts after the relaxation.
  RowMatrix E = forecast;
  Settings settings;
  settings.rtps = 1;
  settings.inflation = 1.2;
  analyse(E, predicted(forecast, p.H), p.y, p.sigma, settings, nullptr, rng);
  CHECK((spread(E) - 1.2 * prior_spread).norm() < 1e-12);
}

TEST_CASE("The random rotation fixes the ones vector and preserves mean and covariance") {
  Rng rng(9);
  for (Eigen::Index N : {2, 3, 10}) {
    CAPTURE(N);
    const MatrixXd Q = random_mean_preserving_rotation(N, rng);
    CHECK((Q.transpose() * Q - MatrixXd::Identity(N, N)).norm() < 1e-12);
    CHECK((Q * VectorXd::Ones(N) - VectorXd::Ones(N)).norm() < 1e-12);
    CHECK((Q.transpose() * VectorXd::Ones(N) - VectorXd::Ones(N)).norm() < 1e-12);
  }
  CHECK((random_mean_preserving_rotation(10, rng) - random_mean_preserving_rotation(10, rng)).norm() > 0.1);

  const Problem p = linear_problem(5, rng);
  const RowMatrix forecast = draw(p.prior, 10, rng);
  RowMatrix rotated = forecast;
  rotate_anomalies(rotated, rng);
  const Gaussian before = moments(forecast), after = moments(rotated);
  CHECK((after.mean - before.mean).norm() < 1e-12);
  CHECK((after.cov - before.cov).norm() < 1e-12);
  CHECK((rotated - forecast).norm() > 0.1 * forecast.norm());

  // In an analysis it changes the members, not the moments.
  RowMatrix plain = forecast, mixed = forecast;
  analyse(plain, predicted(forecast, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
  Settings settings;
  settings.rotate = true;
  analyse(mixed, predicted(forecast, p.H), p.y, p.sigma, settings, nullptr, rng);
  CHECK((moments(mixed).mean - moments(plain).mean).norm() < 1e-12);
  CHECK((moments(mixed).cov - moments(plain).cov).norm() < 1e-12);
}

// The EnKF-N written out in observation space, independently of the core's
// ensemble-space eigen-decomposition, for the tests below.
struct DualCost {
  MatrixXd Y;   // whitened anomalies, members x obs
  VectorXd dy;  // whitened innovation
  double xn = 1;

  double n1() const { return static_cast<double>(Y.rows() - 1); }
  // The prior's weight in the analysis, (N-1)/N tr((Y Y^T + (N-1) I)^-1).
  double prior_weight() const {
    const MatrixXd C = Y * Y.transpose() + n1() * MatrixXd::Identity(Y.rows(), Y.rows());
    return n1() / static_cast<double>(Y.rows()) * C.inverse().trace();
  }
  // Jeffreys' coefficients (N+1)/N and N/(N-1), their ratio's mode moved to
  // ((N+1)(N-1)/N^2)^(1 - weight), both scaled by xN.
  std::pair<double, double> coefficients() const {
    const double n = static_cast<double>(Y.rows());
    const double eN = (n + 1) / n, cL = n / n1();
    const double c = std::pow(eN / cL, prior_weight() / 2);
    return {xn * eN / c, xn * cL * c};
  }
  double operator()(double lambda) const {
    const Eigen::Index p = Y.cols();
    const MatrixXd S = MatrixXd::Identity(p, p) + lambda * lambda * Y.transpose() * Y / n1();
    const auto [eN, cL] = coefficients();
    return dy.dot(S.ldlt().solve(dy)) / n1() + eN / (lambda * lambda) + cL * std::log(lambda * lambda);
  }
  // The minimiser nearest 1 by a scan of a log grid and golden sections.
  double argmin() const {
    double best = 1, best_cost = (*this)(1);
    for (int k = -3000; k <= 3000; ++k) {
      const double lambda = std::exp(k * 1e-3);
      const double cost = (*this)(lambda);
      if (cost < best_cost) best = lambda, best_cost = cost;
    }
    double a = best * std::exp(-2e-3), b = best * std::exp(2e-3);
    const double r = (std::sqrt(5.0) - 1) / 2;
    for (int k = 0; k < 200; ++k) {
      const double c = b - r * (b - a), d = a + r * (b - a);
      ((*this)(c) < (*this)(d) ? b : a) = ((*this)(c) < (*this)(d) ? d : c);
    }
    return 0.5 * (a + b);
  }
};

TEST_CASE("EnKF-N: the inflation is the minimiser of the dual cost written in observation space") {
  Rng rng(21);
  struct Case {
    Eigen::Index members, observations;
    double xn, innovation_scale;
  };
  // Fewer and more observations than members, xN 1 and 2, innovations that
  // call for deflation (small) and for inflation (large).
  for (const Case c : {Case{6, 4, 1, 1}, Case{5, 12, 1, 3}, Case{8, 3, 2, 0.2}, Case{10, 40, 2, 2},
                       Case{3, 1, 1, 5}}) {
    CAPTURE(c.members);
    CAPTURE(c.observations);
    DualCost J;
    J.Y = random_matrix(c.members, c.observations, rng) * 0.7;
    J.Y.rowwise() -= J.Y.colwise().mean();  // anomalies are centred
    J.dy = random_matrix(c.observations, 1, rng) * c.innovation_scale;
    J.xn = c.xn;
    const double lambda = finite_size_inflation(J.Y, J.dy, c.xn);
    const double expected = J.argmin();
    MESSAGE("lambda = " << lambda << ", scanned minimiser " << expected);
    CHECK(lambda == doctest::Approx(expected).epsilon(1e-6));
    // A minimum, not just a stationary point.
    CHECK(J(lambda) <= J(lambda * 1.001));
    CHECK(J(lambda) <= J(lambda / 1.001));
  }
}

TEST_CASE("EnKF-N: with no innovation the inflation is the corrected hyperprior's mode, in closed form") {
  // dy = 0 leaves eN / lambda^2 + cL ln lambda^2, least at lambda^2 = eN / cL
  // = ((N+1)(N-1)/N^2)^(1 - w), w the prior's weight; whatever xN.
  Rng rng(22);
  for (const double xn : {1.0, 3.0}) {
    DualCost J;
    J.Y = random_matrix(7, 5, rng);
    J.Y.rowwise() -= J.Y.colwise().mean();
    J.dy = VectorXd::Zero(5);
    const double n = 7;
    const double mode = std::sqrt(std::pow((n + 1) * (n - 1) / (n * n), 1 - J.prior_weight()));
    CHECK(finite_size_inflation(J.Y, J.dy, xn) == doctest::Approx(mode).epsilon(1e-10));
    CHECK(mode < 1);
  }
  // Without information (Y = 0, the prior's weight 1) the mode is 1: no
  // inflation where nothing is learnt, the point of the mode correction.
  CHECK(finite_size_inflation(MatrixXd::Zero(5, 3), VectorXd::Ones(3), 1) == doctest::Approx(1).epsilon(1e-12));
}

TEST_CASE("EnKF-N: a sharper hyperprior (large xN) pins the inflation to its mode; the ETKF does the rest") {
  Rng rng(23);
  const Problem p = linear_problem(12, rng);
  RowMatrix E = draw(p.prior, 9, rng);
  const RowMatrix HX = predicted(E, p.H);
  const Eigen::RowVectorXd mean_hx = HX.colwise().mean();
  const MatrixXd Y = (HX.rowwise() - mean_hx) / p.sigma;
  const VectorXd dy = (p.y - mean_hx.transpose()) / p.sigma;
  DualCost J{Y, dy, 1};
  const double mode = std::sqrt(std::pow(10.0 * 8 / 81, 1 - J.prior_weight()));
  CHECK(finite_size_inflation(Y, dy, 1e9) == doctest::Approx(mode).epsilon(1e-6));
  // Jeffreys' hyperprior lets the innovation move it away from the mode.
  CHECK(std::abs(finite_size_inflation(Y, dy, 1) - mode) > 1e-3);

  // The analysis is the ETKF's of the prior whose anomalies are multiplied
  // by the inflation: the mean moves as with an inflated B as well.
  Settings enkf_n;
  enkf_n.finite_size = true;
  enkf_n.finite_size_xn = 2;
  const double lambda = finite_size_inflation(Y, dy, 2);
  RowMatrix by_hand = E;
  scale_anomalies(by_hand, lambda);
  RowMatrix analysed = E;
  analyse(analysed, HX, p.y, p.sigma, enkf_n, nullptr, rng);
  analyse(by_hand, predicted(by_hand, p.H), p.y, p.sigma, Settings{}, nullptr, rng);
  CHECK(relative(analysed, by_hand) < 1e-12);
  CHECK(relative(analysed, [&] {
          RowMatrix plain = E;
          analyse(plain, HX, p.y, p.sigma, Settings{}, nullptr, rng);
          return plain;
        }()) > 1e-6);

  // The LETKF with an infinite radius is one local analysis with all
  // observations: its EnKF-N is the global one.
  std::vector<std::int64_t> observed;
  for (std::int64_t k = 0; k < 11; ++k) observed.push_back(k);
  const Localisation loc = grid_1d(12, 1, observed, 1e9);
  Settings local = enkf_n;
  local.method = Method::LETKF;
  RowMatrix letkf = E;
  analyse(letkf, HX, p.y, p.sigma, local, &loc, rng);
  CHECK(relative(letkf, analysed) < 1e-10);
}

TEST_CASE("Inconsistent input is refused") {
  Rng rng(10);
  RowMatrix E = RowMatrix::Zero(1, 3), HX = RowMatrix::Zero(1, 2);
  const VectorXd y = VectorXd::Zero(2);
  CHECK_THROWS_WITH_AS(analyse(E, HX, y, 1, Settings{}, nullptr, rng),
                       "enkf: an ensemble needs at least 2 members, got 1", std::invalid_argument);
  E = RowMatrix::Zero(3, 3);
  HX = RowMatrix::Zero(3, 2);
  CHECK_THROWS_AS(analyse(E, HX, y, 0, Settings{}, nullptr, rng), std::invalid_argument);
  CHECK_THROWS_AS(analyse(E, HX, VectorXd::Zero(3), 1, Settings{}, nullptr, rng), std::invalid_argument);
  Settings letkf;
  letkf.method = Method::LETKF;
  CHECK_THROWS_AS(analyse(E, HX, y, 1, letkf, nullptr, rng), std::invalid_argument);
  const Localisation wrong = grid_1d(3, 2, {0, 1}, 1);  // 6 state points for 3 entries
  CHECK_THROWS_AS(analyse(E, HX, y, 1, letkf, &wrong, rng), std::invalid_argument);
  Settings enkf_n;
  enkf_n.finite_size = true;
  enkf_n.method = Method::PertObs;
  CHECK_THROWS_WITH_AS(analyse(E, HX, y, 1, enkf_n, nullptr, rng),
                       "enkf: the EnKF-N (finite_size) is a square-root filter: use method etkf or letkf",
                       std::invalid_argument);
  enkf_n.method = Method::ETKF;
  enkf_n.finite_size_xn = 0;
  CHECK_THROWS_AS(analyse(E, HX, y, 1, enkf_n, nullptr, rng), std::invalid_argument);
}

TEST_CASE("Lorenz-96 twin experiments reproduce Sakov & Oke (2008) at CI scale") {
  twin::Setup s = twin::lorenz96();
  s.cycles = 2400;
  s.divergence = 3;
  s.seed = 3000;
  struct Case {
    std::string name;
    Method method;
    int members;
    double inflation, low, high;
  };
  // DAPPER's long-run rmse.a: ETKF 0.18, PertObs 0.22, LETKF (r = 6) 0.20.
  const Localisation loc = grid_1d(40, 1, [] {
    std::vector<std::int64_t> all(40);
    for (int k = 0; k < 40; ++k) all[k] = k;
    return all;
  }(), 6);
  for (const Case& c : {Case{"ETKF", Method::ETKF, 40, 1.01, 0.15, 0.22},
                        Case{"PertObs", Method::PertObs, 40, 1.06, 0.18, 0.27},
                        Case{"LETKF", Method::LETKF, 10, 1.04, 0.16, 0.25}}) {
    CAPTURE(c.name);
    s.settings.method = c.method;
    s.settings.inflation = c.inflation;
    s.members = c.members;
    s.localisation = &loc;
    const twin::Result r = twin::run(s);
    MESSAGE(c.name << ": rmse.a = " << r.rmse << ", spread = " << r.spread);
    REQUIRE_FALSE(r.diverged);
    CHECK(r.rmse > c.low);
    CHECK(r.rmse < c.high);
    // A calibrated filter's spread is of the size of its error.
    CHECK(r.spread > 0.5 * r.rmse);
    CHECK(r.spread < 2 * r.rmse);
  }
}

TEST_CASE("Lorenz-96: the EnKF-N needs no tuned inflation where the ETKF without it is worse") {
  // DAPPER's sakov2008 comments: EnKF_N(N=24, rot=True) 0.21, xN=2 0.18.
  twin::Setup s = twin::lorenz96();
  s.cycles = 2400;
  s.divergence = 3;
  s.seed = 3001;
  s.members = 24;
  s.settings.rotate = true;
  s.settings.finite_size = true;
  const twin::Result n1 = twin::run(s);
  s.settings.finite_size_xn = 2;
  const twin::Result n2 = twin::run(s);
  s.settings.finite_size = false;
  const twin::Result plain = twin::run(s);
  MESSAGE("EnKF-N N=24: rmse.a = " << n1.rmse << " (spread " << n1.spread << "), xN=2: " << n2.rmse << " (spread "
                                   << n2.spread << "); ETKF without inflation: " << plain.rmse
                                   << std::string(plain.diverged ? " (diverged)" : ""));
  REQUIRE_FALSE(n1.diverged);
  REQUIRE_FALSE(n2.diverged);
  CHECK(n1.rmse > 0.17);
  CHECK(n1.rmse < 0.25);
  CHECK(n2.rmse > 0.15);
  CHECK(n2.rmse < 0.22);
  CHECK(n1.spread > 0.5 * n1.rmse);
  CHECK(n1.spread < 2 * n1.rmse);
  CHECK((plain.diverged || plain.rmse > n1.rmse + 0.02));
}

TEST_CASE("Lorenz-96: additive inflation alone keeps the ETKF without multiplicative inflation on track") {
  twin::Setup s = twin::lorenz96();
  s.cycles = 2400;
  s.divergence = 3;
  s.seed = 3002;
  s.members = 24;
  s.settings.rotate = true;
  const twin::Result plain = twin::run(s);
  // The model is perfect, so the noise only has to make up for sampling
  // error, and more costs accuracy (here 0.02: 0.210, 0.05: 0.257, 0.2:
  // 0.444). 0.05, not 0.02: at 0.02 some of 5 runs of 20,000 cycles lose
  // the truth for long spells (experiments/enkf/README.md).
  s.additive = 0.05;
  const twin::Result additive = twin::run(s);
  s.additive = 0.2;
  const twin::Result too_much = twin::run(s);
  MESSAGE("ETKF N=24 rot, no inflation: rmse.a " << plain.rmse << std::string(plain.diverged ? " (diverged)" : "")
                                                 << "; additive 0.05: " << additive.rmse << " (spread "
                                                 << additive.spread << "), 0.2: " << too_much.rmse);
  REQUIRE_FALSE(additive.diverged);
  CHECK((plain.diverged || plain.rmse > additive.rmse + 0.05));
  CHECK(additive.rmse < 0.30);
  CHECK(too_much.rmse > additive.rmse + 0.1);
  CHECK(additive.spread > 0.5 * additive.rmse);
  CHECK(additive.spread < 2 * additive.rmse);
}
