// A forecast model: a state with named dimensions and units, and a time
// stepper that advances a batch of ensemble members at once.
#pragma once

#include <assim/component.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace assim {

struct ASSIM_API Dimension {
  std::string name;        // "layer", "y", "x", "site"
  std::int64_t size = 0;
  std::string units;       // of the coordinate, empty for an index
  double spacing = 0;      // coordinate step (the first point is at spacing / 2); 0 for an index
};

struct ASSIM_API StateSpec {
  std::string variable;    // NetCDF variable name: "q", "x"
  std::string long_name;   // "potential vorticity anomaly"
  std::string units;       // "s-1"; "1" for nondimensional
  std::vector<Dimension> dims;  // of one member, outermost first
  double time_step = 0;    // length of one step
  std::string time_units;  // "s", or "1" for model time units

  std::vector<std::int64_t> shape() const;
};

// One integration of a batch of members. Multi-step time schemes keep their
// history here, so that the Model itself stays stateless and shareable.
class ASSIM_API Trajectory {
 public:
  virtual ~Trajectory();
  // Advances every member by `steps` time steps. Throws DivergenceError
  // naming the step (counted from the start) if a member leaves the range
  // where the scheme is valid (NaN, CFL > 1).
  virtual void advance(std::int64_t steps) = 0;
  // The current states, float64, shape (member, spec dims...).
  virtual at::Tensor state() const = 0;
  virtual std::int64_t steps_taken() const = 0;
};

class ASSIM_API Model : public Component {
 public:
  static constexpr Kind kind = Kind::Model;
  ~Model() override;

  virtual StateSpec state_spec() const = 0;
  // `members` independent initial states drawn from the model's own
  // initial-condition distribution with a seeded generator.
  virtual at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const = 0;
  // Starts integrating from `states` (member, spec dims...).
  virtual std::unique_ptr<Trajectory> start(const at::Tensor& states) const = 0;

  // Diagnostic quantities other components may ask for (a streamfunction,
  // velocities), differentiable by autograd in `states`.
  virtual std::vector<std::string> quantities() const;
  virtual at::Tensor derive(const at::Tensor& states, const std::string& quantity) const;

  // A model whose time step is also written in torch operations offers it
  // here, so that autograd gives the adjoint and 4D-Var needs no hand-written
  // one (Li & Liu's argument for borrowing backpropagation). Returns the
  // states after 0, frame_steps, ..., (frames - 1) * frame_steps steps from
  // `states` (member, spec dims...), shape (member, frames, spec dims...),
  // float64, differentiable in `states` and equal to what start() and
  // advance() give to rounding. A model without it answers false, and 4D-Var
  // refuses it by name before anything runs.
  virtual bool differentiable() const;
  virtual at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                               std::int64_t frame_steps) const;
};

}  // namespace assim
