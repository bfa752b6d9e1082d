// model.python: a forecast model written in Python, a class in a file named
// by the experiment, integrated by the C++ kernel like any model. The class
// (plugins/python/README.md):
//
//     class Lorenz96:
//         parameters = {"sites": {"type": int, "default": 40, "doc": "...", "at_least": 4}, ...}
//         def __init__(self, sites, ...): ...
//         def state_spec(self): return {"variable": "x", "units": "1",
//                                       "dims": [{"name": "site", "size": 40, "units": "1", "spacing": 1.0}],
//                                       "time_step": 0.05, "time_units": "1"}
//         def initial_state(self, members, seed): ...   # (members, dims...), float64
//         def step(self, x): ...                        # one time step, torch operations
//
// `step` advances a batch (member, dims...) by one time step. The C++
// trajectory calls it without grad; differentiable_trajectory chains it with
// grad kept, so autograd gives 4D-Var the adjoint of the Python step.
#pragma once

#include "python_class.hpp"

#include <assim/assim.hpp>

#include <pybind11/pybind11.h>

#include <string>

namespace assim::python {

class PythonModel : public Model {
 public:
  static Parameters parameters();
  explicit PythonModel(const Config& config);
  ~PythonModel() override;

  StateSpec state_spec() const override { return spec_; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override;
  std::unique_ptr<Trajectory> start(const at::Tensor& states) const override;
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override;

  // `x` (member, dims...) after one step of the class's `step`, checked to
  // be a float64 tensor of x's shape. Grad mode is the caller's.
  at::Tensor step(const at::Tensor& x) const;

 private:
  PythonClass class_;
  std::string step_at_, initial_state_at_;  // "l96.py:30"
  pybind11::object step_, initial_state_;
  StateSpec spec_;
};

}  // namespace assim::python
