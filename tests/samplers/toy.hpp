// Test problems with known posteriors for the score-based samplers.
//
// Every header of torch comes before doctest in the files that include this
// one: glog's CHECK macros would otherwise replace doctest's.
#pragma once

#include "gaussian.hpp"
#include "operators.hpp"

#include <assim/testing/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>

#include <ATen/ATen.h>

#include <memory>
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
// point, on the quadrature nodes (y: (P)).
inline Moments quadrature_posterior(const assim::ObservationOperator& h, const at::Tensor& nodes, const at::Tensor& y,
                                    double sigma_o, double prior_std) {
  const at::Tensor log_post =
      -0.5 * (nodes / prior_std).square() - (y.unsqueeze(-1) - h.apply(nodes)).square() / (2 * sigma_o * sigma_o);
  const at::Tensor w = at::softmax(log_post, -1);
  const at::Tensor mean = (w * nodes).sum(-1);
  return {mean, (w * (nodes - mean.unsqueeze(-1)).square()).sum(-1)};
}

}  // namespace toy
