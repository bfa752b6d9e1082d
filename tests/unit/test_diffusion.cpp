// The cosine schedule against the reference doc's numbers, and the
// exponential-integrator sampler driven by the exact Gaussian eps_hat: it must
// carry N(0, I) at t = 1 to the Gaussian prior at t = 0.
//
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <assim/diffusion.hpp>
#include <assim/error.hpp>

#include <ATen/ATen.h>

#include <doctest/doctest.h>

#include <cmath>

using assim::CosineSchedule;

TEST_CASE("cosine schedule: end points and the ratios of the reference") {
  const CosineSchedule s;
  CHECK(s.eta() == 1e-3);
  CHECK(s.mu(0.0) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(s.sigma(0.0) == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(s.mu(1.0) == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(s.sigma(1.0) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(s.ratio(0.1) == doctest::Approx(0.22).epsilon(0.01));
  CHECK(s.ratio(0.5) == doctest::Approx(1.66).epsilon(0.005));
  CHECK(s.ratio(0.75) == doctest::Approx(6.03).epsilon(0.005));
  CHECK(s.ratio(1.0) == doctest::Approx(1000.0).epsilon(1e-9));
  // Variance preserving up to eta^2: mu^2 + sigma^2 = 1 + eta^2.
  for (double t : {0.0, 0.1, 0.5, 0.75, 1.0})
    CHECK(s.mu(t) * s.mu(t) + s.sigma(t) * s.sigma(t) == doctest::Approx(1.0 + 1e-6).epsilon(1e-14));
}

TEST_CASE("cosine schedule: tensor versions agree with the scalar ones and differentiate") {
  const CosineSchedule s;
  at::Tensor t = at::tensor({0.0, 0.1, 0.5, 0.75, 1.0}, at::kDouble).requires_grad_();
  at::Tensor mu = s.mu(t), sigma = s.sigma(t);
  for (int i = 0; i < 5; ++i) {
    const double ti = t[i].item<double>();
    CHECK(mu[i].item<double>() == doctest::Approx(s.mu(ti)).epsilon(1e-14));
    CHECK(sigma[i].item<double>() == doctest::Approx(s.sigma(ti)).epsilon(1e-14));
  }
  // d mu / dt = -2 a cos(a t) sin(a t), a = arccos(sqrt(eta)).
  mu.sum().backward();
  const double a = std::acos(std::sqrt(1e-3));
  CHECK(t.grad()[2].item<double>() == doctest::Approx(-2 * a * std::cos(a * 0.5) * std::sin(a * 0.5)));
}

TEST_CASE("cosine schedule: noise, Tweedie and the grid") {
  const CosineSchedule s;
  at::Tensor x0 = at::randn({3, 2, 4}, at::kDouble), eps = at::randn({3, 2, 4}, at::kDouble);
  at::Tensor t = at::tensor({0.2, 0.5, 0.9}, at::kDouble);
  at::Tensor xt = s.noise(x0, eps, t);
  for (int i = 0; i < 3; ++i) {
    const double ti = t[i].item<double>();
    CHECK(at::allclose(xt[i], s.mu(ti) * x0[i] + s.sigma(ti) * eps[i]));
    // Tweedie with the true noise recovers x0.
    CHECK(at::allclose(s.tweedie(xt[i], eps[i], ti), x0[i]));
  }
  CHECK_THROWS_AS(s.noise(x0, eps, at::zeros({2}, at::kDouble)), assim::Error);

  const auto g = s.grid(4);
  REQUIRE(g.size() == 5);
  CHECK(g.front() == 1.0);
  CHECK(g[1] == 0.75);
  CHECK(g[2] == 0.5);
  CHECK(g.back() == 0.0);
  CHECK_THROWS_AS(s.grid(0), assim::Error);
}

TEST_CASE("exponential-integrator sampler with the exact Gaussian eps_hat reaches the prior") {
  // Prior N(m, v) per element; at time t the noised marginal is
  // N(mu m, mu^2 v + sigma^2), whose exact eps_hat is sigma (z - mu m) / (mu^2 v + sigma^2).
  const CosineSchedule s;
  const double m = 1.5, v = 0.25;
  const std::int64_t n = 200000;
  at::manual_seed(7);
  at::Tensor z = at::randn({n}, at::kDouble);
  // The integrator is first order in 1/K: for this prior its variance comes
  // out 6 % low at K = 64, 1.6 % at 256 and 0.8 % at 512 (propagating mean
  // and variance exactly through the linear steps), hence K = 512 and a 1 %
  // allowance below on top of the Monte-Carlo error.
  const auto times = s.grid(512);
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], mu = s.mu(t), sigma = s.sigma(t);
    const at::Tensor eps_hat = sigma * (z - mu * m) / (mu * mu * v + sigma * sigma);
    z = s.step(z, eps_hat, t, times[i + 1]);
  }
  // At t = 0 the marginal is N(m, v + eta^2).
  const double mean = z.mean().item<double>(), var = z.var().item<double>();
  const double target_var = v + 1e-6;
  MESSAGE("mean " << mean << " (prior " << m << "), variance " << var << " (prior " << target_var << ")");
  // Five standard errors: a false alarm once in millions of seeds.
  CHECK(std::abs(mean - m) < 5 * std::sqrt(target_var / n));
  // Standard error of a sample variance: v sqrt(2 / n).
  CHECK(std::abs(var - target_var) < 5 * target_var * std::sqrt(2.0 / n) + 0.01 * target_var);
}
