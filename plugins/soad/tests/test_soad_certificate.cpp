// The posterior certificate of sampler.soad (AssimSDK::testing's
// certificate.hpp) with the analytic Gaussian prior over z = (x, H x):
// exact under Theorem 3.1 (a scalar prior covariance over z), and on the
// linear-Gaussian example, whose prior couples x and H x as SOAD assumes.
#include "known_posteriors.hpp"

#include "soad.hpp"

#include <ATen/ATen.h>

#include <doctest/doctest.h>

#include <cmath>

using namespace assim::testing;

namespace {

constexpr std::int64_t kMembers = 99, kBins = 10;

}  // namespace

TEST_CASE("certificate: SOAD under Theorem 3.1 (a scalar Gaussian prior over z) draws the exact posterior") {
  // z = (x, h) over 4 + 2 channels, z ~ N(0, I), y = h + N(0, 0.5^2): the
  // posterior of z is the Kalman one of the H channels (x keeps its prior).
  // Probability-flow steps only, as in test_soad_gaussian.cpp's Theorem 3.1
  // test: what remains is the integrator's time step.
  const LinearGaussian h_of_x = example_problem();
  LinearGaussian linear;
  linear.mean = at::zeros({6}, at::kDouble);
  linear.covariance = at::eye(6, at::kDouble);
  linear.H = at::cat({at::zeros({2, 4}, at::kDouble), at::eye(2, at::kDouble)}, 1);
  linear.sigma_o = h_of_x.sigma_o;
  const std::int64_t replications = certificate_size(400, 4000);
  const Replications draws = draw_replications(linear, replications, 11);
  auto p = toy::certificate::problem(h_of_x, draws.observations, linear.sigma_o);
  p.set_prior(std::make_shared<toy::AugmentedGaussian>(toy::gaussian({1, 6, 1, replications}, 0.0, 1.0),
                                                       p.observation_operator()));
  assim::soad::Options options;
  options.corrections = 0;
  options.observation_corrector = options.background_corrector = false;
  options.stabiliser = assim::soad::Stabiliser::kNone;
  options.batch = kMembers;
  const at::Tensor z =
      toy::certificate::from_grid(assim::soad::AugmentedSampler(options).sample_augmented(p, kMembers, 5));
  const Calibration calibration = calibrate(draws.truth, z, kBins);
  const Distance d = distance(z, exact_posterior(linear, draws.observations));
  MESSAGE("SOAD, Theorem 3.1: " << calibration.text() << "; " << d.text());
  print_row("SOAD (K = 256, N_c = 0, no corrector)", "Theorem 3.1: z ~ N(0, I)", calibration, d);
  CHECK(calibration.uniform());
  CHECK(d.std_ratio_min > 0.9);
  CHECK(d.std_ratio_max < 1.1);
  // Told R four times too small (sigma 0.25 for 0.5): h is pulled too close
  // to y, its members too narrow, and the certificate must say so.
  p.set_observation_sigma(linear.sigma_o / 2);
  const at::Tensor wrong =
      toy::certificate::from_grid(assim::soad::AugmentedSampler(options).sample_augmented(p, kMembers, 5));
  const Calibration rejected = calibrate(draws.truth, wrong, kBins);
  print_row("SOAD (K = 256, N_c = 0, no corrector), told R / 4", "Theorem 3.1: z ~ N(0, I)", rejected,
            distance(wrong, exact_posterior(linear, draws.observations)));
  CHECK_FALSE(rejected.uniform());
}

TEST_CASE("certificate: SOAD on the linear-Gaussian example, its prior coupling x and H x") {
  // z = (x, H x + e) ~ N(0, [[P, P H^T], [H P, H P H^T + e^2 I]]), e = 0.1
  // (a little noise on h keeps the covariance regular); y = h + N(0, sigma_o^2),
  // so x's exact posterior is the example's with sigma_o^2 + e^2.
  constexpr double kE = 0.1;
  LinearGaussian linear = example_problem();
  const double told_sigma = linear.sigma_o;
  linear.sigma_o = std::sqrt(told_sigma * told_sigma + kE * kE);
  const at::Tensor& P = linear.covariance;
  const at::Tensor& H = linear.H;
  const at::Tensor joint = at::cat({at::cat({P, P.matmul(H.t())}, 1),
                                    at::cat({H.matmul(P), H.matmul(P).matmul(H.t()) + kE * kE * at::eye(2, at::kDouble)}, 1)},
                                   0);
  const std::int64_t replications = certificate_size(400, 4000);
  const Replications draws = draw_replications(linear, replications, 13);
  auto p = toy::certificate::problem(linear, draws.observations, told_sigma);
  p.set_prior(std::make_shared<toy::AugmentedGaussian>(toy::certificate::per_point(joint, replications),
                                                       p.observation_operator()));
  assim::soad::Options options;  // 5 fresh moves, tau 0.25, the forward corrector
  options.steps = 64;
  options.stabiliser = assim::soad::Stabiliser::kNone;
  options.batch = kMembers;
  const at::Tensor x = toy::certificate::from_grid(assim::soad::AugmentedSampler(options).sample(p, kMembers, 7));
  const Calibration calibration = calibrate(draws.truth, x, kBins);
  const Distance d = distance(x, exact_posterior(linear, draws.observations));
  MESSAGE("SOAD, coupled prior: " << calibration.text() << "; " << d.text());
  print_row("SOAD (K = 64, N_c = 5, tau = 0.25)", "linear-Gaussian example, prior over (x, Hx)", calibration, d);
  // c_t is exact for a scalar prior covariance only (Theorem 3.1); the
  // Langevin moves, each with a fresh pi, carry the samples the rest of the
  // way (as in test_soad_gaussian.cpp's coupled test). Measured: uniform
  // (p 0.10), RMS mean error 0.099 posterior std (1 / sqrt(99) = 0.10 is the
  // Monte-Carlo error of exact draws), std ratio 1.00..1.01.
  CHECK(calibration.uniform());
  CHECK(d.std_ratio_min > 0.9);
  CHECK(d.std_ratio_max < 1.1);
}
