// The posterior certificate of sampler.sda (AssimSDK::testing's
// certificate.hpp) with the analytic Gaussian prior, whose score is exact:
// what remains is SDA's own approximation, the Gaussian likelihood of
// y given x_t through x0_hat with the variance sigma_o^2 + gamma r_t^2, and
// the Langevin step's bias.
#include "known_posteriors.hpp"

#include "sda.hpp"

#include <ATen/ATen.h>

#include <doctest/doctest.h>

#include <string>

using namespace assim::testing;

TEST_CASE("certificate: SDA on the linear-Gaussian example with its exact prior") {
  const LinearGaussian linear = example_problem();
  const std::int64_t replications = certificate_size(400, 4000), members = 99;
  const Replications draws = draw_replications(linear, replications, 7);
  auto p = toy::certificate::problem(linear, draws.observations, linear.sigma_o);
  p.set_prior(toy::certificate::per_point(linear.covariance, replications));
  const GaussianPosterior exact = exact_posterior(linear, draws.observations);
  struct Run {
    Calibration calibration;
    Distance distance;
  };
  auto certify = [&](const assim::sda::Options& options, const std::string& name) {
    const at::Tensor samples =
        toy::certificate::from_grid(assim::sda::ScoreBasedSampler(options).sample(p, members, 5));
    Run run{calibrate(draws.truth, samples, 10), distance(samples, exact)};
    MESSAGE(name << ": " << run.calibration.text() << "; " << run.distance.text());
    print_row(name, "linear-Gaussian example", run.calibration, run.distance);
    return run;
  };
  assim::sda::Options options;  // K = 64, C = 1, tau = 0.5, gamma = 0.01
  options.batch = members;
  const Run run = certify(options, "SDA (K = 64, C = 1, tau = 0.5, gamma = 0.01)");
  options.corrections = 0;
  const Run flow = certify(options, "SDA (K = 64, C = 0, gamma = 0.01)");
  // SDA guides with N(y; H x0_hat, sigma_o^2 + gamma r_t^2): a scalar
  // stand-in for H Cov[x0 | x_t] H^T, which here is neither scalar nor
  // diagonal (P correlates the entries H mixes). Predictor steps alone then
  // miss the posterior even with an exact prior: measured (400 replications)
  // SBC rejected (p 3e-15), RMS mean error 0.50 posterior std, std ratio
  // 0.73..0.90, covariance error 0.47. The Langevin move after each step,
  // driven by the same approximate score, pulls much of it back: uniform at
  // 400 replications (p 0.025), 0.13, 1.03..1.11, 0.22. The defaults are held
  // within those bounds; the predictor alone is checked to stay rejected,
  // so that a change of either is seen.
  CHECK(run.distance.mean_error < 0.2);
  CHECK(run.distance.std_ratio_min > 0.9);
  CHECK(run.distance.std_ratio_max < 1.25);
  CHECK(run.distance.correlation_error < 0.4);
  CHECK_FALSE(flow.calibration.uniform());
  CHECK(flow.distance.mean_error > 0.3);
}
