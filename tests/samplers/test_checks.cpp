// What the samplers accept and refuse, divergence, seeds, batching, dtypes.
#include "toy.hpp"

#include "sda.hpp"
#include "soad.hpp"

#include <assim/error.hpp>

#include <ATen/ATen.h>

#include <doctest/doctest.h>

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
  CHECK(names == std::vector<std::string>{"steps", "corrections", "tau", "gamma", "likelihood_gradient", "clip", "batch"});
  names.clear();
  const assim::Parameters soad_parameters = assim::soad::AugmentedSampler::parameters();
  for (const auto& p : soad_parameters.list()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"steps", "corrections", "tau", "sigma_z", "clip", "reuse_guidance",
                                          "forward_corrector", "background_guidance", "batch"});

  const assim::sda::ScoreBasedSampler sda(
      assim::config_from_yaml("{steps: 16, gamma: 0.1}", assim::sda::ScoreBasedSampler::parameters()));
  CHECK(sda.options().steps == 16);
  CHECK(sda.options().gamma == doctest::Approx(0.1));
  CHECK(sda.options().corrections == 1);
  CHECK(sda.options().gradient == assim::sda::Options::Gradient::kFull);
  CHECK_FALSE(sda.options().clip);
  const assim::sda::ScoreBasedSampler sda_baseline(assim::config_from_yaml(
      "{likelihood_gradient: denoiser, clip: true}", assim::sda::ScoreBasedSampler::parameters()));
  CHECK(sda_baseline.options().gradient == assim::sda::Options::Gradient::kDenoiser);
  CHECK(sda_baseline.options().clip);
  CHECK_THROWS_AS(assim::config_from_yaml("{likelihood_gradient: identity}", assim::sda::ScoreBasedSampler::parameters()),
                  assim::ConfigError);
  const assim::soad::AugmentedSampler soad(assim::config_from_yaml(
      "{reuse_guidance: true, forward_corrector: false, background_guidance: true}",
      assim::soad::AugmentedSampler::parameters()));
  CHECK(soad.options().steps == 256);
  CHECK(soad.options().corrections == 5);
  CHECK(soad.options().tau == doctest::Approx(0.25));
  CHECK(soad.options().reuse_guidance);
  CHECK_FALSE(soad.options().forward_corrector);
  CHECK(soad.options().background_guidance);
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
  for (bool reuse : {false, true})
    for (bool forward : {false, true}) {
      auto o = quick_soad();
      o.reuse_guidance = reuse;
      o.forward_corrector = forward;
      const at::Tensor z = assim::soad::AugmentedSampler(o).sample(for_soad(at::kFloat), 5, 2);
      CHECK((z.scalar_type() == at::kFloat));
      CHECK(z.sizes().vec() == std::vector<std::int64_t>{5, 2, 1, 2, 3});
      CHECK(at::isfinite(z).all().item<bool>());
    }
}
