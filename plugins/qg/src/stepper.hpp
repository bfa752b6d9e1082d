// pyqg's time step for a batch of members on FFTW (reference doc, "Time
// stepping and filter"): invert, flux-form tendency, AB3 with Euler/AB2
// start-up over unfiltered tendencies, exponential filter, back to the grid.
#pragma once

#include "fft.hpp"
#include "grid.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace qg {

// A member left the range where the scheme is valid: CFL > 1 or NaN.
struct Divergence : std::runtime_error {
  Divergence(std::int64_t step, std::int64_t member, double cfl, double dt);
  std::int64_t step;    // steps taken when the bad state was found (0: the initial state)
  std::int64_t member;  // the first member found bad
  double cfl;           // NaN when the state holds a NaN
  double suggested_dt;  // 0.8 dt / cfl; 0 when cfl is NaN
};

// States are `members` blocks of (layer = 2, y, x) doubles, contiguous. The
// stepper keeps each member's spectral state and AB3 history; the grid values
// live in the caller's array, which FFTW writes directly.
class Stepper {
 public:
  Stepper(std::shared_ptr<const Grid> grid, std::int64_t members, Planning planning);

  // Starts from q: qh = FFT(q), empty history (the next step is forward Euler,
  // as pyqg after setting q or dt).
  void start(const double* q);
  // Advances every member `steps` steps; q holds the states that start() or
  // the last advance() left there, and receives the new ones. Throws
  // Divergence after finishing the step in which a member's velocities
  // showed CFL > 1 or a NaN (every member then has taken that step).
  void advance(double* q, std::int64_t steps);

  std::int64_t steps_taken() const { return steps_; }
  std::int64_t members() const { return members_; }
  const Grid& grid() const { return *grid_; }

 private:
  // One member's step; returns false if its velocities violate CFL <= 1 or hold a NaN.
  bool step_member(std::int64_t m, double* q, double c1, double c2, double c3, int newest,
                   int previous, int before);
  double cfl_of_scratch() const;

  std::shared_ptr<const Grid> grid_;
  std::int64_t members_;
  const Transforms& plans_;
  std::int64_t steps_ = 0;
  int level_ = 0;   // 0: next step is Euler, 1: AB2, 2: AB3
  int newest_ = 0;  // slot of history_ holding the last tendency
  FftwArray<fftw_complex> qh_;          // (member, layer, l, k)
  FftwArray<fftw_complex> history_[3];  // unfiltered tendencies R_n, R_n-1, R_n-2 by slot
  // Scratch of one member step, reused across members.
  FftwArray<fftw_complex> spectral4_;   // u1h u2h v1h v2h, then the flux spectra
  FftwArray<double> velocity4_;         // u1 u2 v1 v2 (unnormalised FFT output)
  FftwArray<double> flux4_;             // (u1+U1) q1, (u2+U2) q2, v1 q1, v2 q2
  FftwArray<fftw_complex> qh_new_;      // the new qh / (nx ny), consumed by the inverse FFT
  FftwArray<double> q_aligned_;         // for a caller array aligned unlike fftw_malloc's
};

// psi, u, v (anomaly, without U) of one member's q (2, ny, nx), each (2, ny, nx),
// with FFTW_ESTIMATE plans; the reference the differentiable path is tested against.
void invert(const Grid& grid, const double* q, double* psi, double* u, double* v);

}  // namespace qg
