// A model in about a hundred lines: a tracer c on a periodic line of sites,
// carried by a constant wind u and spread by a diffusivity k,
//   dc/dt + u dc/dx = k d2c/dx2,
// upwind in space and forward Euler in time (stable for u dt / dx + 2 k dt /
// dx^2 <= 1, checked when the model is made). What a model author must know:
// - states are float64 tensors (member, state dims...), on the CPU unless the
//   model says otherwise; every member advances independently of the others;
// - the Model is shared and must stay stateless: a Trajectory owns one
//   integration (its own copy of the states and any history of the scheme);
// - dims with a spacing are the grid (here "site"); the others are indices;
// - initial_state draws from a generator seeded with `seed` only, so that the
//   same seed gives the same states on every run;
// - a step written in torch operations can also be offered to autograd
//   (differentiable_trajectory), which is all 4D-Var needs of a model.
#pragma once

#include <assim/assim.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <vector>

namespace example {

struct Options {
  std::int64_t sites = 64;
  double length = 64e3;  // m
  double wind = 5.0;     // m s-1
  double diffusivity = 50.0;  // m2 s-1
  double dt = 100;       // s
};

// One step in torch operations: the stepper's, and (through autograd) the
// adjoint 4D-Var needs, from the same line.
inline at::Tensor step(const at::Tensor& c, double courant, double diffusion) {
  const at::Tensor left = at::roll(c, {1}, {-1}), right = at::roll(c, {-1}, {-1});
  return c - courant * (c - left) + diffusion * (right - 2 * c + left);
}

class Trajectory : public assim::Trajectory {
 public:
  Trajectory(at::Tensor states, double courant, double diffusion)
      : c_(states.to(at::kDouble).clone()), courant_(courant), diffusion_(diffusion) {}
  void advance(std::int64_t steps) override {
    for (std::int64_t s = 0; s < steps; ++s) {
      c_ = step(c_, courant_, diffusion_);
      ++steps_;
    }
    if (!at::isfinite(c_).all().item<bool>()) throw assim::DivergenceError(steps_, "the tracer is not finite");
  }
  at::Tensor state() const override { return c_.clone(); }
  std::int64_t steps_taken() const override { return steps_; }

 private:
  at::Tensor c_;
  double courant_, diffusion_;
  std::int64_t steps_ = 0;
};

class Advection : public assim::Model {
 public:
  // Each parameter once: name, field (its initial value is the default), unit, doc.
  static assim::Fields<Options> fields() {
    assim::Fields<Options> f;
    f.integer("sites", &Options::sites, "", "grid points on the periodic line").at_least(4);
    f.real("length", &Options::length, "m", "length of the line").above(0);
    f.real("wind", &Options::wind, "m s-1", "constant wind u").at_least(0);
    f.real("diffusivity", &Options::diffusivity, "m2 s-1", "diffusivity k").at_least(0);
    f.real("dt", &Options::dt, "s", "time step").above(0);
    return f;
  }
  static assim::Parameters parameters() { return fields().parameters(); }

  explicit Advection(const assim::Config& config) : o_(fields().read(config)) {
    const double dx = o_.length / static_cast<double>(o_.sites);
    courant_ = o_.wind * o_.dt / dx;
    diffusion_ = o_.diffusivity * o_.dt / (dx * dx);
    if (courant_ + 2 * diffusion_ > 1)
      config.fail("dt", "unstable: u dt / dx + 2 k dt / dx^2 = " + std::to_string(courant_ + 2 * diffusion_) +
                            " > 1; take a smaller dt");
  }

  assim::StateSpec state_spec() const override {
    const double dx = o_.length / static_cast<double>(o_.sites);
    return {"c", "tracer concentration", "1", {{"site", o_.sites, "m", dx}}, o_.dt, "s"};
  }

  // A few Fourier modes with seeded random amplitudes and phases.
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto options = at::TensorOptions().dtype(at::kDouble);
    const at::Tensor x = at::arange(o_.sites, options) * (2 * M_PI / static_cast<double>(o_.sites));
    at::Tensor c = at::zeros({members, o_.sites}, options);
    for (int k = 1; k <= 4; ++k) {
      const at::Tensor amplitude = at::randn({members, 1}, generator, options) / k;
      const at::Tensor phase = 2 * M_PI * at::rand({members, 1}, generator, options);
      c = c + amplitude * at::cos(k * x.unsqueeze(0) + phase);
    }
    return c;
  }

  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    return std::make_unique<Trajectory>(states, courant_, diffusion_);
  }

  // Optional: a step autograd can differentiate (sampler.var4d asks for it).
  // The contract suite then checks it against start/advance and finite
  // differences.
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    std::vector<at::Tensor> out{states.to(at::kDouble)};
    for (std::int64_t f = 1; f < frames; ++f) {
      at::Tensor c = out.back();
      for (std::int64_t s = 0; s < frame_steps; ++s) c = step(c, courant_, diffusion_);
      out.push_back(c);
    }
    return at::stack(out, 1);
  }

 private:
  Options o_;
  double courant_ = 0, diffusion_ = 0;
};

}  // namespace example
