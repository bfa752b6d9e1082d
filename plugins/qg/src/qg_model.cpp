#include "qg_model.hpp"

#include "stepper.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <random>
#include <utility>

namespace assim::qg {

namespace {

// Each setting bound to the ModelOptions field it fills (whose initial value
// is the default: pyqg's); fft_wisdom, a file named relative to the
// experiment file, is read where the planning needs it.
assim::Fields<ModelOptions> fields() {
  assim::Fields<ModelOptions> p;
  p.integer<std::int64_t>("nx", &ModelOptions::nx, "", "grid points per side, even (ny = nx)").at_least(4).at_most(8192);
  p.real("L", &ModelOptions::L, "m", "domain side (W = L)").above(0);
  p.real("dt", &ModelOptions::dt, "s", "time step (7200 s is unstable from nx = 256 on: use 900-1800 s there)")
      .above(0);
  p.real("beta", &ModelOptions::beta, "m-1 s-1", "meridional gradient of the Coriolis parameter");
  p.real("rd", &ModelOptions::rd, "m", "deformation radius").above(0);
  p.real("delta", &ModelOptions::delta, "", "layer thickness ratio H1 / H2").above(0);
  p.real("H1", &ModelOptions::H1, "m", "upper-layer thickness").above(0);
  p.real("U1", &ModelOptions::U1, "m s-1", "upper-layer background zonal flow");
  p.real("U2", &ModelOptions::U2, "m s-1", "lower-layer background zonal flow");
  p.real("rek", &ModelOptions::rek, "s-1", "linear bottom drag coefficient (1 / 20 days)").at_least(0);
  p.real("filterfac", &ModelOptions::filterfac, "", "strength of the exponential small-scale filter").at_least(0);
  p.boolean("dealias", &ModelOptions::dealias,
            "replace the exponential filter by the 2/3-rule mask (not pyqg's scheme)");
  p.choice("fft_planning", &ModelOptions::planning,
           {{"measure", Planning::Measure}, {"estimate", Planning::Estimate}, {"wisdom", Planning::Wisdom}},
           "FFTW planning: estimate (the same plan, so the same bits, in every run: a seed reproduces the data), "
           "measure (the plan timed fastest at start-up; it may differ between runs, and over years of "
           "chaotic flow its last bits grow into a different trajectory) or wisdom (the plan stored in "
           "fft_wisdom: as fast as measure and the same in every run that reads the same file)");
  p.unbound()
      .string("fft_wisdom", "", "",
              "FFTW wisdom file for fft_planning: wisdom, relative to the experiment file; write it once with "
              "`qg_wisdom FILE NX...` (build/plugins/qg/qg_wisdom) on the machine kind that will read it")
      .input_file();
  return p;
}

ModelOptions options_from(const assim::Config& c) {
  const ModelOptions options = fields().read(c);
  if (options.nx % 2 != 0) c.fail("nx", "must be even (the spectral grid keeps the Nyquist wavenumber)");
  if (options.planning == Planning::Wisdom) {
    // Read and planned now, so that a missing or foreign file stops the
    // experiment before anything runs.
    const auto file = c.file("fft_wisdom");
    if (file.empty()) c.fail("fft_wisdom", "fft_planning: wisdom needs the wisdom file (write it with qg_wisdom FILE NX...)");
    try {
      import_wisdom(file);
      transforms(options.nx, Planning::Wisdom);
    } catch (const std::runtime_error& e) {
      c.fail("fft_wisdom", e.what());
    }
  }
  return options;
}

at::Tensor tensor_of(const std::vector<double>& values, at::IntArrayRef shape) {
  return at::from_blob(const_cast<double*>(values.data()), shape, at::kDouble).clone();
}

class QgTrajectory final : public assim::Trajectory {
 public:
  QgTrajectory(std::shared_ptr<const Grid> grid, Planning planning, at::Tensor q)
      : q_(std::move(q)), stepper_(std::move(grid), q_.size(0), planning) {
    stepper_.start(q_.data_ptr<double>());
  }

  void advance(std::int64_t steps) override {
    try {
      stepper_.advance(q_.data_ptr<double>(), steps);
    } catch (const Divergence& e) {
      throw assim::DivergenceError(static_cast<long>(e.step), e.what());
    }
  }

  // A copy: the stepper overwrites q_ in place on the next advance.
  at::Tensor state() const override { return q_.clone(); }
  std::int64_t steps_taken() const override { return stepper_.steps_taken(); }

 private:
  at::Tensor q_;  // (member, 2, ny, nx) float64, where FFTW writes each new state
  Stepper stepper_;
};

}  // namespace

TwoLayerModel::TwoLayerModel(const assim::Config& config) : TwoLayerModel(options_from(config)) {}

TwoLayerModel::TwoLayerModel(const Parameters& parameters, Planning planning)
    : grid_(std::make_shared<const Grid>(parameters)), planning_(planning) {
  const Grid& g = *grid_;
  inversion_ = at::stack({tensor_of(g.a11, {g.ny, g.nk}), tensor_of(g.a12, {g.ny, g.nk}),
                          tensor_of(g.a21, {g.ny, g.nk}), tensor_of(g.a22, {g.ny, g.nk})})
                   .reshape({2, 2, g.ny, g.nk});
  const at::Tensor k = tensor_of(g.k, {g.nk}), l = tensor_of(g.l, {g.ny, 1});
  ik_ = at::complex(at::zeros_like(k), k);
  il_ = at::complex(at::zeros_like(l), l);
  k_ = k;
  l_ = l;
  kQy_ = at::stack({tensor_of(g.kQy1, {1, g.nk}), tensor_of(g.kQy2, {1, g.nk})});
  drag_ = at::stack({at::zeros({g.ny, g.nk}, at::kDouble), tensor_of(g.rek_kappa2, {g.ny, g.nk})});
  filter_ = tensor_of(g.filter, {g.ny, g.nk});
}

at::Tensor TwoLayerModel::streamfunction_spectrum(const at::Tensor& qh) const {
  return (inversion_.to(qh.device(), c10::toRealValueType(qh.scalar_type())) * qh.unsqueeze(-4)).sum(-3);
}

at::Tensor TwoLayerModel::differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                                    std::int64_t frame_steps) const {
  check_shape(states, true);
  const Grid& g = *grid_;
  const std::array<std::int64_t, 2> grid_shape{g.ny, g.nx};
  const double dt = g.p.dt;
  const at::Tensor U = at::tensor({g.p.U1, g.p.U2}, at::kDouble).view({2, 1, 1});
  const at::Tensor minus_i = at::complex(at::zeros({}, at::kDouble), -at::ones({}, at::kDouble));
  at::Tensor q = states.to(at::kDouble);
  at::Tensor qh = at::fft_rfft2(q);
  at::Tensor previous, before;  // unfiltered tendencies R_n-1, R_n-2
  std::int64_t level = 0;       // 0: Euler, 1: AB2, 2: AB3, as after setting q in pyqg
  std::vector<at::Tensor> out{q};
  for (std::int64_t f = 1; f < frames; ++f) {
    for (std::int64_t s = 0; s < frame_steps; ++s) {
      // Invert, velocities and fluxes on the grid, back to the spectrum.
      const at::Tensor psih = streamfunction_spectrum(qh);
      const at::Tensor u = at::fft_irfft2(-il_ * psih, grid_shape) + U;
      const at::Tensor v = at::fft_irfft2(ik_ * psih, grid_shape);
      const at::Tensor fh = at::fft_rfft2(u * q), gh = at::fft_rfft2(v * q);
      // R = -i (k F + l G + k Qy psih) + drag psih, grouped as the stepper sums it.
      const at::Tensor R = minus_i * ((k_ * fh + l_ * gh) + kQy_ * psih) + drag_ * psih;
      at::Tensor next;
      if (level == 0) next = qh + dt * R;
      if (level == 1) next = (qh + 1.5 * dt * R) + (-0.5 * dt) * previous;
      if (level == 2)
        next = ((qh + 23. / 12. * dt * R) + (-16. / 12. * dt) * previous) + 5. / 12. * dt * before;
      qh = filter_ * next;
      before = previous;
      previous = R;
      level = std::min<std::int64_t>(level + 1, 2);
      q = at::fft_irfft2(qh, grid_shape);
    }
    out.push_back(q);
  }
  return at::stack(out, 1);
}

assim::Parameters TwoLayerModel::parameters() { return fields().parameters(); }

assim::StateSpec TwoLayerModel::state_spec() const {
  const Grid& g = *grid_;
  assim::StateSpec spec;
  spec.variable = "q";
  spec.long_name = "potential vorticity anomaly";
  spec.units = "s-1";
  spec.dims = {{"layer", 2, "", 0.0}, {"y", g.ny, "m", g.dy}, {"x", g.nx, "m", g.dx}};
  spec.time_step = g.p.dt;
  spec.time_units = "s";
  return spec;
}

at::Tensor TwoLayerModel::initial_state(std::int64_t members, std::uint64_t seed) const {
  const std::int64_t ny = grid_->ny, nx = grid_->nx;
  at::Tensor q = at::zeros({members, 2, ny, nx}, at::kDouble);
  double* data = q.data_ptr<double>();
  for (std::int64_t m = 0; m < members; ++m) {
    const auto member = static_cast<std::uint64_t>(m);
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                      static_cast<std::uint32_t>(member), static_cast<std::uint32_t>(member >> 32)};
    std::mt19937_64 engine(seq);
    // 53 random bits in [0, 1): the same numbers with every standard library.
    auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };
    double* q1 = data + m * 2 * ny * nx;
    // numpy's order in pyqg: rand(ny, nx) first, then rand(1, nx).
    for (std::int64_t x = 0; x < ny * nx; ++x) q1[x] = 1e-7 * uniform();
    std::vector<double> row(static_cast<std::size_t>(nx));
    for (auto& r : row) r = uniform();
    for (std::int64_t y = 0; y < ny; ++y)
      for (std::int64_t x = 0; x < nx; ++x) q1[y * nx + x] += 1e-6 * row[static_cast<std::size_t>(x)];
  }
  return q;
}

void TwoLayerModel::check_shape(const at::Tensor& states, bool batched) const {
  const std::int64_t n = grid_->nx;
  const bool ok = batched ? states.dim() == 4 : states.dim() >= 3;
  if (!ok || states.size(-3) != 2 || states.size(-2) != n || states.size(-1) != n) {
    std::string shape;
    for (auto s : states.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
    throw assim::Error("model.qg expects states of shape " +
                       std::string(batched ? "(member, 2, " : "(batch..., 2, ") +
                       std::to_string(n) + ", " + std::to_string(n) + "), not (" + shape + ")");
  }
}

std::unique_ptr<assim::Trajectory> TwoLayerModel::start(const at::Tensor& states) const {
  check_shape(states, true);
  // An owned, contiguous float64 CPU copy: FFTW writes each new state into it.
  at::Tensor q = states.detach().to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU),
                                    /*non_blocking=*/false, /*copy=*/true,
                                    at::MemoryFormat::Contiguous);
  return std::make_unique<QgTrajectory>(grid_, planning_, std::move(q));
}

std::vector<std::string> TwoLayerModel::quantities() const {
  return {"psi", "u", "v", "velocity"};
}

at::Tensor TwoLayerModel::derive(const at::Tensor& states, const std::string& quantity) const {
  const auto names = quantities();
  if (std::find(names.begin(), names.end(), quantity) == names.end())
    throw assim::Error("model.qg derives psi, u, v and velocity, not '" + quantity + "'");
  check_shape(states, false);
  const Grid& g = *grid_;
  const auto real_type = states.scalar_type();
  const auto complex_type = c10::toComplexType(real_type);
  const std::array<std::int64_t, 2> grid_shape{g.ny, g.nx};
  // The stepper's inversion (reference doc, "Physics") in ATen ops, so that
  // autograd sees it: psih_i = sum_j a_ij qh_j, uh = -i l psih, vh = i k psih.
  const at::Tensor qh = at::fft_rfft2(states);
  const at::Tensor psih = streamfunction_spectrum(qh);
  if (quantity == "psi") return at::fft_irfft2(psih, grid_shape);
  const at::Tensor ik = ik_.to(states.device(), complex_type);
  const at::Tensor il = il_.to(states.device(), complex_type);
  if (quantity == "u") return at::fft_irfft2(-il * psih, grid_shape);
  if (quantity == "v") return at::fft_irfft2(ik * psih, grid_shape);
  return at::fft_irfft2(at::cat({-il * psih, ik * psih}, -3), grid_shape);
}

}  // namespace assim::qg
