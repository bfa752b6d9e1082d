// Tests of sampler.ensf: its parameters, the Monte-Carlo prior score, and
// its analyses where the answer is known: the Kalman posterior of a
// linear-Gaussian problem with a large ensemble, and y itself when H is the
// identity and the observations' noise is small.
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "ensf.hpp"

#include <assim/error.hpp>
#include <assim/testing/certificate.hpp>
#include <assim/testing/config.hpp>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <memory>

using assim::ensf::Options;
using assim::ensf::ScoreFilter;
using assim::ensf::Weights;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

// The analysis of a forecast (members, n) observed through `h`, (members, n).
at::Tensor analyse(const ScoreFilter& filter, const std::shared_ptr<const assim::ObservationOperator>& h,
                   const at::Tensor& forecast, const at::Tensor& y, double sigma, std::uint64_t seed) {
  return filter.sample(assim::testing::forecast_problem(h, forecast, y, sigma), forecast.size(0), seed)
      .reshape(forecast.sizes());
}

// Returns H x times NaN: a filter whose likelihood stops being finite.
class NotFinite : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x * std::numeric_limits<double>::quiet_NaN(); }
};

}  // namespace

TEST_CASE("sampler.ensf declares its settings and refuses those that cannot work, naming the key") {
  const auto declared = ScoreFilter::parameters();
  CHECK_NOTHROW(ScoreFilter(assim::config_from_yaml("{steps: 50, eps_alpha: 0.1, damping: false, minibatch: 8, "
                                                    "weights: per_variable}",
                                                    declared)));
  for (const char* bad : {"{steps: 0}", "{eps_alpha: 0}", "{eps_alpha: 1}", "{minibatch: -1}", "{weights: diagonal}"}) {
    const std::string key = std::string(bad).substr(1, std::string(bad).find(':') - 1);
    CHECK_THROWS_WITH_AS(ScoreFilter(assim::config_from_yaml(bad, declared)), doctest::Contains(key.c_str()),
                         assim::ConfigError);
  }
  // A mini-batch of 8 members needs 8 members: the stage refuses fewer at validate.
  CHECK(ScoreFilter(Options{100, 0.05, true, 8, Weights::kJoint}).needs().min_members == 8);
  CHECK(ScoreFilter(Options{}).needs().min_members == 2);
  CHECK(ScoreFilter(Options{}).needs().forecast);
}

TEST_CASE("the Monte-Carlo prior score: one member's exactly, a large Gaussian ensemble's near the closed form") {
  const double alpha = 0.6, beta2 = 0.3;
  const at::Tensor x = at::tensor({0.4, -1.0}, f64).reshape({1, 2});
  const at::Tensor one = at::tensor({1.0, 2.0}, f64).reshape({1, 2});
  for (const Weights weights : {Weights::kJoint, Weights::kPerVariable})
    CHECK(at::allclose(assim::ensf::prior_score(x, one, alpha, beta2, weights), (alpha * one - x) / beta2));
  // N(m, s^2 I) diffused: N(alpha m, (alpha^2 s^2 + beta^2) I), whose score is
  // -(x - alpha m) / (alpha^2 s^2 + beta^2). 200,000 members: the estimate's
  // Monte-Carlo error is below 1 % here (the weights' effective size is large
  // at this beta).
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const double m = 1.5, s = 0.8;
  const at::Tensor ensemble = m + s * at::randn({200000, 2}, generator, f64);
  const at::Tensor exact = -(x - alpha * m) / (alpha * alpha * s * s + beta2);
  for (const Weights weights : {Weights::kJoint, Weights::kPerVariable}) {
    const at::Tensor estimate = assim::ensf::prior_score(x, ensemble, alpha, beta2, weights);
    CHECK(at::allclose(estimate, exact, 0.02, 0.0));
  }
}

TEST_CASE("linear-Gaussian, large ensemble: the EnSF analysis mean and spread approach the Kalman posterior's") {
  const assim::testing::LinearGaussian problem = assim::testing::example_problem();
  const std::int64_t n = problem.mean.numel(), members = 2000;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor root = at::linalg_cholesky(problem.covariance);
  const at::Tensor truth = problem.mean + at::randn({n}, generator, f64).matmul(root.t());
  const at::Tensor y =
      problem.H.matmul(truth) + problem.sigma_o * at::randn({problem.H.size(0)}, generator, f64);
  const at::Tensor forecast = problem.mean + at::randn({members, n}, generator, f64).matmul(root.t());
  // The Kalman posterior of the forecast ensemble's own mean and covariance,
  // what the EnSF's Monte-Carlo score sees (the exact prior's would add the
  // ensemble's sampling error, ~2 % of a std, to what is measured).
  assim::testing::LinearGaussian sampled = problem;
  sampled.mean = forecast.mean(0);
  sampled.covariance = at::cov(forecast.t());
  const auto kalman = assim::testing::exact_posterior(sampled, y.unsqueeze(0));
  const at::Tensor kalman_std = kalman.covariance.diagonal().sqrt();
  const auto h = std::make_shared<assim::testing::ChannelMatrix>(problem.H);
  const at::Tensor x = analyse(ScoreFilter(Options{}), h, forecast, y, problem.sigma_o, 3);
  const auto mean_error = [&](const at::Tensor& e) {
    return ((e.mean(0) - kalman.mean[0]) / kalman_std).abs().max().item<double>();
  };
  const at::Tensor std_ratio = x.std(0) / kalman_std;
  MESSAGE("EnSF N = 2000 against Kalman: largest |mean error| / posterior std " << mean_error(x) << " (forecast "
          << mean_error(forecast) << ", std ratios " << (forecast.std(0) / kalman_std).reshape({1, n}) << "), std ratios " << std_ratio.reshape({1, n}));
  // The EnSF is not exact even with every member: h(t) grad log p(y | x_t)
  // stands in for the score of the diffused likelihood. Measured (this
  // problem, N = 2000, K = 100; the same algorithm in numpy over 5 more draws
  // of truth and ensemble): mean errors up to 0.34 posterior std, std ratios
  // 0.88 .. 1.13; K = 400, or h = 1, left them at 0.30 .. 0.33, so the error
  // is the method's, not the time step's. The bounds leave room for that and still refuse the
  // forecast (here 2.1 posterior std off, std ratios 1.18 .. 2.29), which
  // the last check makes sure of.
  CHECK(mean_error(x) < 0.5);
  CHECK(std_ratio.min().item<double>() > 0.8);
  CHECK(std_ratio.max().item<double>() < 1.25);
  CHECK((mean_error(forecast) > 0.5 || (forecast.std(0) / kalman_std).max().item<double>() > 1.25));
}

TEST_CASE("H = identity with a small noise: the analysis is y") {
  // Prior N(0, 1) in 2 dims, y at (0.7, -1.2), sigma_o = 0.05: the posterior
  // is N(y / (1 + sigma_o^2), sigma_o^2 / (1 + sigma_o^2)), within 0.002 of y.
  // K = 1000 keeps the explicit likelihood step dt g^2 h / sigma_o^2 below 1.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor forecast = at::randn({500, 2}, generator, f64);
  const at::Tensor y = at::tensor({0.7, -1.2}, f64);
  const auto h = std::make_shared<assim::testing::ChannelMatrix>(at::eye(2, f64));
  const at::Tensor x = analyse(ScoreFilter(Options{1000, 0.05, true, 0, Weights::kJoint}), h, forecast, y, 0.05, 9);
  MESSAGE("EnSF, H = I, sigma_o 0.05: mean - y " << x.mean(0) - y << ", std " << x.std(0));
  CHECK(((x.mean(0) - y).abs() < 0.02).all().item<bool>());
  CHECK((x.std(0) < 0.1).all().item<bool>());
}

TEST_CASE("an analysis that stops being finite says so, naming the step") {
  // The likelihood is damped to nothing at t = 1 (h(1) = 0): the NaN enters at step 2.
  const auto h = std::make_shared<NotFinite>();
  const at::Tensor forecast = at::randn({10, 3}, f64);
  CHECK_THROWS_WITH_AS(analyse(ScoreFilter(Options{}), h, forecast, at::zeros({3}, f64), 0.1, 1),
                       doctest::Contains("diffusion step 2"), assim::DivergenceError);
}
