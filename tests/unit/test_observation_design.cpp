#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <assim/framework/observation_design.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace assim;
using namespace assim::design;

TEST_CASE("random masks keep the asked fraction and strides the asked points") {
  for (double p : {1.0, 0.25, 0.0625, 0.01}) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(11);
    at::Tensor m = mask({256, 256}, p, 1, g);
    double kept = m.to(at::kDouble).mean().item<double>();
    // Binomial sampling error of the fraction over 65536 points.
    CHECK(std::abs(kept - p) < 4 * std::sqrt(p * (1 - p) / 65536) + 1e-12);
  }
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor strided = mask({64, 64}, 1.0, 4, g);
  CHECK(strided.sum().item<std::int64_t>() == 16 * 16);
  CHECK(strided[0][0].item<bool>());
  CHECK(strided[4][8].item<bool>());
  CHECK_FALSE(strided[1][0].item<bool>());
  CHECK_FALSE(strided[0][6].item<bool>());
}

TEST_CASE("the same seed draws the same mask and noise; another seed does not") {
  auto a = at::make_generator<at::CPUGeneratorImpl>(5), b = at::make_generator<at::CPUGeneratorImpl>(5),
       c = at::make_generator<at::CPUGeneratorImpl>(6);
  CHECK(at::equal(mask({32, 32}, 0.5, 1, a), mask({32, 32}, 0.5, 1, b)));
  CHECK(at::equal(noise(NoiseLaw::Laplace, 0.1, {100}, a), noise(NoiseLaw::Laplace, 0.1, {100}, b)));
  CHECK_FALSE(at::equal(noise(NoiseLaw::Gaussian, 0.1, {100}, a), noise(NoiseLaw::Gaussian, 0.1, {100}, c)));
}

TEST_CASE("every noise law is zero-mean with the asked standard deviation") {
  const std::int64_t n = 400000;
  for (const auto& name : noise_law_names()) {
    CAPTURE(name);
    auto g = at::make_generator<at::CPUGeneratorImpl>(3);
    at::Tensor e = noise(noise_law(name), 0.1, {n}, g);
    double mean = e.mean().item<double>(), std = e.std().item<double>();
    // Standard errors: 0.1 / sqrt(n) for the mean; the std's depends on the
    // kurtosis (largest for the log-normal), hence the wider band.
    CHECK(std::abs(mean) < 5 * 0.1 / std::sqrt(double(n)));
    CHECK(std::abs(std - 0.1) < (name == "lognormal" ? 0.004 : 0.0005));
  }
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor skewed = noise(NoiseLaw::LogNormal, 1.0, {n}, g);
  CHECK(at::pow(skewed, 3).mean().item<double>() > 1.0);  // heavy right tail
  at::Tensor bounded = noise(NoiseLaw::Uniform, 1.0, {n}, g);
  CHECK(bounded.abs().max().item<double>() <= std::sqrt(3.0));
}

namespace {

// A model whose step doubles the state: its forecast is known exactly.
class Doubling : public Model {
  class Run : public Trajectory {
   public:
    explicit Run(at::Tensor x) : x_(std::move(x)) {}
    void advance(std::int64_t steps) override {
      x_ = x_ * std::pow(2.0, static_cast<double>(steps));
      taken_ += steps;
    }
    at::Tensor state() const override { return x_; }
    std::int64_t steps_taken() const override { return taken_; }

   private:
    at::Tensor x_;
    std::int64_t taken_ = 0;
  };

 public:
  StateSpec state_spec() const override { return {}; }
  at::Tensor initial_state(std::int64_t, std::uint64_t) const override { return {}; }
  std::unique_ptr<Trajectory> start(const at::Tensor& states) const override { return std::make_unique<Run>(states); }
};

}  // namespace

TEST_CASE("a background is frame 0 plus noise, or the forecast of the perturbed frame before") {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  auto g = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor x0 = at::randn({64, 2, 16, 16}, g, f64), previous = at::randn({64, 2, 16, 16}, g, f64);
  const at::Tensor plain = background(x0, at::Tensor(), nullptr, 3, 0.1, g);
  CHECK(std::abs((plain - x0).std().item<double>() - 0.1) < 0.003);  // 32768 draws: standard error 0.0004
  const Doubling model;
  const at::Tensor forecast = background(x0, previous, &model, 3, 0.1, g);
  // Three doubling steps of previous + N(0, 0.1^2): nothing of x0.
  CHECK(std::abs((forecast / 8 - previous).std().item<double>() - 0.1) < 0.003);
  CHECK(std::abs((forecast / 8 - previous).mean().item<double>()) < 0.003);
  CHECK((forecast - x0).std().item<double>() > 1);
  // One generator draws the same background from the same seed.
  auto again = at::make_generator<at::CPUGeneratorImpl>(5);
  at::randn({64, 2, 16, 16}, again, f64);
  at::randn({64, 2, 16, 16}, again, f64);
  CHECK(at::equal(background(x0, at::Tensor(), nullptr, 3, 0.1, again), plain));
}
