// What sampler.soad accepts and refuses, divergence, seeds, batching,
// dtypes and modes, network calls, the forward corrector, the stabilisers.
#include "sampler_checks.hpp"

#include "soad.hpp"

#include <assim/error.hpp>
#include <assim/testing/config.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

using namespace toy::checks;

namespace {

const auto quick_soad = quick<assim::soad::Options>;

}  // namespace

TEST_CASE("sampler.soad declares its parameters once and reads them from YAML") {
  CHECK(names_of(assim::soad::AugmentedSampler::parameters()) ==
        std::vector<std::string>{"steps", "corrections", "tau", "sigma_z", "guidance", "stabiliser",
                                 "stabiliser_gamma", "stabiliser_quantile", "observation_corrector",
                                 "background_corrector", "background_guidance", "batch"});

  const assim::soad::AugmentedSampler soad(assim::config_from_yaml(
      "{guidance: stale, observation_corrector: false, background_guidance: true, stabiliser: quantile_cap}",
      assim::soad::AugmentedSampler::parameters()));
  CHECK(soad.options().steps == 256);
  CHECK(soad.options().corrections == 5);
  CHECK(soad.options().tau == doctest::Approx(0.25));
  CHECK(soad.options().guidance == assim::score::Guidance::kStale);
  CHECK_FALSE(soad.options().observation_corrector);
  CHECK(soad.options().background_corrector);
  CHECK(soad.options().background_guidance);
  CHECK(soad.options().stabiliser == assim::soad::Stabiliser::kQuantileCap);
  CHECK(assim::soad::Options{}.guidance == assim::score::Guidance::kFresh);
  CHECK_THROWS_AS(assim::config_from_yaml("{steps: 0}", assim::soad::AugmentedSampler::parameters()),
                  assim::ConfigError);
}

TEST_CASE("SOAD refuses a prior that is not augmented, and an operator other than the prior's") {
  const assim::soad::AugmentedSampler soad(quick_soad());
  CHECK(contains(error_of([&] { soad.sample(for_sda(), 4, 1); }), "sampler.soad: the prior is over the state alone"));
  auto p = for_soad();
  p.set_observation_operator(toy::sine());
  CHECK(contains(error_of([&] { soad.sample(p, 4, 1); }), "differs from the one the prior is augmented with"));
}

TEST_CASE("SOAD: a denoiser gone NaN throws DivergenceError naming the diffusion step") {
  // 8 steps on 1, 0.875, ..., 0: step 5 runs t = 0.5 -> 0.375, and its
  // corrections evaluate the denoiser at 0.375 < 0.5.
  auto q = for_soad();
  q.set_prior(std::make_shared<BrokenPrior>(q.prior(), q.observation_operator()));
  long step = -1;
  try {
    assim::soad::AugmentedSampler(quick_soad()).sample(q, 4, 1);
  } catch (const assim::DivergenceError& e) {
    step = e.step();
  }
  CHECK(step == 5);
}

TEST_CASE("SOAD: seeds reproduce, differ from one another, and batching does not change the samples") {
  const SeedRuns b = seed_runs<assim::soad::AugmentedSampler>(for_soad(), quick_soad());
  CHECK(at::equal(b.first, b.again));
  CHECK_FALSE(at::allclose(b.first, b.other_seed));
  CHECK(at::allclose(b.first, b.batched, 1e-10, 1e-12));
}

TEST_CASE("SOAD: float32 problems give finite float32 samples of the state's shape in every mode") {
  using assim::score::Guidance;
  using assim::soad::Stabiliser;
  for (Guidance guidance : {Guidance::kFresh, Guidance::kAlgorithm1, Guidance::kStale})
    for (Stabiliser stabiliser : {Stabiliser::kNone, Stabiliser::kClip, Stabiliser::kGammaFloor, Stabiliser::kMuCap,
                                  Stabiliser::kQuantileCap}) {
      CAPTURE(static_cast<int>(guidance));
      CAPTURE(static_cast<int>(stabiliser));
      auto o = quick_soad();
      o.guidance = guidance;
      o.stabiliser = stabiliser;
      o.observation_corrector = o.background_corrector = stabiliser != Stabiliser::kNone;
      const at::Tensor z = assim::soad::AugmentedSampler(o).sample(for_soad(at::kFloat), 5, 2);
      CHECK((z.scalar_type() == at::kFloat));
      CHECK(z.sizes().vec() == std::vector<std::int64_t>{5, 2, 1, 2, 3});
      CHECK(at::isfinite(z).all().item<bool>());
    }
}

TEST_CASE("SOAD's network calls per window: K (1 + N_c) fresh, 2K as Algorithm 1, K + 1 stale; all equal without moves") {
  std::vector<at::Tensor> without_moves;
  for (const CallCase& c : call_cases()) {
    CAPTURE(static_cast<int>(c.guidance));
    CAPTURE(c.moves);
    auto o = quick_soad();
    o.guidance = c.guidance;
    o.corrections = c.moves;
    const auto [z, soad_calls] = counted(for_soad(), assim::soad::AugmentedSampler(o));
    CHECK(soad_calls == c.calls);
    if (c.moves == 0) without_moves.push_back(z);
  }
  // Without moves the three schedules evaluate pi at the same points.
  CHECK(at::equal(without_moves[0], without_moves[1]));
  CHECK(at::equal(without_moves[0], without_moves[2]));
}

TEST_CASE("the forward corrector's law: mean mu y, variance sigma^2 - mu^2 sigma_o^2") {
  const assim::CosineSchedule schedule;
  const double sigma_o = 0.1, t = 0.3, mu = schedule.mu(t), sigma = schedule.sigma(t), r = schedule.ratio(t);
  REQUIRE(r > sigma_o);
  const at::Tensor y = at::full({200000}, 0.7, toy::f64);
  const at::Tensor normal = at::randn({200000}, at::make_generator<at::CPUGeneratorImpl>(3), toy::f64);
  const at::Tensor drawn = assim::soad::forward_diffused(y, sigma_o, mu, r, normal);
  // Standard errors at 2e5 draws: 0.0023 sigma on the mean, 0.3 % on the variance.
  CHECK(drawn.mean().item<double>() == doctest::Approx(mu * 0.7).epsilon(0.01));
  CHECK(drawn.var().item<double>() == doctest::Approx(sigma * sigma - mu * mu * sigma_o * sigma_o).epsilon(0.015));
}

TEST_CASE("each stabiliser's bound") {
  // The gamma floor caps c_t at 1 / (2 gamma) at every noise level and is
  // Theorem 3.1's c_t where the data's variance dominates (small r).
  const double gamma = 0.05, sigma_o = 0.1;
  for (double r : {1e-3, 0.01, 0.1, 1.0, 10.0, 1e3, 1e6}) {
    CAPTURE(r);
    const double floored = assim::soad::guidance_weight(r, sigma_o, 1.0, gamma);
    const double exact = assim::soad::guidance_weight(r, sigma_o, 1.0, 0.0);
    CHECK(floored <= 1 / (2 * gamma) * (1 + 1e-12));
    CHECK(floored <= exact);
    if (r <= 0.01) CHECK(floored == doctest::Approx(exact).epsilon(0.01));
  }
  CHECK(assim::soad::guidance_weight(1e6, sigma_o, 1.0, gamma) == doctest::Approx(1 / (2 * gamma)).epsilon(1e-3));

  // A cap scales each member to its own limit and leaves those below it.
  at::Tensor step = at::randn({3, 2, 50}, at::make_generator<at::CPUGeneratorImpl>(5), toy::f64);
  step[1] *= 1e-3;                // below the limit
  step[2][0][0] = 1e4;            // one outlier
  const at::Tensor largest = step.abs().flatten(1).amax(1);
  const at::Tensor clipped = assim::score::cap_per_member(step, largest, 0.5);
  CHECK(clipped.abs().flatten(1).amax(1).le(0.5 + 1e-12).all().item<bool>());
  CHECK(at::equal(clipped[1], step[1]));
  CHECK(at::allclose(clipped, assim::score::clip_per_member(2 * step) / 2));
  // The quantile cap: the outlier no longer sets the step of the other 99 entries.
  const at::Tensor q = at::quantile(step.abs().flatten(1), 0.9, 1);
  const at::Tensor capped = assim::score::cap_per_member(step, q, 1.0);
  CHECK(at::quantile(capped.abs().flatten(1), 0.9, 1).le(1 + 1e-12).all().item<bool>());
  CHECK(capped[2][0][1].abs().item<double>() > 1e3 * clipped[2][0][1].abs().item<double>() * 0.5 / 1.0 - 1e-9);
}

TEST_CASE("SOAD's trace says where the stabiliser binds: the clip in early steps, never without one") {
  auto o = quick_soad();
  o.corrections = 0;
  // Data far from the prior, seen sharply: a large guidance step.
  auto p = for_soad();
  p.set_observations(p.observations() * 5);
  p.set_observation_sigma(0.01);
  assim::soad::StabiliserTrace trace;
  assim::soad::AugmentedSampler(o).sample_augmented(p, 4, 1, &trace);
  REQUIRE(trace.factor.size() == 8);
  CHECK(*std::min_element(trace.factor.begin(), trace.factor.end()) < 0.99);
  for (std::size_t i = 0; i < trace.factor.size(); ++i) CHECK(trace.factor[i] <= 1 + 1e-12);
  o.stabiliser = assim::soad::Stabiliser::kNone;
  assim::soad::StabiliserTrace none;
  assim::soad::AugmentedSampler(o).sample_augmented(p, 4, 1, &none);
  for (double f : none.factor) CHECK(f == doctest::Approx(1.0));
  // The first evaluation sees the same z_1 with and without a stabiliser.
  CHECK(none.largest_step.front() == doctest::Approx(trace.largest_step.front()));
}
