// What the samplers accept and refuse, divergence, seeds, batching, dtypes.
#include "toy.hpp"

#include "sda.hpp"
#include "soad.hpp"

#include <assim/error.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace {

// Two frames of a (1, 2, 3) state, every other entry observed.
assim::AssimilationProblem small_problem(at::ScalarType dtype) {
  assim::AssimilationProblem p;
  p.state.variable = "x";
  p.state.dims = {{"channel", 1, "", 0.0}, {"y", 2, "1", 1.0}, {"x", 3, "1", 1.0}};
  p.observation_operator = toy::identity();
  p.observations = at::linspace(-1, 1, 12, toy::f64).reshape({2, 1, 2, 3}).to(dtype);
  p.mask = (at::arange(12).remainder(2) == 0).reshape({2, 1, 2, 3}).to(dtype);
  p.observation_sigma = 0.1;
  p.background = at::zeros({1, 2, 3}, dtype);
  p.background_sigma = 0.2;
  return p;
}

assim::AssimilationProblem for_sda(at::ScalarType dtype = at::kDouble) {
  auto p = small_problem(dtype);
  p.prior = toy::gaussian({2, 1, 2, 3}, 0.0, 1.0);
  return p;
}

assim::AssimilationProblem for_soad(at::ScalarType dtype = at::kDouble) {
  auto p = small_problem(dtype);
  p.prior = std::make_shared<toy::AugmentedGaussian>(toy::gaussian({2, 2, 2, 3}, 0.0, 1.0), p.observation_operator);
  return p;
}

// A denoiser that breaks down below t = 0.5: NaN from there on.
class BrokenPrior : public assim::Prior {
 public:
  BrokenPrior(std::shared_ptr<const assim::Prior> inner, std::shared_ptr<const assim::ObservationOperator> h)
      : inner_(std::move(inner)), h_(std::move(h)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    const at::Tensor eps = inner_->denoise(z_t, t);
    return t.max().item<double>() < 0.5 ? eps * NAN : eps;
  }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return h_; }

 private:
  std::shared_ptr<const assim::Prior> inner_;
  std::shared_ptr<const assim::ObservationOperator> h_;
};

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const assim::Error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

assim::sda::Options quick_sda() {
  assim::sda::Options o;
  o.steps = 8;
  return o;
}

assim::soad::Options quick_soad() {
  assim::soad::Options o;
  o.steps = 8;
  return o;
}

}  // namespace

TEST_CASE("both samplers declare their parameters once and read them from YAML") {
  std::vector<std::string> names;
  const assim::Parameters sda_parameters = assim::sda::ScoreBasedSampler::parameters();
  for (const auto& p : sda_parameters.list()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"steps", "corrections", "tau", "gamma", "channel_gamma", "background",
                                          "background_gamma", "likelihood_gradient", "clip", "guidance", "batch"});
  names.clear();
  const assim::Parameters soad_parameters = assim::soad::AugmentedSampler::parameters();
  for (const auto& p : soad_parameters.list()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"steps", "corrections", "tau", "sigma_z", "guidance", "stabiliser",
                                          "stabiliser_gamma", "stabiliser_quantile", "observation_corrector",
                                          "background_corrector", "background_guidance", "batch"});

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
  CHECK_THROWS_AS(assim::config_from_yaml("{tau: 0}", assim::sda::ScoreBasedSampler::parameters()),
                  assim::ConfigError);
}

TEST_CASE("SOAD refuses a prior that is not augmented, and an operator other than the prior's") {
  const assim::soad::AugmentedSampler soad(quick_soad());
  CHECK(contains(error_of([&] { soad.sample(for_sda(), 4, 1); }), "sampler.soad: the prior is over the state alone"));
  auto p = for_soad();
  p.observation_operator = toy::sine();
  CHECK(contains(error_of([&] { soad.sample(p, 4, 1); }), "differs from the one the prior is augmented with"));
  // The SDA sampler, conversely, needs a prior over the state alone.
  CHECK(contains(error_of([&] { assim::sda::ScoreBasedSampler(quick_sda()).sample(for_soad(), 4, 1); }),
                 "sampler.sda: the prior is augmented"));
}

TEST_CASE("malformed problems are refused with the sampler's name") {
  const assim::sda::ScoreBasedSampler sda(quick_sda());
  auto p = for_sda();
  p.mask = p.mask.narrow(0, 0, 1);
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "sampler.sda: the mask must have the observations' shape"));
  p = for_sda();
  p.observation_sigma = 0;
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "standard deviation must be positive"));
  p = for_sda();
  p.observations[0][0][0][0] = NAN;  // observed (mask 1)
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "an observed entry (mask != 0) is not finite"));
  p = for_sda();
  p.background = at::zeros({2, 3}, toy::f64);
  CHECK(contains(error_of([&] { sda.sample(p, 4, 1); }), "the background must have the state's shape"));
}

TEST_CASE("a denoiser gone NaN throws DivergenceError naming the diffusion step") {
  // 8 steps on 1, 0.875, ..., 0: step 5 runs t = 0.5 -> 0.375, and its
  // corrections evaluate the denoiser at 0.375 < 0.5.
  auto p = for_sda();
  p.prior = std::make_shared<BrokenPrior>(p.prior, nullptr);
  long step = -1;
  try {
    assim::sda::ScoreBasedSampler(quick_sda()).sample(p, 4, 1);
  } catch (const assim::DivergenceError& e) {
    step = e.step();
    CHECK(contains(e.what(), "sampler.sda: the samples stopped being finite in diffusion step 5"));
  }
  CHECK(step == 5);
  auto q = for_soad();
  q.prior = std::make_shared<BrokenPrior>(q.prior, q.observation_operator);
  step = -1;
  try {
    assim::soad::AugmentedSampler(quick_soad()).sample(q, 4, 1);
  } catch (const assim::DivergenceError& e) {
    step = e.step();
  }
  CHECK(step == 5);
}

TEST_CASE("seeds reproduce, differ from one another, and batching does not change the samples") {
  const auto p = for_sda();
  auto o = quick_sda();
  const at::Tensor a = assim::sda::ScoreBasedSampler(o).sample(p, 7, 11);
  CHECK(at::equal(a, assim::sda::ScoreBasedSampler(o).sample(p, 7, 11)));
  CHECK_FALSE(at::allclose(a, assim::sda::ScoreBasedSampler(o).sample(p, 7, 12)));
  o.batch = 3;
  CHECK(at::allclose(a, assim::sda::ScoreBasedSampler(o).sample(p, 7, 11), 1e-10, 1e-12));

  const auto q = for_soad();
  auto s = quick_soad();
  const at::Tensor b = assim::soad::AugmentedSampler(s).sample(q, 7, 11);
  CHECK(at::equal(b, assim::soad::AugmentedSampler(s).sample(q, 7, 11)));
  CHECK_FALSE(at::allclose(b, assim::soad::AugmentedSampler(s).sample(q, 7, 12)));
  s.batch = 3;
  CHECK(at::allclose(b, assim::soad::AugmentedSampler(s).sample(q, 7, 11), 1e-10, 1e-12));
}

TEST_CASE("float32 problems give finite float32 samples of the state's shape; every SOAD mode runs") {
  const at::Tensor x = assim::sda::ScoreBasedSampler(quick_sda()).sample(for_sda(at::kFloat), 5, 2);
  CHECK((x.scalar_type() == at::kFloat));
  CHECK(x.sizes().vec() == std::vector<std::int64_t>{5, 2, 1, 2, 3});
  CHECK(at::isfinite(x).all().item<bool>());
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

namespace {

// Counts the denoiser calls (one per chunk of members) of the prior it wraps.
class CountingPrior : public assim::Prior {
 public:
  explicit CountingPrior(std::shared_ptr<const assim::Prior> inner) : inner_(std::move(inner)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    ++calls;
    return inner_->denoise(z_t, t);
  }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return inner_->augmentation(); }
  mutable long calls = 0;

 private:
  std::shared_ptr<const assim::Prior> inner_;
};

}  // namespace

TEST_CASE("network calls per window: K (1 + N_c) fresh, 2K as Algorithm 1, K + 1 stale; all equal without moves") {
  using assim::score::Guidance;
  constexpr int kSteps = 8, kMoves = 3;
  struct Case {
    Guidance guidance;
    int moves;
    long calls;
  };
  const std::vector<Case> cases = {{Guidance::kFresh, kMoves, kSteps * (1 + kMoves)},
                                   {Guidance::kAlgorithm1, kMoves, 2 * kSteps},
                                   {Guidance::kStale, kMoves, kSteps + 1},
                                   {Guidance::kFresh, 0, kSteps},
                                   {Guidance::kAlgorithm1, 0, kSteps},
                                   {Guidance::kStale, 0, kSteps}};
  // The samples, and the denoiser calls it took to draw them.
  auto counted = [](assim::AssimilationProblem problem, const auto& sampler) {
    auto prior = std::make_shared<CountingPrior>(problem.prior);
    problem.prior = prior;
    const at::Tensor samples = sampler.sample(problem, 3, 4);
    return std::make_pair(samples, prior->calls);
  };
  std::vector<at::Tensor> without_moves;
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.guidance));
    CAPTURE(c.moves);
    auto o = quick_soad();
    o.guidance = c.guidance;
    o.corrections = c.moves;
    const auto [z, soad_calls] = counted(for_soad(), assim::soad::AugmentedSampler(o));
    CHECK(soad_calls == c.calls);
    auto s = quick_sda();
    s.guidance = c.guidance;
    s.corrections = c.moves;
    CHECK(counted(for_sda(), assim::sda::ScoreBasedSampler(s)).second == c.calls);
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
  p.observations = p.observations * 5;
  p.observation_sigma = 0.01;
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

TEST_CASE("SDA: the background is a block with its own gamma, and can be ignored") {
  auto p = for_sda();
  p.background = at::full({1, 2, 3}, 2.0, toy::f64);  // far from the prior mean 0 and from y
  p.background_sigma = 0.05;
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
