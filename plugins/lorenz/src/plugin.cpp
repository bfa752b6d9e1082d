// Lorenz-96 and Lorenz-63: small chaotic models for testing assimilation
// methods against published benchmarks (see ../shared/reference/enkf-benchmarks.md).
#include "lorenz.hpp"

#include <assim/assim.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <vector>

namespace {

using assim::Config;
using assim::Parameters;

// Integrates members with one RK4 step per model step; the tendency is the
// only thing that differs between the two systems.
class RungeKuttaTrajectory : public assim::Trajectory {
 public:
  RungeKuttaTrajectory(at::Tensor states, double dt, std::function<void(const double*, double*)> tendency)
      : states_(states.to(at::kDouble).contiguous().clone()), dt_(dt), tendency_(std::move(tendency)) {}

  void advance(std::int64_t steps) override {
    const std::int64_t members = states_.size(0);
    const int size = static_cast<int>(states_.numel() / std::max<std::int64_t>(members, 1));
    double* x = states_.data_ptr<double>();
    for (std::int64_t s = 0; s < steps; ++s) {
      assim::lorenz::rk4_step(x, members, size, dt_, tendency_, scratch_);
      ++taken_;
    }
    // Checked once per call: a blow-up stays non-finite once it happened.
    if (!at::isfinite(states_).all().item<bool>())
      throw assim::DivergenceError(taken_, "a member is no longer finite; reduce dt (now " + std::to_string(dt_) + ")");
  }
  at::Tensor state() const override { return states_; }
  std::int64_t steps_taken() const override { return taken_; }

 private:
  at::Tensor states_;
  double dt_;
  std::function<void(const double*, double*)> tendency_;
  std::vector<double> scratch_;
  std::int64_t taken_ = 0;
};

// The same RK4 in torch operations, so that autograd differentiates through
// it (4D-Var's adjoint): (member, frames, size) after 0, frame_steps, ...
// steps. The operations are the C++ step's, in its order.
at::Tensor rk4_frames(const at::Tensor& states, std::int64_t frames, std::int64_t frame_steps, double dt,
                      const std::function<at::Tensor(const at::Tensor&)>& tendency) {
  at::Tensor x = states.to(at::kDouble);
  std::vector<at::Tensor> out{x};
  for (std::int64_t k = 1; k < frames; ++k) {
    for (std::int64_t s = 0; s < frame_steps; ++s) {
      const at::Tensor k1 = tendency(x);
      const at::Tensor k2 = tendency(x + 0.5 * dt * k1);
      const at::Tensor k3 = tendency(x + 0.5 * dt * k2);
      const at::Tensor k4 = tendency(x + dt * k3);
      x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    out.push_back(x);
  }
  return at::stack(out, 1);
}

at::Tensor gaussian_states(std::int64_t members, std::uint64_t seed, const std::vector<double>& mean,
                           double variance) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto n = static_cast<std::int64_t>(mean.size());
  at::Tensor m = at::tensor(at::ArrayRef<double>(mean), at::kDouble);
  return m + std::sqrt(variance) * at::randn({members, n}, generator, at::kDouble);
}

struct Lorenz96Options {
  std::int64_t sites = 40;
  double forcing = 8.0;
  double dt = 0.05;
  double initial_variance = 0.001;
};

class Lorenz96 : public assim::Model {
 public:
  static assim::Fields<Lorenz96Options> fields() {
    assim::Fields<Lorenz96Options> p;
    p.integer("sites", &Lorenz96Options::sites, "", "number of variables on the circle").at_least(4);
    p.real("forcing", &Lorenz96Options::forcing, "1", "constant forcing F").at_least(0);
    p.real("dt", &Lorenz96Options::dt, "model time units", "RK4 time step").above(0);
    p.real("initial_variance", &Lorenz96Options::initial_variance, "1",
           "variance of the initial states around e_1 (Sakov & Oke 2008)")
        .at_least(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Lorenz96(const Config& c) : o_(fields().read(c)) {}

  assim::StateSpec state_spec() const override {
    return {"x", "Lorenz-96 state", "1", {{"site", o_.sites, "1", 1.0}}, o_.dt, "1"};
  }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    std::vector<double> e1(static_cast<std::size_t>(o_.sites), 0.0);
    e1[0] = 1.0;
    return gaussian_states(members, seed, e1, o_.initial_variance);
  }
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    const int n = static_cast<int>(o_.sites);
    const double f = o_.forcing;
    return std::make_unique<RungeKuttaTrajectory>(
        states, o_.dt, [n, f](const double* x, double* dxdt) { assim::lorenz::lorenz96_tendency(x, dxdt, n, f); });
  }
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    const double f = o_.forcing;
    // x_{i+1}, x_{i-2}, x_{i-1} by cyclic shifts along the sites.
    return rk4_frames(states, frames, frame_steps, o_.dt, [f](const at::Tensor& x) {
      return (at::roll(x, {-1}, {-1}) - at::roll(x, {2}, {-1})) * at::roll(x, {1}, {-1}) - x + f;
    });
  }

 private:
  Lorenz96Options o_;
};

struct Lorenz63Options {
  double sigma = 10.0, rho = 28.0, beta = 8.0 / 3.0;
  double dt = 0.01;
  std::vector<double> initial_mean{1.509, -1.531, 25.46};
  double initial_variance = 2.0;
};

class Lorenz63 : public assim::Model {
 public:
  static assim::Fields<Lorenz63Options> fields() {
    assim::Fields<Lorenz63Options> p;
    p.real("sigma", &Lorenz63Options::sigma, "1", "Prandtl number").above(0);
    p.real("rho", &Lorenz63Options::rho, "1", "Rayleigh number").above(0);
    p.real("beta", &Lorenz63Options::beta, "1", "geometric factor").above(0);
    p.real("dt", &Lorenz63Options::dt, "model time units", "RK4 time step").above(0);
    p.reals("initial_mean", &Lorenz63Options::initial_mean, "1", "mean of the initial states (Sakov 2012)");
    p.real("initial_variance", &Lorenz63Options::initial_variance, "1", "variance of the initial states").at_least(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Lorenz63(const Config& c) : o_(fields().read(c)) {
    if (o_.initial_mean.size() != 3) c.fail("initial_mean", "must have 3 values (x, y, z)");
  }

  assim::StateSpec state_spec() const override {
    return {"x", "Lorenz-63 state", "1", {{"component", 3, "", 0.0}}, o_.dt, "1"};
  }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    return gaussian_states(members, seed, o_.initial_mean, o_.initial_variance);
  }
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    const double s = o_.sigma, r = o_.rho, b = o_.beta;
    return std::make_unique<RungeKuttaTrajectory>(
        states, o_.dt, [s, r, b](const double* x, double* dxdt) { assim::lorenz::lorenz63_tendency(x, dxdt, s, r, b); });
  }
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    const double s = o_.sigma, r = o_.rho, b = o_.beta;
    return rk4_frames(states, frames, frame_steps, o_.dt, [s, r, b](const at::Tensor& v) {
      const at::Tensor x = v.select(-1, 0), y = v.select(-1, 1), z = v.select(-1, 2);
      return at::stack({s * (y - x), x * (r - z) - y, x * y - b * z}, -1);
    });
  }

 private:
  Lorenz63Options o_;
};

}  // namespace

ASSIM_PLUGIN("lorenz", "0.1.0") {
  registrar.add<Lorenz96>("model.lorenz96", "Lorenz-96 on a circle of sites, RK4 (Lorenz 1996)");
  registrar.add<Lorenz63>("model.lorenz63", "Lorenz-63 convection model, RK4 (Lorenz 1963)");
}
