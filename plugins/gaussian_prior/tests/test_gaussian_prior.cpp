// prior.gaussian against the closed form of its denoiser.
//
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include "gaussian.hpp"

#include <assim/diffusion.hpp>
#include <assim/error.hpp>
#include <assim/testing/config.hpp>

#include <ATen/ATen.h>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

using assim::gaussian_prior::GaussianPrior;

namespace {
GaussianPrior make(const std::string& yaml) {
  return GaussianPrior(assim::config_from_yaml(yaml, GaussianPrior::parameters()));
}
const assim::CosineSchedule schedule;
}  // namespace

TEST_CASE("scalar variance: eps_hat = sigma (z - mu m) / (mu^2 v + sigma^2)") {
  const GaussianPrior prior = make("shape: [2, 1, 3, 3]\nmean: 0.5\ncovariance: [2.0]\n");
  at::manual_seed(1);
  const at::Tensor z = at::randn({4, 2, 1, 3, 3}, at::kDouble);
  const at::Tensor t = at::tensor({0.0, 0.3, 0.75, 1.0}, at::kDouble);
  const at::Tensor eps = prior.denoise(z, t);
  CHECK((eps.sizes() == z.sizes()));
  for (int i = 0; i < 4; ++i) {
    const double ti = t[i].item<double>(), mu = schedule.mu(ti), sigma = schedule.sigma(ti);
    CHECK(at::allclose(eps[i], sigma * (z[i] - mu * 0.5) / (mu * mu * 2.0 + sigma * sigma), 1e-12, 1e-14));
  }
}

TEST_CASE("per-channel variances act on their channel; float32 in, float32 out") {
  const GaussianPrior prior = make("shape: [1, 2, 2, 2]\ncovariance: [0.5, 3.0]\n");
  const at::Tensor z = at::randn({2, 1, 2, 2, 2});
  const at::Tensor eps = prior.denoise(z, at::full({2}, 0.4));
  CHECK((eps.scalar_type() == at::kFloat));
  const double mu = schedule.mu(0.4), sigma = schedule.sigma(0.4);
  const at::Tensor c0 = z.select(2, 0) * sigma / (mu * mu * 0.5 + sigma * sigma);
  const at::Tensor c1 = z.select(2, 1) * sigma / (mu * mu * 3.0 + sigma * sigma);
  CHECK(at::allclose(eps.select(2, 0), c0, 1e-5, 1e-6));
  CHECK(at::allclose(eps.select(2, 1), c1, 1e-5, 1e-6));
}

TEST_CASE("a dense covariance that is diagonal agrees with the per-channel form") {
  // Event (1, 2, 1, 2): elements ordered (c0 y0 x0, c0 y0 x1, c1 y0 x0, c1 y0 x1).
  const GaussianPrior diagonal = make("shape: [1, 2, 1, 2]\nmean: -1\ncovariance: [0.5, 3.0]\n");
  const GaussianPrior dense = make(
      "shape: [1, 2, 1, 2]\nmean: -1\n"
      "covariance: [0.5, 0, 0, 0,  0, 0.5, 0, 0,  0, 0, 3.0, 0,  0, 0, 0, 3.0]\n");
  CHECK(at::allclose(dense.covariance(), diagonal.covariance()));
  const at::Tensor z = at::randn({5, 1, 2, 1, 2}, at::kDouble);
  const at::Tensor t = at::rand({5}, at::kDouble);
  CHECK(at::allclose(dense.denoise(z, t), diagonal.denoise(z, t), 1e-10, 1e-12));
}

TEST_CASE("a correlated dense covariance against a direct solve, and its gradient") {
  const GaussianPrior prior = make("shape: [2, 1, 1, 1]\nmean: 0.2\ncovariance: [1.0, 0.8, 0.8, 1.0]\n");
  const at::Tensor sigma_m = at::tensor({1.0, 0.8, 0.8, 1.0}, at::kDouble).reshape({2, 2});
  const at::Tensor z = at::randn({3, 2, 1, 1, 1}, at::kDouble).requires_grad_();
  const at::Tensor t = at::tensor({0.1, 0.5, 0.9}, at::kDouble);
  const at::Tensor eps = prior.denoise(z, t);
  for (int i = 0; i < 3; ++i) {
    const double ti = t[i].item<double>(), mu = schedule.mu(ti), sigma = schedule.sigma(ti);
    const at::Tensor a = mu * mu * sigma_m + sigma * sigma * at::eye(2, at::kDouble);
    const at::Tensor expected = sigma * at::linalg_solve(a, (z[i].detach().reshape({2}) - mu * 0.2));
    CHECK(at::allclose(eps[i].reshape({2}).detach(), expected, 1e-10, 1e-12));
  }
  // The samplers differentiate through denoise: d sum(eps) / dz = sigma A^{-1} 1 per sample.
  eps.sum().backward();
  const double mu = schedule.mu(0.5), sigma = schedule.sigma(0.5);
  const at::Tensor a = mu * mu * sigma_m + sigma * sigma * at::eye(2, at::kDouble);
  const at::Tensor expected = sigma * at::linalg_solve(a, at::ones({2}, at::kDouble));
  CHECK(at::allclose(z.grad()[1].reshape({2}), expected, 1e-10, 1e-12));
}

TEST_CASE("a covariance over (frame, channel) per grid point is the dense kron(block, I) over the event") {
  // Event (1, 2, 1, 3): per point a 2 x 2 block over the channels, points
  // independent; dense, element (c, x) is at 3 c + x.
  const GaussianPrior per_point = make("shape: [1, 2, 1, 3]\nmean: 0.1\ncovariance: [1.0, 0.6, 0.6, 2.0]\n");
  const at::Tensor block = at::tensor({1.0, 0.6, 0.6, 2.0}, at::kDouble).reshape({2, 2});
  const at::Tensor full = at::kron(block, at::eye(3, at::kDouble));
  std::string yaml = "shape: [1, 2, 1, 3]\nmean: 0.1\ncovariance: [";
  for (std::int64_t k = 0; k < 36; ++k) yaml += (k ? ", " : "") + std::to_string(full.reshape({-1})[k].item<double>());
  const GaussianPrior dense = make(yaml + "]\n");
  CHECK(at::allclose(per_point.covariance(), full));
  const at::Tensor z = at::randn({4, 1, 2, 1, 3}, at::kDouble);
  const at::Tensor t = at::tensor({0.05, 0.3, 0.6, 0.95}, at::kDouble);
  CHECK(at::allclose(per_point.denoise(z, t), dense.denoise(z, t), 1e-10, 1e-12));
}

TEST_CASE("bad settings and bad shapes give clear errors") {
  CHECK_THROWS_WITH_AS(make("shape: [2, 3, 4]\n"), doctest::Contains("needs 4 entries"), assim::ConfigError);
  CHECK_THROWS_WITH_AS(make("shape: [1, 2, 1, 1]\ncovariance: [1, 2, 3]\n"),
                       doctest::Contains("expected 1 (a variance), 2 (one per channel) or 4"), assim::ConfigError);
  CHECK_THROWS_WITH_AS(make("shape: [1, 2, 1, 1]\ncovariance: [1, 0.5, 0.4, 1]\n"),
                       doctest::Contains("not symmetric"), assim::ConfigError);
  CHECK_THROWS_WITH_AS(make("shape: [1, 2, 1, 1]\ncovariance: [1, 2, 2, 1]\n"),
                       doctest::Contains("not positive semi-definite"), assim::ConfigError);
  CHECK_THROWS_WITH_AS(make("shape: [1, 2, 1, 1]\ncovariance: [1, -1]\n"), doctest::Contains("must be > 0"),
                       assim::ConfigError);

  const GaussianPrior prior = make("shape: [3, 2, 4, 4]\n");
  CHECK_THROWS_WITH_AS(prior.denoise(at::zeros({2, 3, 2, 4, 5}), at::zeros({2})),
                       doctest::Contains("z_t must have shape (batch, 3, 2, 4, 4), got (2, 3, 2, 4, 5)"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(prior.denoise(at::zeros({3, 2, 4, 4}), at::zeros({1})), doctest::Contains("z_t must have"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(prior.denoise(at::zeros({2, 3, 2, 4, 4}), at::zeros({3})),
                       doctest::Contains("t must have shape (batch) = (2)"), assim::Error);
  CHECK_FALSE(prior.learned());
}
