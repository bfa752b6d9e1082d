// obs.python: an observation operator written in Python, a class in a file
// named by the experiment, called by the C++ kernel like any operator. The
// class (plugins/python/README.md):
//
//     class Arctan:
//         parameters = {"scale": {"type": float, "default": 3.0, "doc": "a in arctan(a x)", "above": 0}}
//         linear = False                       # optional: True when apply is linear in x
//         def __init__(self, scale): ...       # the checked parameters, by name
//         def apply(self, x): ...              # torch operations on (batch..., state dims...)
//         def output_shape(self, state_shape): ...  # optional: the output dims; default: the state's
//
// Tensors cross without a copy (libtorch_python's THPVariable_Wrap and
// THPVariable_Unpack: the same TensorImpl on both sides), so autograd records
// the Python operations in the graph the C++ sampler differentiates.
#pragma once

#include "python_class.hpp"

#include <assim/assim.hpp>

#include <pybind11/pybind11.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace assim::python {

class PythonOperator : public ObservationOperator {
 public:
  static Parameters parameters();
  explicit PythonOperator(const Config& config);
  ~PythonOperator() override;

  at::Tensor apply(const at::Tensor& x) const override;
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override;
  bool linear() const override { return linear_; }

 private:
  PythonClass class_;
  std::string apply_at_;  // "blur.py:17", where apply is defined
  pybind11::object apply_, output_shape_;
  bool linear_ = false;
  // The state shapes output_shape was asked for, and its answers: apply's
  // result is checked against them.
  mutable std::mutex shapes_mutex_;
  mutable std::vector<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>> shapes_;
};

}  // namespace assim::python
