// sampler.var4d: 4D-Var by automatic differentiation. The MAP estimate of a
// window under Gaussian laws minimises Li & Liu's eq. 18 (with Laplace
// observation noise the observations' term is its L1 negative log-likelihood),
//   J = 1/2 |x_0 - x_b|^2_B^-1 + 1/2 sum_t |y_t - H(x_t)|^2_R^-1
//       + 1/2 sum_t |x_t - M(x_t-1)|^2_Q^-1,
// whose gradient autograd takes through the model's differentiable step and
// the observation operator: no hand-written adjoint. The control is
// preconditioned by B^(1/2) (x_0 = x_b + B^(1/2) v, so the background term is
// 1/2 |v|^2) and, in the weak constraint, model errors enter as forcings
// (x_t = M(x_t-1) + sigma_q eta_t, 1/2 |eta_t|^2): the same minimiser as the
// state formulation, better conditioned. L-BFGS minimises it. One frame is
// 3D-Var. Several members form an ensemble of data assimilations: each
// minimises J with its own perturbed observations (and, when the background
// is one state, a perturbed background), which for linear H and M draws
// exactly from the Gaussian posterior (randomised maximum likelihood).
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace assim::variational {

struct Options {
  enum class Constraint { kStrong, kWeak } constraint = Constraint::kStrong;
  double model_sigma = 0.1;    // std of the model error per frame transition (weak constraint)
  // B: sigma_b^2 I, or from a climatology: its covariance, its variances
  // (diagonal), or its homogeneous part (diagonal in Fourier space over the
  // periodic spatial dims, the channels' cross-covariance per wavenumber).
  enum class Covariance { kScalar, kClimatology, kDiagonal, kSpectral } covariance = Covariance::kScalar;
  double background_scale = 1;  // xB: B = xB * (sigma_b^2 I or the climatology's B)
  // sigma_b of the scalar B, in state units; absent: the observe design's
  // (problem.background_sigma()), which a filter stage does not give.
  std::optional<double> background_sigma;
  // The observations' term: the negative log-likelihood of the law their
  // noise was drawn from (kLaw), or Gaussian whatever the law.
  enum class Likelihood { kLaw, kGaussian } likelihood = Likelihood::kLaw;
  std::int64_t iterations = 100;
  double gradient_tolerance = 1e-5;  // stop when |grad J| <= this x |grad J| at the background
};

// What one minimisation went through, one entry per L-BFGS iteration (the
// first is the background).
struct Trace {
  std::vector<double> cost, gradient_norm;
  std::int64_t evaluations = 0;  // of J and its gradient: one model run forward and back each
};

class Var4D : public Sampler {
 public:
  SamplerNeeds needs() const override;
  static Parameters parameters();
  explicit Var4D(const Config& config);
  explicit Var4D(Options options);

  // (members, L, state dims...) float64: the minimiser of each member's J.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;
  // The same, recording J and |grad J| of the sum over members.
  at::Tensor minimise(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed,
                      Trace* trace) const;

  // B^(1/2) from a climatology, computed once per climatology: a filter
  // hands the same one to every cycle.
  struct Cache;

 private:
  Options options_;
  std::shared_ptr<Cache> cache_;
};

}  // namespace assim::variational
