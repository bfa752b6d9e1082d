// The variance-preserving cosine diffusion schedule and the pieces every
// score-based sampler shares (SDA, SOAD; ../shared/reference/score-based-da.md):
//   mu(t) = cos(arccos(sqrt(eta)) t)^2,  sigma(t) = sqrt(1 - mu(t)^2 + eta^2),
//   r(t) = sigma(t) / mu(t),
//   Tweedie:   x0_hat = (x_t - sigma_t eps_hat) / mu_t,
//   exponential-integrator (DDIM) step t -> s:
//              x_s = (mu_s / mu_t) x_t + (sigma_s - (mu_s / mu_t) sigma_t) eps_hat.
#pragma once

#include <assim/abi.hpp>

#include <ATen/core/Tensor.h>

#include <vector>

namespace assim {

class ASSIM_TOOLKIT CosineSchedule {
 public:
  explicit CosineSchedule(double eta = 1e-3);

  double eta() const { return eta_; }
  double mu(double t) const;
  double sigma(double t) const;
  double ratio(double t) const;  // r(t) = sigma / mu
  // Element-wise on a tensor of times (any shape), differentiable.
  at::Tensor mu(const at::Tensor& t) const;
  at::Tensor sigma(const at::Tensor& t) const;

  // x_t = mu_t x0 + sigma_t eps; t has shape (batch), x0 and eps (batch, ...).
  at::Tensor noise(const at::Tensor& x0, const at::Tensor& eps, const at::Tensor& t) const;
  // x0_hat from x_t and eps_hat at one time t.
  at::Tensor tweedie(const at::Tensor& x_t, const at::Tensor& eps_hat, double t) const;
  // One exponential-integrator step from t to s < t.
  at::Tensor step(const at::Tensor& x_t, const at::Tensor& eps_hat, double t, double s) const;
  // The K + 1 times linspace(1, 0, K + 1) of a K-step reverse sampler.
  std::vector<double> grid(int steps) const;

 private:
  double eta_;
};

}  // namespace assim
