// A nonlinear toy with an exact posterior by quadrature (toy::nonlinear in
// known_posteriors.hpp): points observed through 1.5 sin(3 x), each with a
// multi-modal posterior; SOAD, with an augmented quadrature prior, against it.
#include "known_posteriors.hpp"

#include "soad.hpp"

#include <ATen/ATen.h>

#include <doctest/doctest.h>

using namespace toy::nonlinear;

TEST_CASE("SOAD on 1.5 sin(3x) with an augmented quadrature prior matches the quadrature posterior") {
  const auto h = toy::sine();
  // Nodes 0.01 apart: the prior the sampler sees and the posterior it is
  // compared with are on the same nodes, so the reference is exact for it.
  const at::Tensor nodes = at::linspace(-3, 3, 601, toy::f64);
  assim::AssimilationProblem p = sine_problem(h, 8);
  p.set_prior(std::make_shared<toy::SineCurvePrior>(h, nodes, kPriorStd));
  const toy::Moments exact =
      toy::quadrature_posterior(*h, nodes, p.observations().reshape({-1}).narrow(0, 0, kCases), kSigmaO, kPriorStd);
  assim::soad::Options options;
  options.steps = 64;
  options.batch = 128;
  const at::Tensor x = assim::soad::AugmentedSampler(options).sample(p, 128, 3);
  REQUIRE(x.sizes().vec() == std::vector<std::int64_t>{128, 1, 1, 1, 8 * kCases});
  REQUIRE(at::isfinite(x).all().item<bool>());
  const Gap g = gap(x, exact, "SOAD");
  MESSAGE(g.report);
  MESSAGE("SOAD (K = 64, N_c = 5, 128 members x 8 copies) vs quadrature: max |mean err| " << g.mean << ", max |std err| " << g.std);
  // Measured 0.008 and 0.046 (seed 3): the std excess is the Langevin
  // step's bias (see test_soad_gaussian.cpp); Monte-Carlo error is ~0.02.
  CHECK(g.mean < 0.05);
  CHECK(g.std < 0.08);
  // The certificate's distance: W1 to the quadrature posterior per point.
  const at::Tensor w1 = wasserstein1(x, *h, nodes, p.observations().reshape({-1}).narrow(0, 0, kCases));
  MESSAGE("SOAD vs quadrature: W1 per point " << text(w1));
  assim::testing::print_row("SOAD (K = 64, N_c = 5, tau = 0.25)", "1.5 sin(3x), quadrature prior over (x, h)", w1);

  // Algorithm 1's caching: one pi for the N_c moves, each with fresh noise,
  // is one Langevin step of N_c delta (drift N_c delta eps, noise variance
  // 2 N_c delta): at tau = 0.25 that is tau 1.25, and the posterior spreads.
  options.guidance = assim::score::Guidance::kAlgorithm1;
  const Gap cached = gap(assim::soad::AugmentedSampler(options).sample(p, 128, 3), exact, "SOAD, Algorithm 1's cache");
  MESSAGE(cached.report);
  MESSAGE("SOAD with Algorithm 1's cached pi: max |mean err| " << cached.mean << ", max |std err| " << cached.std);
  // Measured 0.13 and 0.32 (seed 3).
  CHECK(cached.std > 2 * g.std);
}
