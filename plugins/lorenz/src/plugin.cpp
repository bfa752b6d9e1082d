// Lorenz-96 and Lorenz-63: small chaotic models for testing assimilation
// methods against published benchmarks (see ../shared/reference/enkf-benchmarks.md).
#include "lorenz.hpp"

#include <assim/assim.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>

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

at::Tensor gaussian_states(std::int64_t members, std::uint64_t seed, const std::vector<double>& mean,
                           double variance) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto n = static_cast<std::int64_t>(mean.size());
  at::Tensor m = at::tensor(at::ArrayRef<double>(mean), at::kDouble);
  return m + std::sqrt(variance) * at::randn({members, n}, generator, at::kDouble);
}

class Lorenz96 : public assim::Model {
 public:
  static Parameters parameters() {
    Parameters p;
    p.integer("sites", 40, "", "number of variables on the circle").at_least(4);
    p.real("forcing", 8.0, "1", "constant forcing F").at_least(0);
    p.real("dt", 0.05, "model time units", "RK4 time step").above(0);
    p.real("initial_variance", 0.001, "1", "variance of the initial states around e_1 (Sakov & Oke 2008)").at_least(0);
    return p;
  }
  explicit Lorenz96(const Config& c)
      : sites_(c.get<int>("sites")),
        forcing_(c.get<double>("forcing")),
        dt_(c.get<double>("dt")),
        variance_(c.get<double>("initial_variance")) {}

  assim::StateSpec state_spec() const override {
    return {"x", "Lorenz-96 state", "1", {{"site", sites_, "1", 1.0}}, dt_, "1"};
  }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    std::vector<double> e1(sites_, 0.0);
    e1[0] = 1.0;
    return gaussian_states(members, seed, e1, variance_);
  }
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    int n = sites_;
    double f = forcing_;
    return std::make_unique<RungeKuttaTrajectory>(
        states, dt_, [n, f](const double* x, double* dxdt) { assim::lorenz::lorenz96_tendency(x, dxdt, n, f); });
  }

 private:
  int sites_;
  double forcing_, dt_, variance_;
};

class Lorenz63 : public assim::Model {
 public:
  static Parameters parameters() {
    Parameters p;
    p.real("sigma", 10.0, "1", "Prandtl number").above(0);
    p.real("rho", 28.0, "1", "Rayleigh number").above(0);
    p.real("beta", 8.0 / 3.0, "1", "geometric factor").above(0);
    p.real("dt", 0.01, "model time units", "RK4 time step").above(0);
    p.reals("initial_mean", {1.509, -1.531, 25.46}, "1", "mean of the initial states (Sakov 2012)");
    p.real("initial_variance", 2.0, "1", "variance of the initial states").at_least(0);
    return p;
  }
  explicit Lorenz63(const Config& c)
      : sigma_(c.get<double>("sigma")),
        rho_(c.get<double>("rho")),
        beta_(c.get<double>("beta")),
        dt_(c.get<double>("dt")),
        mean_(c.get<std::vector<double>>("initial_mean")),
        variance_(c.get<double>("initial_variance")) {
    if (mean_.size() != 3) c.fail("initial_mean", "must have 3 values (x, y, z)");
  }

  assim::StateSpec state_spec() const override {
    return {"x", "Lorenz-63 state", "1", {{"component", 3, "", 0.0}}, dt_, "1"};
  }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    return gaussian_states(members, seed, mean_, variance_);
  }
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    double s = sigma_, r = rho_, b = beta_;
    return std::make_unique<RungeKuttaTrajectory>(
        states, dt_, [s, r, b](const double* x, double* dxdt) { assim::lorenz::lorenz63_tendency(x, dxdt, s, r, b); });
  }

 private:
  double sigma_, rho_, beta_, dt_;
  std::vector<double> mean_;
  double variance_;
};

}  // namespace

ASSIM_PLUGIN("lorenz", "0.1.0") {
  registrar.add<Lorenz96>("model.lorenz96", "Lorenz-96 on a circle of sites, RK4 (Lorenz 1996)");
  registrar.add<Lorenz63>("model.lorenz63", "Lorenz-63 convection model, RK4 (Lorenz 1963)");
}
