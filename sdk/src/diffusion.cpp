// The variance-preserving cosine schedule of SDA and SOAD (reference doc,
// "Diffusion (both methods)"). Scalar versions serve samplers stepping on a
// grid of times; tensor versions serve training (one time per sample) and
// stay differentiable in t.
#include <assim/diffusion.hpp>
#include <assim/error.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

namespace assim {

namespace {
// t of shape (batch) -> (batch, 1, ..., 1) so that it broadcasts over x of `dims` dimensions.
at::Tensor per_sample(const at::Tensor& t, const at::Tensor& x) {
  if (t.dim() != 1 || t.size(0) != x.size(0))
    throw Error("diffusion time t must have shape (batch) = (" + std::to_string(x.size(0)) +
                "), got " + std::to_string(t.dim()) + " dimensions and " + std::to_string(t.numel()) +
                " elements");
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  return t.to(x.scalar_type()).reshape(shape);
}
}  // namespace

CosineSchedule::CosineSchedule(double eta) : eta_(eta) {
  if (!(eta > 0 && eta < 1)) throw Error("the cosine schedule needs 0 < eta < 1, got " + std::to_string(eta));
}

// mu(t) = cos(arccos(sqrt(eta)) t)^2: mu(0) = 1 and mu(1) = eta exactly.
double CosineSchedule::mu(double t) const {
  const double c = std::cos(std::acos(std::sqrt(eta_)) * t);
  return c * c;
}

// sigma(t) = sqrt(1 - mu^2 + eta^2): sigma(0) = eta (never zero), sigma(1) = 1.
double CosineSchedule::sigma(double t) const {
  const double m = mu(t);
  return std::sqrt(1 - m * m + eta_ * eta_);
}

double CosineSchedule::ratio(double t) const { return sigma(t) / mu(t); }

at::Tensor CosineSchedule::mu(const at::Tensor& t) const {
  return at::cos(std::acos(std::sqrt(eta_)) * t).square();
}

at::Tensor CosineSchedule::sigma(const at::Tensor& t) const {
  return at::sqrt(1 - mu(t).square() + eta_ * eta_);
}

at::Tensor CosineSchedule::noise(const at::Tensor& x0, const at::Tensor& eps, const at::Tensor& t) const {
  const at::Tensor tt = per_sample(t, x0);
  return mu(tt) * x0 + sigma(tt) * eps;
}

at::Tensor CosineSchedule::tweedie(const at::Tensor& x_t, const at::Tensor& eps_hat, double t) const {
  return (x_t - sigma(t) * eps_hat) / mu(t);
}

// Exponential integrator (DDIM): exact for the probability-flow ODE when
// eps_hat is constant over [s, t].
at::Tensor CosineSchedule::step(const at::Tensor& x_t, const at::Tensor& eps_hat, double t, double s) const {
  const double a = mu(s) / mu(t);
  return a * x_t + (sigma(s) - a * sigma(t)) * eps_hat;
}

std::vector<double> CosineSchedule::grid(int steps) const {
  if (steps < 1) throw Error("a reverse sampler needs at least 1 step, got " + std::to_string(steps));
  std::vector<double> times(static_cast<std::size_t>(steps) + 1);
  // 1 - i / K rather than repeated subtraction: the ends are exactly 1 and 0.
  for (int i = 0; i <= steps; ++i) times[static_cast<std::size_t>(i)] = 1.0 - static_cast<double>(i) / steps;
  return times;
}

}  // namespace assim
