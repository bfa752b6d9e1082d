// prior.gaussian: an analytic prior N(m, Sigma) over windows of a declared
// event shape (frames, channels, y, x), with the exact denoiser
//   eps_hat(z_t, t) = sigma_t (mu_t^2 Sigma + sigma_t^2 I)^{-1} (z_t - mu_t m)
// (the noised marginal at time t is N(mu_t m, mu_t^2 Sigma + sigma_t^2 I)).
// It is the oracle of the sampler tests: with it the posterior is Gaussian
// and known in closed form.
#pragma once

#include <assim/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/parameters.hpp>
#include <assim/prior.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace assim::gaussian_prior {

class GaussianPrior : public assim::Prior {
 public:
  static assim::Parameters parameters();
  explicit GaussianPrior(const assim::Config& config);

  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override;
  std::vector<std::int64_t> window_shape() const override { return shape_; }

  // (frames, channels, y, x)
  const std::vector<std::int64_t>& shape() const { return shape_; }
  double mean() const { return mean_; }
  // The covariance as a dense (n, n) float64 matrix, n = frames * channels * y * x,
  // over the row-major flattening of the event.
  at::Tensor covariance() const;

 private:
  std::vector<std::int64_t> shape_;
  std::int64_t size_ = 0;  // elements of one event
  double mean_ = 0;
  assim::CosineSchedule schedule_;
  // Diagonal case: the variance of every element, broadcastable to (1, frames, channels, y, x).
  at::Tensor variance_;
  // Dense case: Sigma = U diag(lambda) U^T over a block of block_ elements
  // (the whole event, or frames x channels at each grid point), so that the
  // inverse at any t is U diag(1 / (mu^2 lambda + sigma^2)) U^T without a solve per call.
  at::Tensor eigenvalues_, eigenvectors_;
  std::int64_t block_ = 0;
};

}  // namespace assim::gaussian_prior
