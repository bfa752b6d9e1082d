#include "stepper.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace assim::qg {

namespace {

std::string divergence_message(std::int64_t step, std::int64_t member, double cfl, double dt) {
  std::ostringstream out;
  out.precision(3);
  if (std::isnan(cfl)) {
    out << "member " << member << " holds NaN after step " << step << " (dt = " << dt
        << " s); a smaller dt may keep it finite";
  } else {
    out << "member " << member << " has CFL = max(|u + U|, |v|) dt / dx = " << cfl
        << " > 1 after step " << step << " (dt = " << dt << " s); try dt <= 0.8 dt / CFL = "
        << 0.8 * dt / cfl << " s";
  }
  return out.str();
}

// The three loops besides the FFTs, each one pass over its arrays. They are
// compiled for AVX2 and for baseline x86-64 and the loader picks one (function
// multi-versioning): the CFL test of the flux loop vectorises only with AVX2's
// 64-bit integer compares. Both give the same bits: every operation is
// elementwise, and AVX2 brings no fused multiply-add.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QG_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define QG_MULTIVERSION
#endif

// Steps 1-2 in the spectral domain: psih = a qh, then w = (u1h u2h v1h v2h)
// with uh = -i l psih, vh = i k psih.
QG_MULTIVERSION
void spectral_velocities(const Grid& g, const double* __restrict qh, double* __restrict w) {
  const std::int64_t M = g.modes(), nk = g.nk, ny = g.ny;
  const double* __restrict a11 = g.a11.data();
  const double* __restrict a12 = g.a12.data();
  const double* __restrict a21 = g.a21.data();
  const double* __restrict a22 = g.a22.data();
  const double* __restrict kk = g.k.data();
  for (std::int64_t j = 0; j < ny; ++j) {
    const double lj = g.l[j];
    for (std::int64_t i = 0; i < nk; ++i) {
      const std::int64_t x = j * nk + i, y = M + x;
      const double q1r = qh[2 * x], q1i = qh[2 * x + 1];
      const double q2r = qh[2 * y], q2i = qh[2 * y + 1];
      const double p1r = a11[x] * q1r + a12[x] * q2r, p1i = a11[x] * q1i + a12[x] * q2i;
      const double p2r = a21[x] * q1r + a22[x] * q2r, p2i = a21[x] * q1i + a22[x] * q2i;
      w[2 * x] = lj * p1i;
      w[2 * x + 1] = -lj * p1r;
      w[2 * y] = lj * p2i;
      w[2 * y + 1] = -lj * p2r;
      w[2 * (2 * M + x)] = -kk[i] * p1i;
      w[2 * (2 * M + x) + 1] = kk[i] * p1r;
      w[2 * (3 * M + x)] = -kk[i] * p2i;
      w[2 * (3 * M + x) + 1] = kk[i] * p2r;
    }
  }
}

// Step 2 on the grid: with u = IFFT(uh) normalised as pyqg does (after the
// transform), velocity4 = (u1 u2 v1 v2) becomes in place the fluxes
// ((u1 + U1) q1, (u2 + U2) q2, v1 q1, v2 q2). False if some |u + U| or |v|
// exceeds dx / dt (CFL > 1) or is NaN.
QG_MULTIVERSION
bool flux_loop(const Grid& g, const double* __restrict q, double* __restrict velocity4) {
  const std::int64_t P = g.points();
  const double s = 1.0 / static_cast<double>(P);
  const double limit = g.dx / g.p.dt;
  std::int64_t bad = 0;
  for (int layer = 0; layer < 2; ++layer) {
    const double U = g.U(layer);
    double* __restrict u = velocity4 + layer * P;
    double* __restrict v = velocity4 + (2 + layer) * P;
    const double* __restrict ql = q + layer * P;
    for (std::int64_t x = 0; x < P; ++x) {
      const double uf = u[x] * s + U, vf = v[x] * s;
      u[x] = uf * ql[x];
      v[x] = vf * ql[x];
      bad |= static_cast<std::int64_t>(!(std::fabs(uf) <= limit)) |
             static_cast<std::int64_t>(!(std::fabs(vf) <= limit));
    }
  }
  return bad == 0;
}

// Step 3: R_j = -[i k FFT((u_j + U_j) q_j) + i l FFT(v_j q_j)] - i k Qy_j psih_j
// (+ rek kappa^2 psih_2 for the lower layer), then
// qh_n+1 = filtr [qh_n + dt (c1 R_n + c2 R_n-1 + c3 R_n-2)], history unfiltered.
// w holds the flux spectra; R holds R_n-2. R_n overwrites R_n-2 and
// qh_n+1 / (nx ny), the inverse FFT's input, the flux spectra, each right after
// it was read, so that no array is written without being read.
QG_MULTIVERSION
void update(const Grid& g, double* __restrict qh, double* __restrict w, const double* __restrict Rp,
            double* __restrict R, double c1,
            double c2, double c3) {
  const std::int64_t M = g.modes(), nk = g.nk, ny = g.ny;
  const double* __restrict a11 = g.a11.data();
  const double* __restrict a12 = g.a12.data();
  const double* __restrict a21 = g.a21.data();
  const double* __restrict a22 = g.a22.data();
  const double* __restrict kk = g.k.data();
  const double* __restrict kQy1 = g.kQy1.data();
  const double* __restrict kQy2 = g.kQy2.data();
  const double* __restrict drag = g.rek_kappa2.data();
  const double* __restrict filter = g.filter.data();
  const double s = 1.0 / static_cast<double>(g.points());
  for (std::int64_t j = 0; j < ny; ++j) {
    const double lj = g.l[j];
    for (std::int64_t i = 0; i < nk; ++i) {
      const std::int64_t x = j * nk + i, y = M + x;  // layer 1 / layer 2 index
      const double q1r = qh[2 * x], q1i = qh[2 * x + 1];
      const double q2r = qh[2 * y], q2i = qh[2 * y + 1];
      const double p1r = a11[x] * q1r + a12[x] * q2r, p1i = a11[x] * q1i + a12[x] * q2i;
      const double p2r = a21[x] * q1r + a22[x] * q2r, p2i = a21[x] * q1i + a22[x] * q2i;
      const double f1r = w[2 * x], f1i = w[2 * x + 1];                      // FFT((u1 + U1) q1)
      const double f2r = w[2 * y], f2i = w[2 * y + 1];                      // FFT((u2 + U2) q2)
      const double g1r = w[2 * (2 * M + x)], g1i = w[2 * (2 * M + x) + 1];  // FFT(v1 q1)
      const double g2r = w[2 * (3 * M + x)], g2i = w[2 * (3 * M + x) + 1];  // FFT(v2 q2)
      // -(i a)(b + i c) = a c - i a b, summed in pyqg's order.
      const double r1r = (kk[i] * f1i + lj * g1i) + kQy1[i] * p1i;
      const double r1i = -((kk[i] * f1r + lj * g1r) + kQy1[i] * p1r);
      const double r2r = ((kk[i] * f2i + lj * g2i) + kQy2[i] * p2i) + drag[x] * p2r;
      const double r2i = -((kk[i] * f2r + lj * g2r) + kQy2[i] * p2r) + drag[x] * p2i;
      const double n1r = filter[x] * (((q1r + c1 * r1r) + c2 * Rp[2 * x]) + c3 * R[2 * x]);
      const double n1i =
          filter[x] * (((q1i + c1 * r1i) + c2 * Rp[2 * x + 1]) + c3 * R[2 * x + 1]);
      const double n2r = filter[x] * (((q2r + c1 * r2r) + c2 * Rp[2 * y]) + c3 * R[2 * y]);
      const double n2i =
          filter[x] * (((q2i + c1 * r2i) + c2 * Rp[2 * y + 1]) + c3 * R[2 * y + 1]);
      R[2 * x] = r1r;
      R[2 * x + 1] = r1i;
      R[2 * y] = r2r;
      R[2 * y + 1] = r2i;
      qh[2 * x] = n1r;
      qh[2 * x + 1] = n1i;
      qh[2 * y] = n2r;
      qh[2 * y + 1] = n2i;
      w[2 * x] = n1r * s;
      w[2 * x + 1] = n1i * s;
      w[2 * y] = n2r * s;
      w[2 * y + 1] = n2i * s;
    }
  }
}

// The OpenMP threads a parallel region would take here (LibTorch sets them:
// the host's --threads), and this thread's number inside one; 1 and 0
// without OpenMP.
int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
int thread_number() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace

Divergence::Divergence(std::int64_t step_, std::int64_t member, double cfl, double dt)
    : std::runtime_error(divergence_message(step_, member, cfl, dt)), step(step_) {}

Stepper::Scratch::Scratch(const Grid& grid)
    : spectral4(complex_array(4 * static_cast<std::size_t>(grid.modes()))),
      velocity4(real_array(4 * static_cast<std::size_t>(grid.points()))),
      q_aligned(real_array(2 * static_cast<std::size_t>(grid.points()))) {}

Stepper::Stepper(std::shared_ptr<const Grid> grid, std::int64_t members, Planning planning)
    : grid_(std::move(grid)), members_(members), plans_(transforms(grid_->nx, planning)) {
  if (members < 1) throw std::invalid_argument("a Stepper needs at least one member");
  const auto M = static_cast<std::size_t>(grid_->modes());
  const auto batch = static_cast<std::size_t>(members);
  qh_ = complex_array(batch * 2 * M);
  for (auto& h : history_) h = complex_array(batch * 2 * M);
  scratch_.push_back(std::make_unique<Scratch>(*grid_));
}

void Stepper::start(const double* q) {
  const auto P = static_cast<std::size_t>(grid_->points());
  const auto M = static_cast<std::size_t>(grid_->modes());
  double* aligned = scratch_.front()->q_aligned.get();
  for (std::int64_t m = 0; m < members_; ++m) {
    std::memcpy(aligned, q + m * 2 * P, sizeof(double) * 2 * P);
    fftw_execute_dft_r2c(plans_.forward2, aligned, qh_.get() + m * 2 * M);
  }
  for (auto& h : history_)
    std::memset(h.get(), 0, sizeof(fftw_complex) * static_cast<std::size_t>(members_) * 2 * M);
  steps_ = 0;
  level_ = 0;
  previous_ = 0;
}

void Stepper::advance(double* q, std::int64_t steps) {
  const std::int64_t P = grid_->points();
  const double dt = grid_->p.dt;
  const int threads = static_cast<int>(std::min<std::int64_t>(members_, max_threads()));
  while (static_cast<int>(scratch_.size()) < threads) scratch_.push_back(std::make_unique<Scratch>(*grid_));
  while (steps > 0) {
    const int n = static_cast<int>(std::min<std::int64_t>(steps, block));
    // The block's schedule, the same for every member.
    Schedule schedule[block];
    int level = level_, previous = previous_;
    for (int s = 0; s < n; ++s) {
      // Coefficients of R_n, R_n-1, R_n-2 times dt, written as pyqg forms them.
      Schedule& step = schedule[s];
      step = {dt, 0.0, 0.0, previous};                                    // forward Euler
      if (level == 1) step.c1 = 1.5 * dt, step.c2 = -0.5 * dt;           // AB2
      if (level == 2)
        step.c1 = 23. / 12. * dt, step.c2 = -16. / 12. * dt, step.c3 = 5. / 12. * dt;  // AB3
      level = std::min(level + 1, 2);
      previous ^= 1;  // R_n went into the R_n-2 slot
    }
    // Each member's first bad step in the block (n: none) and its CFL number,
    // reduced in member order below, so that the threads change nothing.
    std::vector<int> first_bad(static_cast<std::size_t>(members_), n);
    std::vector<double> cfl_at(static_cast<std::size_t>(members_), 0.0);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::int64_t m = 0; m < members_; ++m) {
      Scratch& scratch = *scratch_[static_cast<std::size_t>(thread_number())];
      const auto i = static_cast<std::size_t>(m);
      for (int s = 0; s < n; ++s) {
        const double cfl = step_member(m, q + m * 2 * P, schedule[s], scratch);
        if (!(cfl < 0) && first_bad[i] == n) {
          first_bad[i] = s;
          cfl_at[i] = cfl;
        }
      }
    }
    std::int64_t bad_step = -1, bad_member = -1;
    double bad_cfl = 0;
    for (std::int64_t m = 0; m < members_; ++m) {
      const auto i = static_cast<std::size_t>(m);
      if (first_bad[i] < n && (bad_step < 0 || steps_ + first_bad[i] < bad_step)) {
        bad_step = steps_ + first_bad[i];
        bad_member = m;
        bad_cfl = cfl_at[i];
      }
    }
    steps_ += n;
    steps -= n;
    level_ = level;
    previous_ = previous;
    if (bad_member >= 0) throw Divergence(bad_step, bad_member, bad_cfl, dt);
  }
}

void Stepper::velocities(const double* qh, Scratch& scratch) const {
  spectral_velocities(*grid_, qh, &scratch.spectral4[0][0]);
  fftw_execute_dft_c2r(plans_.inverse4, scratch.spectral4.get(), scratch.velocity4.get());
}

double Stepper::cfl_of_velocities(const Scratch& scratch) const {
  const Grid& g = *grid_;
  const std::int64_t P = g.points();
  const double s = 1.0 / static_cast<double>(P);
  double most = 0;
  for (int layer = 0; layer < 2; ++layer) {
    const double* u = scratch.velocity4.get() + layer * P;
    const double* v = scratch.velocity4.get() + (2 + layer) * P;
    for (std::int64_t x = 0; x < P; ++x) {
      const double speed = std::max(std::fabs(u[x] * s + g.U(layer)), std::fabs(v[x] * s));
      if (std::isnan(speed)) return std::numeric_limits<double>::quiet_NaN();
      most = std::max(most, speed);
    }
  }
  return most * g.p.dt / g.dx;
}

double Stepper::step_member(std::int64_t m, double* q, const Schedule& step, Scratch& scratch) {
  const std::int64_t P = grid_->points(), M = grid_->modes();
  double* qh = &qh_[m * 2 * M][0];
  double* velocity4 = scratch.velocity4.get();

  // 1.-2. Invert, velocities on the grid, fluxes; CFL and NaN test.
  velocities(qh, scratch);
  double cfl = -1;
  if (!flux_loop(*grid_, q, velocity4)) {
    // Rare: the fluxes overwrote the velocities; make them again for the
    // CFL number, then the fluxes again.
    velocities(qh, scratch);
    cfl = cfl_of_velocities(scratch);
    if (cfl <= 1) cfl = -1;  // the test's rounding at CFL = 1 exactly
    flux_loop(*grid_, q, velocity4);
  }
  fftw_execute_dft_r2c(plans_.forward4, velocity4, scratch.spectral4.get());

  // 3. Tendency, AB3 update and filter.
  update(*grid_, qh, &scratch.spectral4[0][0], &history_[step.previous][m * 2 * M][0],
         &history_[step.previous ^ 1][m * 2 * M][0], step.c1, step.c2, step.c3);

  // 4. q_n+1 = IFFT(qh_n+1), written straight into the caller's array when
  // its alignment allows the plan to run there.
  if (fftw_alignment_of(q) == fftw_alignment_of(scratch.q_aligned.get())) {
    fftw_execute_dft_c2r(plans_.inverse2, scratch.spectral4.get(), q);
  } else {
    fftw_execute_dft_c2r(plans_.inverse2, scratch.spectral4.get(), scratch.q_aligned.get());
    std::memcpy(q, scratch.q_aligned.get(), sizeof(double) * 2 * static_cast<std::size_t>(P));
  }
  return cfl;
}

void invert(const Grid& g, const double* q, double* psi, double* u, double* v) {
  const Transforms& plans = transforms(g.nx, Planning::Estimate);
  const std::int64_t P = g.points(), M = g.modes();
  const double s = 1.0 / static_cast<double>(P);
  auto real = real_array(4 * static_cast<std::size_t>(P));
  auto qh = complex_array(2 * static_cast<std::size_t>(M));
  auto psih = complex_array(2 * static_cast<std::size_t>(M));
  auto spectral = complex_array(4 * static_cast<std::size_t>(M));
  std::memcpy(real.get(), q, sizeof(double) * 2 * static_cast<std::size_t>(P));
  fftw_execute_dft_r2c(plans.forward2, real.get(), qh.get());
  for (std::int64_t x = 0; x < M; ++x) {
    for (int part = 0; part < 2; ++part) {
      psih[x][part] = g.a11[x] * qh[x][part] + g.a12[x] * qh[M + x][part];
      psih[M + x][part] = g.a21[x] * qh[x][part] + g.a22[x] * qh[M + x][part];
    }
  }
  // The inverse transforms destroy their input: they get copies.
  std::memcpy(spectral.get(), psih.get(), sizeof(fftw_complex) * 2 * static_cast<std::size_t>(M));
  fftw_execute_dft_c2r(plans.inverse2, spectral.get(), real.get());
  for (std::int64_t x = 0; x < 2 * P; ++x) psi[x] = real[x] * s;
  for (std::int64_t j = 0; j < g.ny; ++j) {
    for (std::int64_t i = 0; i < g.nk; ++i) {
      for (int layer = 0; layer < 2; ++layer) {
        const std::int64_t x = layer * M + j * g.nk + i;
        spectral[x][0] = g.l[j] * psih[x][1];  // uh = -i l psih
        spectral[x][1] = -g.l[j] * psih[x][0];
        spectral[2 * M + x][0] = -g.k[i] * psih[x][1];  // vh = i k psih
        spectral[2 * M + x][1] = g.k[i] * psih[x][0];
      }
    }
  }
  fftw_execute_dft_c2r(plans.inverse4, spectral.get(), real.get());
  for (std::int64_t x = 0; x < 2 * P; ++x) {
    u[x] = real[x] * s;
    v[x] = real[2 * P + x] * s;
  }
}

}  // namespace assim::qg
