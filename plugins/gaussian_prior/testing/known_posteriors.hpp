// Test problems with known posteriors for the score-based samplers
// (plugins/sda/tests, plugins/soad/tests): this prior, augmented or not, a
// quadrature prior on a sine curve, and the exact posteriors they give.
//
// Every header of torch comes before doctest in the files that include this
// one: glog's CHECK macros would otherwise replace doctest's.
#pragma once

#include "gaussian.hpp"
#include "operators.hpp"

#include <assim/testing/certificate.hpp>
#include <assim/testing/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace toy {

inline const auto f64 = at::TensorOptions().dtype(at::kDouble);

inline std::shared_ptr<const assim::ObservationOperator> identity() {
  using assim::observations::Identity;
  return std::make_shared<Identity>(assim::config_from_yaml("{}", Identity::parameters()));
}

// The "hard" operator of the papers: 1.5 sin(3 x).
inline std::shared_ptr<const assim::ObservationOperator> sine() {
  using assim::observations::Sine;
  return std::make_shared<Sine>(assim::config_from_yaml("{amplitude: 1.5, frequency: 3}", Sine::parameters()));
}

inline std::shared_ptr<assim::gaussian_prior::GaussianPrior> gaussian(const std::vector<std::int64_t>& shape, double mean,
                                                               double variance) {
  std::string yaml = "shape: [";
  for (std::size_t i = 0; i < shape.size(); ++i) yaml += (i ? ", " : "") + std::to_string(shape[i]);
  yaml += "]\nmean: " + std::to_string(mean) + "\ncovariance: [" + std::to_string(variance) + "]\n";
  return std::make_shared<assim::gaussian_prior::GaussianPrior>(
      assim::config_from_yaml(yaml, assim::gaussian_prior::GaussianPrior::parameters()));
}

// prior.gaussian cannot name an augmentation, so this wraps one over
// (L, C + C_H, y, x) and declares H: the setting of Theorem 3.1, where z
// itself has a scalar covariance (its H channels are then not H of its x
// channels, which the sampler never relies on: it only observes T z).
class AugmentedGaussian : public assim::Prior {
 public:
  AugmentedGaussian(std::shared_ptr<const assim::Prior> inner, std::shared_ptr<const assim::ObservationOperator> h)
      : inner_(std::move(inner)), h_(std::move(h)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override { return inner_->denoise(z_t, t); }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return h_; }

 private:
  std::shared_ptr<const assim::Prior> inner_;
  std::shared_ptr<const assim::ObservationOperator> h_;
};

// The augmented prior of the nonlinear toy: P independent points, each
// x ~ N(0, s^2) carried with h = 1.5 sin(3 x), as a window (1, 2, 1, P). Its
// law is not Gaussian (it lives on a curve), so eps_hat comes from
// quadrature on a grid of x: with x0 on nodes g_k of weights N(g_k; 0, s^2),
//   E[z0 | z_t] = sum_k w_k (g_k, h(g_k)),  w ~ N(g_k) exp(-|z_t - mu (g_k, h(g_k))|^2 / (2 sigma^2)),
//   eps_hat = (z_t - mu E[z0 | z_t]) / sigma,
// the exact denoiser of the prior that puts these weights on these nodes.
// Torch operations throughout, so the samplers differentiate through it.
class SineCurvePrior : public assim::Prior {
 public:
  SineCurvePrior(std::shared_ptr<const assim::ObservationOperator> h, at::Tensor nodes, double prior_std)
      : h_(std::move(h)), nodes_(std::move(nodes)) {
    node_h_ = h_->apply(nodes_);
    log_weight_ = -0.5 * (nodes_ / prior_std).square();
  }
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    const std::int64_t b = z_t.size(0), p = z_t.size(4);
    const at::Tensor x = z_t.select(1, 0).select(1, 0).select(1, 0).unsqueeze(-1);  // (b, p, 1)
    const at::Tensor h = z_t.select(1, 0).select(1, 1).select(1, 0).unsqueeze(-1);
    const at::Tensor mu = schedule_.mu(t.to(at::kDouble)).reshape({b, 1, 1});
    const at::Tensor sigma = schedule_.sigma(t.to(at::kDouble)).reshape({b, 1, 1});
    const at::Tensor distance = (x - mu * nodes_).square() + (h - mu * node_h_).square();
    const at::Tensor w = at::softmax(log_weight_ - distance / (2 * sigma.square()), -1);
    const at::Tensor ex = (w * nodes_).sum(-1, true), eh = (w * node_h_).sum(-1, true);
    const at::Tensor eps_x = (x - mu * ex) / sigma, eps_h = (h - mu * eh) / sigma;
    return at::stack({eps_x.squeeze(-1), eps_h.squeeze(-1)}, 1).reshape({b, 1, 2, 1, p}).to(z_t.scalar_type());
  }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return h_; }

 private:
  std::shared_ptr<const assim::ObservationOperator> h_;
  at::Tensor nodes_, node_h_, log_weight_;
  assim::CosineSchedule schedule_;
};

struct Moments {
  at::Tensor mean, variance;
};

// Mean and variance over members (dim 0).
inline Moments moments(const at::Tensor& samples) {
  return {samples.mean(0), samples.var(0, /*unbiased=*/true)};
}

// Posterior moments of x given y = h(x) + N(0, sigma_o^2), x ~ N(0, s^2), per
// point, on the quadrature nodes (y: (P)), from the certificate's quadrature.
inline Moments quadrature_posterior(const assim::ObservationOperator& h, const at::Tensor& nodes, const at::Tensor& y,
                                    double sigma_o, double prior_std) {
  const at::Tensor w = assim::testing::quadrature_posterior(h, nodes, y, sigma_o, prior_std);
  const at::Tensor mean = (w * nodes).sum(-1);
  return {mean, (w * (nodes - mean.unsqueeze(-1)).square()).sum(-1)};
}

// Linear-Gaussian problems, where the posterior is the Kalman posterior.
namespace linear {

// 1024 entries per augmented window: the Langevin step delta = tau / mean(eps^2)
// is normalised per member over the whole window; in a small window that
// mean fluctuates with the state itself, and a state-dependent step biases
// Langevin towards heavier tails (its stationary law is ~ p / delta).
inline constexpr std::int64_t kFrames = 2, kNy = 16, kNx = 16;
inline constexpr double kMean = 0.3, kVariance = 1.0;
inline constexpr std::int64_t kMembers = 256;

inline assim::StateSpec plane() {
  assim::StateSpec s;
  s.variable = "x";
  s.dims = {{"channel", 1, "", 0.0}, {"y", kNy, "1", 1.0}, {"x", kNx, "1", 1.0}};
  return s;
}

// Half of the points observed (a checkerboard shifted per frame) through
// obs.identity; unobserved entries hold NaN, which the samplers must ignore.
inline assim::AssimilationProblem linear_problem(double sigma_o) {
  const auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  assim::AssimilationProblem p;
  p.set_state(plane());
  p.set_observation_operator(identity());
  const at::Tensor i = at::arange(kNy, f64).reshape({1, 1, kNy, 1});
  const at::Tensor j = at::arange(kNx, f64).reshape({1, 1, 1, kNx});
  const at::Tensor l = at::arange(kFrames, f64).reshape({kFrames, 1, 1, 1});
  p.set_mask(at::remainder(i + j + l, 2).eq(0).to(at::kDouble));
  const at::Tensor truth = kMean + std::sqrt(kVariance) * at::randn({kFrames, 1, kNy, kNx}, gen, f64);
  const at::Tensor y = truth + sigma_o * at::randn({kFrames, 1, kNy, kNx}, gen, f64);
  p.set_observations(at::where(p.mask().ne(0), y, at::full({}, NAN, f64)));
  p.set_observation_sigma(sigma_o);
  return p;
}

// Kalman posterior of x (L, 1, y, x) with the scalar prior, the masked
// identity observations and, if given, the background at frame 0.
inline Moments kalman(const assim::AssimilationProblem& p) {
  at::Tensor precision = at::full(p.mask().sizes(), 1 / kVariance, f64);
  at::Tensor information = at::full(p.mask().sizes(), kMean / kVariance, f64);
  const double wo = 1 / (p.observation_sigma() * p.observation_sigma());
  precision = precision + wo * p.mask();
  information = information + wo * p.mask() * at::nan_to_num(p.observations());
  if (p.background()) {
    const double wb = 1 / (p.background_sigma() * p.background_sigma());
    precision[0] += wb;
    information[0] += wb * *p.background();
  }
  return {information / precision, 1 / precision};
}

struct Errors {
  double mean_z = 0;        // max |mean error| / Monte-Carlo std of the mean
  double mean_abs = 0;      // max |mean error|
  double variance_obs = 0;  // pooled var / exact var - 1 over observed entries
  double variance_free = 0; // the same over unobserved entries
  std::string text() const {
    std::ostringstream out;
    out << "max |mean err| " << mean_abs << " (" << mean_z << " MC std), pooled var ratio - 1: observed "
        << variance_obs << ", unobserved " << variance_free;
    return out.str();
  }
};

inline Errors compare(const at::Tensor& samples, const Moments& exact, const at::Tensor& observed) {
  const Moments got = moments(samples);
  const double members = static_cast<double>(samples.size(0));
  const at::Tensor error = (got.mean - exact.mean).abs();
  const at::Tensor ratio = got.variance / exact.variance;
  Errors e;
  e.mean_abs = error.max().item<double>();
  e.mean_z = (error / at::sqrt(exact.variance / members)).max().item<double>();
  e.variance_obs = (ratio * observed).sum().item<double>() / observed.sum().item<double>() - 1;
  e.variance_free = (ratio * (1 - observed)).sum().item<double>() / (1 - observed).sum().item<double>() - 1;
  return e;
}

}  // namespace linear

// The linear-Gaussian certificate (AssimSDK::testing's certificate.hpp) for
// the score-based samplers: R replications of a problem of n entries laid
// side by side on the grid of one frame, (1, n, 1, R), the entries as
// channels, so that one `sample` call draws every replication's posterior
// (the prior is independent between points, so the window's posterior is
// the product of theirs).
namespace certificate {

inline at::Tensor on_grid(const at::Tensor& rows) {  // (R, n) -> (1, n, 1, R)
  return rows.t().reshape({1, rows.size(1), 1, rows.size(0)});
}

inline at::Tensor from_grid(const at::Tensor& samples) {  // (M, 1, n, 1, R) -> (M, R, n)
  return samples.reshape({samples.size(0), samples.size(2), samples.size(4)}).transpose(1, 2);
}

// The observations (R, p) of the replications as a problem of their H
// (assim::testing::ChannelMatrix) on a state (n, 1, R), every entry observed.
inline assim::AssimilationProblem problem(const assim::testing::LinearGaussian& linear, const at::Tensor& observations,
                                          double told_sigma) {
  assim::AssimilationProblem p;
  assim::StateSpec state;
  state.variable = "x";
  state.dims = {{"channel", linear.H.size(1), "", 0.0}, {"y", 1, "1", 1.0}, {"x", observations.size(0), "1", 1.0}};
  p.set_state(state);
  p.set_observation_operator(std::make_shared<assim::testing::ChannelMatrix>(linear.H));
  p.set_observations(on_grid(observations));
  p.set_mask(at::ones_like(p.observations()));
  p.set_observation_sigma(told_sigma);
  return p;
}

// prior.gaussian of mean 0 with `covariance` (b, b) over the channels of
// each of `points` grid points of one frame.
inline std::shared_ptr<assim::gaussian_prior::GaussianPrior> per_point(const at::Tensor& covariance,
                                                                      std::int64_t points) {
  std::ostringstream yaml;
  yaml.precision(17);
  yaml << "shape: [1, " << covariance.size(0) << ", 1, " << points << "]\nmean: 0\ncovariance: [";
  const at::Tensor flat = covariance.contiguous().reshape({-1});
  for (std::int64_t k = 0; k < flat.numel(); ++k) yaml << (k ? ", " : "") << flat[k].item<double>();
  yaml << "]\n";
  return std::make_shared<assim::gaussian_prior::GaussianPrior>(
      assim::config_from_yaml(yaml.str(), assim::gaussian_prior::GaussianPrior::parameters()));
}

}  // namespace certificate

// A nonlinear toy with an exact posterior by quadrature: P independent
// points x ~ N(0, 0.5^2) observed through the papers' "hard" operator
// y = 1.5 sin(3 x) + N(0, 0.1^2). The posterior of each point is
// multi-modal (sin folds several x onto one y; mostly two modes here).
namespace nonlinear {

inline const double kSigmaO = assim::testing::nonlinear_example().sigma_o,
                    kPriorStd = assim::testing::nonlinear_example().prior_std;
inline constexpr std::int64_t kCases = 4;

// x_true = (0.3, -0.8, 1.2, 0.05) and fixed noise: two to four modes each,
// repeated `copies` times along x. The Langevin step is normalised by
// mean(eps^2) over the window: with only 4 entries that mean can be tiny
// by chance and the step huge, hence the copies.
inline assim::AssimilationProblem sine_problem(std::shared_ptr<const assim::ObservationOperator> h,
                                               std::int64_t copies) {
  assim::AssimilationProblem p;
  assim::StateSpec state;
  state.variable = "x";
  state.dims = {{"channel", 1, "", 0.0}, {"y", 1, "1", 1.0}, {"x", kCases * copies, "1", 1.0}};
  p.set_state(state);
  const assim::testing::NonlinearExample toy = assim::testing::nonlinear_example();
  p.set_observations((h->apply(toy.truth) + toy.noise).repeat({copies}).reshape({1, 1, 1, kCases * copies}));
  p.set_mask(at::ones_like(p.observations()));
  p.set_observation_sigma(kSigmaO);
  p.set_observation_operator(std::move(h));
  return p;
}

struct Gap {
  double mean = 0, std = 0;
  std::string report;  // both sets of moments in words, for a test's MESSAGE
};

inline std::string text(const at::Tensor& v) {
  std::string out;
  for (std::int64_t i = 0; i < v.numel(); ++i) out += (i ? " " : "") + std::to_string(v[i].item<double>()).substr(0, 6);
  return out;
}

// W1 of the samples x (members, ..., 4 copies) of each case, the copies
// pooled, to the quadrature posterior on `nodes` of y = the first 4
// observations: (4).
inline at::Tensor wasserstein1(const at::Tensor& x, const assim::ObservationOperator& h, const at::Tensor& nodes,
                               const at::Tensor& y) {
  const at::Tensor weights = assim::testing::quadrature_posterior(h, nodes, y, kSigmaO, kPriorStd);
  const at::Tensor pooled = x.reshape({-1, kCases});
  at::Tensor out = at::empty({kCases}, f64);
  for (std::int64_t k = 0; k < kCases; ++k)
    out[k] = assim::testing::wasserstein1(pooled.select(1, k), nodes, weights[k]);
  return out;
}

// Largest |mean - exact mean| and |std - exact std| over the four cases,
// pooling the copies of each case.
inline Gap gap(const at::Tensor& x, const Moments& exact, const std::string& who) {
  const Moments got = moments(x.reshape({-1, kCases}));
  return {(got.mean - exact.mean).abs().max().item<double>(),
          (got.variance.sqrt() - exact.variance.sqrt()).abs().max().item<double>(),
          who + ": mean " + text(got.mean) + ", std " + text(got.variance.sqrt()) + "; exact: mean " +
              text(exact.mean) + ", std " + text(exact.variance.sqrt())};
}

}  // namespace nonlinear

}  // namespace toy
