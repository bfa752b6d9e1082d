// model.qg: the assim::Model face of the two-layer QG core.
#pragma once

#include "fft.hpp"
#include "grid.hpp"

#include <assim/config.hpp>
#include <assim/model.hpp>
#include <assim/parameters.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace assim::qg {

// model.qg's settings: pyqg's physics (its defaults as initial values) and
// the FFTW planning.
struct ModelOptions : Parameters {
  Planning planning = Planning::Estimate;
};

class TwoLayerModel : public assim::Model {
 public:
  explicit TwoLayerModel(const assim::Config& config);
  explicit TwoLayerModel(const ModelOptions& options) : TwoLayerModel(options, options.planning) {}
  TwoLayerModel(const Parameters& parameters, Planning planning);

  static assim::Parameters parameters();

  assim::StateSpec state_spec() const override;
  // pyqg's initial condition: q1 = 1e-7 U(0,1)[ny,nx] + 1e-6 (one U(0,1) row
  // repeated over y), q2 = 0; member m draws from mt19937_64 seeded with (seed, m).
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override;
  // states (member, 2, ny, nx); the trajectory holds a float64 CPU copy.
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override;
  // psi, u, v (anomalies, without U) for states (batch..., 2, ny, nx), and
  // "velocity" = (batch..., 4, ny, nx) = [u1, u2, v1, v2]; differentiable.
  std::vector<std::string> quantities() const override;
  at::Tensor derive(const at::Tensor& states, const std::string& quantity) const override;
  // The FFTW stepper's scheme (inversion, flux-form tendency, Euler/AB2/AB3
  // start-up, exponential filter) on ATen's FFTs in float64, for autograd's
  // adjoint (4D-Var); (member, frames, 2, ny, nx). FFTW stays the fast path.
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override;

  const Grid& grid() const { return *grid_; }

 private:
  void check_shape(const at::Tensor& states, bool batched) const;
  // psih = a qh: the one inversion of the ATen path (derive and the step).
  at::Tensor streamfunction_spectrum(const at::Tensor& qh) const;

  std::shared_ptr<const Grid> grid_;
  Planning planning_;
  // The grid's coefficients as tensors for the ATen path: the inversion
  // matrix (2, 2, ny, nk) and i k (nk), i l (ny, 1).
  at::Tensor inversion_, ik_, il_;
  // For the step: k (nk) and l (ny, 1) as reals, k Qy per layer (2, 1, nk),
  // the drag rek kappa^2 on the lower layer only (2, ny, nk), the filter (ny, nk).
  at::Tensor k_, l_, kQy_, drag_, filter_;
};

}  // namespace assim::qg
