// What sampler.sda accepts and refuses, divergence, seeds, batching, dtypes,
// network calls, the background block.
#include "sampler_checks.hpp"

#include "sda.hpp"

#include <assim/error.hpp>
#include <assim/testing/config.hpp>

#include <ATen/ATen.h>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using namespace toy::checks;

namespace {

const auto quick_sda = quick<assim::sda::Options>;

}  // namespace

TEST_CASE("sampler.sda declares its parameters once and reads them from YAML") {
  CHECK(names_of(assim::sda::ScoreBasedSampler::parameters()) ==
        std::vector<std::string>{"steps", "corrections", "tau", "gamma", "channel_gamma", "background",
                                 "background_gamma", "likelihood_gradient", "clip", "guidance", "batch"});

  const assim::sda::ScoreBasedSampler sda(
      assim::config_from_yaml("{steps: 16, gamma: 0.1}", assim::sda::ScoreBasedSampler::parameters()));
  CHECK(sda.options().steps == 16);
  CHECK(sda.options().gamma == doctest::Approx(0.1));
  CHECK(sda.options().corrections == 1);
  CHECK(sda.options().gradient == assim::sda::Options::Gradient::kFull);
  CHECK_FALSE(sda.options().clip);
  CHECK(sda.options().use_background);
  CHECK(sda.options().guidance == assim::score::Guidance::kFresh);
  // The SOAD reference code's SDA baseline, as it runs.
  const assim::sda::ScoreBasedSampler sda_baseline(assim::config_from_yaml(
      "{likelihood_gradient: denoiser, clip: true, guidance: stale, background: ignore, channel_gamma: [0.1, 1]}",
      assim::sda::ScoreBasedSampler::parameters()));
  CHECK(sda_baseline.options().gradient == assim::sda::Options::Gradient::kDenoiser);
  CHECK(sda_baseline.options().clip);
  CHECK(sda_baseline.options().guidance == assim::score::Guidance::kStale);
  CHECK_FALSE(sda_baseline.options().use_background);
  CHECK(sda_baseline.options().channel_gamma == std::vector<double>{0.1, 1});
  CHECK_THROWS_AS(assim::config_from_yaml("{likelihood_gradient: identity}", assim::sda::ScoreBasedSampler::parameters()),
                  assim::ConfigError);
  CHECK_THROWS_AS(assim::config_from_yaml("{tau: 0}", assim::sda::ScoreBasedSampler::parameters()),
                  assim::ConfigError);
}

TEST_CASE("SDA refuses a prior augmented with an observation operator") {
  // SOAD's prior is over z = (x, H(x)); the SDA sampler, conversely, needs a
  // prior over the state alone.
  CHECK(contains(error_of([&] { assim::sda::ScoreBasedSampler(quick_sda()).sample(for_soad(), 4, 1); }),
                 "sampler.sda: the prior is augmented"));
}

TEST_CASE("malformed problems are refused with the sampler's name") {
  const assim::sda::ScoreBasedSampler sda(quick_sda());
  auto p = for_sda();
  p.set_mask(p.mask().narrow(0, 0, 1));
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "sampler.sda: the mask must have the observations' shape"));
  p = for_sda();
  p.set_observation_sigma(0);
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "standard deviation must be positive"));
  p = for_sda();
  p.observations()[0][0][0][0] = NAN;  // observed (mask 1)
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "an observed entry (mask != 0) is not finite"));
  p = for_sda();
  p.set_background(at::zeros({2, 3}, toy::f64));
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "the background must have the state's shape"));
}

TEST_CASE("SDA: a denoiser gone NaN throws DivergenceError naming the diffusion step") {
  // 8 steps on 1, 0.875, ..., 0: step 5 runs t = 0.5 -> 0.375, and its
  // corrections evaluate the denoiser at 0.375 < 0.5.
  auto p = for_sda();
  p.set_prior(std::make_shared<BrokenPrior>(p.prior(), nullptr));
  long step = -1;
  try {
    assim::sda::ScoreBasedSampler(quick_sda()).sample(p, 4, 1);
  } catch (const assim::DivergenceError& e) {
    step = e.step();
    CHECK(contains(e.what(), "sampler.sda: the samples stopped being finite in diffusion step 5"));
  }
  CHECK(step == 5);
}

TEST_CASE("SDA: seeds reproduce, differ from one another, and batching does not change the samples") {
  const SeedRuns a = seed_runs<assim::sda::ScoreBasedSampler>(for_sda(), quick_sda());
  CHECK(at::equal(a.first, a.again));
  CHECK_FALSE(at::allclose(a.first, a.other_seed));
  CHECK(at::allclose(a.first, a.batched, 1e-10, 1e-12));
}

TEST_CASE("SDA: float32 problems give finite float32 samples of the state's shape") {
  const at::Tensor x = assim::sda::ScoreBasedSampler(quick_sda()).sample(for_sda(at::kFloat), 5, 2);
  CHECK((x.scalar_type() == at::kFloat));
  CHECK(x.sizes().vec() == std::vector<std::int64_t>{5, 2, 1, 2, 3});
  CHECK(at::isfinite(x).all().item<bool>());
}

TEST_CASE("SDA's network calls per window: K (1 + N_c) fresh, 2K as Algorithm 1, K + 1 stale") {
  for (const CallCase& c : call_cases()) {
    CAPTURE(static_cast<int>(c.guidance));
    CAPTURE(c.moves);
    auto s = quick_sda();
    s.guidance = c.guidance;
    s.corrections = c.moves;
    CHECK(counted(for_sda(), assim::sda::ScoreBasedSampler(s)).second == c.calls);
  }
}

TEST_CASE("SDA: the background is a block with its own gamma, and can be ignored") {
  auto p = for_sda();
  p.set_background(at::full({1, 2, 3}, 2.0, toy::f64));  // far from the prior mean 0 and from y
  p.set_background_sigma(0.05);
  auto o = quick_sda();
  o.steps = 32;
  auto frame0 = [&](const assim::sda::Options& options) {
    return assim::sda::ScoreBasedSampler(options).sample(p, 64, 3).select(1, 0).mean().item<double>();
  };
  const double used = frame0(o);
  o.use_background = false;
  const double ignored = frame0(o);
  MESSAGE("frame 0's mean with the background at 2: used " << used << ", ignored " << ignored);
  // The background pulls frame 0 towards 2 (every other entry is also
  // observed, near -1 .. 0); ignored, nothing does.
  CHECK(used > ignored + 0.5);
  // A large background gamma mutes the block.
  o.use_background = true;
  o.background_gamma = 1e4;
  CHECK(std::abs(frame0(o) - ignored) < std::abs(used - ignored) / 4);
  // channel_gamma must match the observations' channels.
  o.channel_gamma = {0.1, 1};
  CHECK(contains(error_of([&] { assim::sda::ScoreBasedSampler(o).sample(p, 2, 3); }),
                 "channel_gamma has 2 entries"));
}
