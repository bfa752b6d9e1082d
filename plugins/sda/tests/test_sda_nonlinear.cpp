// A nonlinear toy with an exact posterior by quadrature (toy::nonlinear in
// known_posteriors.hpp): points observed through 1.5 sin(3 x), each with a
// multi-modal posterior; SDA's Gaussian likelihood approximation against it.
#include "known_posteriors.hpp"

#include "sda.hpp"

#include <ATen/ATen.h>

#include <doctest/doctest.h>

using namespace toy::nonlinear;

TEST_CASE("SDA on 1.5 sin(3x) with the Gaussian prior vs the quadrature posterior") {
  const auto h = toy::sine();
  const at::Tensor nodes = at::linspace(-6, 6, 12001, toy::f64);
  assim::AssimilationProblem p = sine_problem(h, 64);
  p.set_prior(toy::gaussian({1, 1, 1, 64 * kCases}, 0.0, kPriorStd * kPriorStd));
  const toy::Moments exact =
      toy::quadrature_posterior(*h, nodes, p.observations().reshape({-1}).narrow(0, 0, kCases), kSigmaO, kPriorStd);
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
  MESSAGE(g.report);
  MESSAGE("SDA (K = 256, C = 1, gamma = 0.1, 256 members x 64 copies) vs quadrature: max |mean err| " << g.mean
                                                                                     << ", max |std err| " << g.std);
  // Measured: means within 0.05, but every member settles in one mode per
  // point (std 0.03 to 0.19 against 0.32 to 0.44): the Gaussian likelihood
  // approximation cannot split a member between modes. The mean is checked;
  // the spread only for that known collapse, so a change is noticed.
  CHECK(g.mean < 0.1);
  const toy::Moments got = toy::moments(x.reshape({-1, kCases}));
  CHECK((got.variance < exact.variance).all().item<bool>());
  // The certificate's distance: W1 to the quadrature posterior per point.
  const at::Tensor w1 = wasserstein1(x, *h, nodes, p.observations().reshape({-1}).narrow(0, 0, kCases));
  MESSAGE("SDA vs quadrature: W1 per point " << toy::nonlinear::text(w1));
  assim::testing::print_row("SDA (K = 256, C = 1, gamma = 0.1)", "1.5 sin(3x), exact prior", w1);
}
