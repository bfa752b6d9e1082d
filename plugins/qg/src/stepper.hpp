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
#include <vector>

namespace assim::qg {

// A member left the range where the scheme is valid: CFL > 1 or NaN. The
// message names the member, the step, the CFL number and a dt that would pass.
struct Divergence : std::runtime_error {
  Divergence(std::int64_t step, std::int64_t member, double cfl, double dt);
  std::int64_t step;  // steps taken when the bad state was found (0: the initial state)
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
  // the last advance() left there, and receives the new ones. Members are
  // advanced a block of up to `block` steps at a time each, so that one
  // member's arrays stay in cache, and shared out over the OpenMP threads
  // (LibTorch's: the host's --threads), each member on one thread: the bits
  // do not depend on the threads. Throws Divergence, naming the earliest bad
  // state, once every member has finished the block in which a member's
  // velocities showed CFL > 1 or a NaN.
  void advance(double* q, std::int64_t steps);

  std::int64_t steps_taken() const { return steps_; }

  static constexpr int block = 8;

 private:
  // The AB3 coefficients (times dt) of one step and the history slot that
  // holds R_n-1; the other slot holds R_n-2 and receives R_n.
  struct Schedule {
    double c1, c2, c3;
    int previous;
  };
  // Scratch of one member step, one per thread, reused across members:
  // spectral4 holds u1h u2h v1h v2h, then the flux spectra, then (first two
  // planes) qh_n+1 / (nx ny) for the inverse FFT; velocity4 holds u1 u2 v1 v2
  // as the inverse FFT leaves them, then in place the fluxes (u1 + U1) q1,
  // (u2 + U2) q2, v1 q1, v2 q2; q_aligned stands in for a caller array
  // aligned unlike fftw_malloc's.
  struct Scratch {
    explicit Scratch(const Grid& grid);
    FftwArray<fftw_complex> spectral4;
    FftwArray<double> velocity4;
    FftwArray<double> q_aligned;
  };
  // One member's step. Returns a negative number, or the CFL number (NaN for
  // a NaN) of the state it started from when that is out of range.
  double step_member(std::int64_t m, double* q, const Schedule& step, Scratch& scratch);
  // Steps 1 and 2 of the scheme: velocities on the grid into scratch.velocity4.
  void velocities(const double* qh, Scratch& scratch) const;
  double cfl_of_velocities(const Scratch& scratch) const;

  std::shared_ptr<const Grid> grid_;
  std::int64_t members_;
  const Transforms& plans_;
  std::int64_t steps_ = 0;
  int level_ = 0;     // 0: next step is Euler, 1: AB2, 2: AB3
  int previous_ = 0;  // slot of history_ holding R_n-1
  FftwArray<fftw_complex> qh_;          // (member, layer, l, k)
  FftwArray<fftw_complex> history_[2];  // unfiltered tendencies R_n-1, R_n-2 by slot
  std::vector<std::unique_ptr<Scratch>> scratch_;  // one per thread, grown when more threads come
};

// psi, u, v (anomaly, without U) of one member's q (2, ny, nx), each (2, ny, nx),
// with FFTW_ESTIMATE plans; the reference the differentiable path is tested against.
void invert(const Grid& grid, const double* q, double* psi, double* u, double* v);

}  // namespace assim::qg
