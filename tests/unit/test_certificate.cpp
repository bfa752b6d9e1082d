// The posterior certificate (AssimSDK::testing's certificate.hpp) against
// samplers whose answer is known: exact posterior draws pass it, too narrow
// ones do not, the prior's pass SBC but not the distances, and its exact
// posterior and W1 agree with closed forms.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <assim/error.hpp>
#include <assim/testing/certificate.hpp>

#include <doctest/doctest.h>

using namespace assim::testing;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

// M draws per replication from N(mean_r, covariance).
at::Tensor draws(const at::Tensor& mean, const at::Tensor& covariance, std::int64_t members, std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor root = at::linalg_cholesky(covariance);
  return mean + at::randn({members, mean.size(0), mean.size(1)}, generator, f64).matmul(root.t());
}

}  // namespace

TEST_CASE("the certificate passes exact posterior draws, rejects too narrow ones, and tells the prior by its distance") {
  const LinearGaussian problem = example_problem();
  const Replications r = draw_replications(problem, 1000, 1);
  const GaussianPosterior exact = exact_posterior(problem, r.observations);
  // The exact posterior in the information form: (P^-1 + H^T H / sigma_o^2)^-1.
  const at::Tensor covariance =
      at::inverse(at::inverse(problem.covariance) + problem.H.t().matmul(problem.H) / (problem.sigma_o * problem.sigma_o));
  CHECK(at::allclose(exact.covariance, covariance, 1e-10, 1e-12));
  CHECK(at::allclose(exact.mean, r.observations.matmul(problem.H).matmul(covariance) / (problem.sigma_o * problem.sigma_o),
                     1e-10, 1e-12));

  const at::Tensor good = draws(exact.mean, exact.covariance, 99, 2);
  const Calibration pass = calibrate(r.truth, good, 10);
  const Distance near = distance(good, exact);
  MESSAGE(pass.text() << "; " << near.text());
  CHECK(pass.uniform());
  CHECK(near.mean_error == doctest::Approx(0.1).epsilon(0.1));  // 1 / sqrt(99)
  CHECK(near.std_ratio_min > 0.97);
  CHECK(near.std_ratio_max < 1.03);

  // Too narrow by 20 %: the truth falls outside the members too often (a U).
  const Calibration narrow = calibrate(r.truth, draws(exact.mean, 0.64 * exact.covariance, 99, 3), 10);
  MESSAGE(narrow.text());
  CHECK_FALSE(narrow.uniform());

  // SBC's blind spot (Talts et al. 2018, section 4): draws of the prior that
  // ignore y are calibrated too, over replications whose truth is a prior
  // draw. The distances are what catch them: hence both in the certificate.
  const at::Tensor blind = draws(problem.mean.expand({1000, 4}), problem.covariance, 99, 4);
  CHECK(calibrate(r.truth, blind, 10).uniform());
  const Distance far = distance(blind, exact);
  MESSAGE("the prior: " << far.text());
  CHECK(far.std_ratio_max > 1.3);
  CHECK(far.mean_error > 0.5);

  CHECK_THROWS_AS(calibrate(r.truth, good, 7), assim::Error);  // 100 ranks do not fill 7 bins evenly
}

TEST_CASE("W1 between samples and a discrete law is the area between their CDFs") {
  // Half the mass at -1 and at 1 against every sample at 0: |F| = 1/2 over a length of 2.
  const at::Tensor nodes = at::tensor({-1.0, 1.0}, f64), weights = at::tensor({0.5, 0.5}, f64);
  CHECK(wasserstein1(at::zeros({10}, f64), nodes, weights) == doctest::Approx(1.0));
  // Samples on the nodes in the law's proportions: 0.
  CHECK(wasserstein1(at::tensor({-1.0, 1.0, -1.0, 1.0}, f64), nodes, weights) == doctest::Approx(0.0).epsilon(1e-12));
  // A shift by d moves every unit of mass by d.
  CHECK(wasserstein1(at::tensor({-0.75, 1.25}, f64), nodes, weights) == doctest::Approx(0.25));
}
