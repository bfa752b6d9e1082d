// A nonlinear toy with an exact posterior by quadrature: P independent
// points x ~ N(0, 0.5^2) observed through the papers' "hard" operator
// y = 1.5 sin(3 x) + N(0, 0.1^2). The posterior of each point is
// multi-modal (sin folds several x onto one y; mostly two modes here).
#include "toy.hpp"

#include "sda.hpp"
#include "soad.hpp"

#include <ATen/ATen.h>

#include <doctest/doctest.h>

namespace {

constexpr double kSigmaO = 0.1, kPriorStd = 0.5;
constexpr std::int64_t kCases = 4;

// x_true = (0.3, -0.8, 1.2, 0.05) and fixed noise: two to four modes each,
// repeated `copies` times along x. The Langevin step is normalised by
// mean(eps^2) over the window: with only 4 entries that mean can be tiny
// by chance and the step huge, hence the copies.
assim::AssimilationProblem sine_problem(std::shared_ptr<const assim::ObservationOperator> h, std::int64_t copies) {
  assim::AssimilationProblem p;
  p.state.variable = "x";
  p.state.dims = {{"channel", 1, "", 0.0}, {"y", 1, "1", 1.0}, {"x", kCases * copies, "1", 1.0}};
  const at::Tensor truth = at::tensor({0.3, -0.8, 1.2, 0.05}, toy::f64);
  const at::Tensor noise = at::tensor({0.05, -0.12, 0.08, 0.02}, toy::f64);
  p.observations = (h->apply(truth) + noise).repeat({copies}).reshape({1, 1, 1, kCases * copies});
  p.mask = at::ones_like(p.observations);
  p.observation_sigma = kSigmaO;
  p.observation_operator = std::move(h);
  return p;
}

struct Gap {
  double mean = 0, std = 0;
};

std::string text(const at::Tensor& v) {
  std::string out;
  for (std::int64_t i = 0; i < v.numel(); ++i) out += (i ? " " : "") + std::to_string(v[i].item<double>()).substr(0, 6);
  return out;
}

// Largest |mean - exact mean| and |std - exact std| over the four cases,
// pooling the copies of each case.
Gap gap(const at::Tensor& x, const toy::Moments& exact, const std::string& who) {
  const toy::Moments got = toy::moments(x.reshape({-1, kCases}));
  MESSAGE(who << ": mean " << text(got.mean) << ", std " << text(got.variance.sqrt()) << "; exact: mean "
              << text(exact.mean) << ", std " << text(exact.variance.sqrt()));
  return {(got.mean - exact.mean).abs().max().item<double>(),
          (got.variance.sqrt() - exact.variance.sqrt()).abs().max().item<double>()};
}

}  // namespace

TEST_CASE("SOAD on 1.5 sin(3x) with an augmented quadrature prior matches the quadrature posterior") {
  const auto h = toy::sine();
  // Nodes 0.01 apart: the prior the sampler sees and the posterior it is
  // compared with are on the same nodes, so the reference is exact for it.
  const at::Tensor nodes = at::linspace(-3, 3, 601, toy::f64);
  assim::AssimilationProblem p = sine_problem(h, 8);
  p.prior = std::make_shared<toy::SineCurvePrior>(h, nodes, kPriorStd);
  const toy::Moments exact =
      toy::quadrature_posterior(*h, nodes, p.observations.reshape({-1}).narrow(0, 0, kCases), kSigmaO, kPriorStd);
  assim::soad::Options options;
  options.steps = 64;
  options.batch = 128;
  const at::Tensor x = assim::soad::AugmentedSampler(options).sample(p, 128, 3);
  REQUIRE(x.sizes().vec() == std::vector<std::int64_t>{128, 1, 1, 1, 8 * kCases});
  REQUIRE(at::isfinite(x).all().item<bool>());
  const Gap g = gap(x, exact, "SOAD");
  MESSAGE("SOAD (K = 64, N_c = 5, 128 members x 8 copies) vs quadrature: max |mean err| " << g.mean << ", max |std err| " << g.std);
  // Measured 0.008 and 0.046 (seed 3): the std excess is the Langevin
  // step's bias (see test_gaussian.cpp); Monte-Carlo error is ~0.02.
  CHECK(g.mean < 0.05);
  CHECK(g.std < 0.08);

  // Algorithm 1's caching: one pi for the N_c moves, each with fresh noise,
  // is one Langevin step of N_c delta (drift N_c delta eps, noise variance
  // 2 N_c delta): at tau = 0.25 that is tau 1.25, and the posterior spreads.
  options.guidance = assim::score::Guidance::kAlgorithm1;
  const Gap cached = gap(assim::soad::AugmentedSampler(options).sample(p, 128, 3), exact, "SOAD, Algorithm 1's cache");
  MESSAGE("SOAD with Algorithm 1's cached pi: max |mean err| " << cached.mean << ", max |std err| " << cached.std);
  // Measured 0.13 and 0.32 (seed 3).
  CHECK(cached.std > 2 * g.std);
}

TEST_CASE("SDA on 1.5 sin(3x) with the Gaussian prior vs the quadrature posterior") {
  const auto h = toy::sine();
  const at::Tensor nodes = at::linspace(-6, 6, 12001, toy::f64);
  assim::AssimilationProblem p = sine_problem(h, 64);
  p.prior = toy::gaussian({1, 1, 1, 64 * kCases}, 0.0, kPriorStd * kPriorStd);
  const toy::Moments exact =
      toy::quadrature_posterior(*h, nodes, p.observations.reshape({-1}).narrow(0, 0, kCases), kSigmaO, kPriorStd);
  // gamma 0.1 and 256 steps: with gamma = 0.01 and K = 64 the likelihood of
  // sin(3 x0_hat) is so sharp at mid t that predictor steps throw members
  // onto far lobes of the sine (std ~ 14).
  assim::sda::Options options;
  options.steps = 256;
  options.gamma = 0.1;
  options.batch = 256;
  const at::Tensor x = assim::sda::ScoreBasedSampler(options).sample(p, 256, 3);
  REQUIRE(at::isfinite(x).all().item<bool>());
  const Gap g = gap(x, exact, "SDA");
  MESSAGE("SDA (K = 256, C = 1, gamma = 0.1, 256 members x 64 copies) vs quadrature: max |mean err| " << g.mean
                                                                                     << ", max |std err| " << g.std);
  // Measured: means within 0.05, but every member settles in one mode per
  // point (std 0.03 to 0.19 against 0.32 to 0.44): the Gaussian likelihood
  // approximation cannot split a member between modes. The mean is checked;
  // the spread only for that known collapse, so a change is noticed.
  CHECK(g.mean < 0.1);
  const toy::Moments got = toy::moments(x.reshape({-1, kCases}));
  CHECK((got.variance < exact.variance).all().item<bool>());
}
