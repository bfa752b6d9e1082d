#include "python_operator.hpp"

#include "interpreter.hpp"

#include <assim/shape.hpp>

#include <pybind11/stl.h>
#include <torch/csrc/autograd/python_variable.h>

namespace py = pybind11;

namespace assim::python {

Parameters PythonOperator::parameters() {
  return PythonClass::parameters(
      "the operator's class in it: apply(self, x) in torch operations, and optionally output_shape, "
      "linear and parameters (plugins/python/README.md)");
}

PythonOperator::PythonOperator(const Config& config)
    : class_(config, {{"apply", "apply(self, x)"}},
             "an observation operator needs one (optional: output_shape(self, state_shape), linear, parameters)") {
  py::gil_scoped_acquire gil;
  apply_at_ = class_.defined_at("apply");
  if (py::object linear = class_.attribute("linear")) {
    if (!py::isinstance<py::bool_>(linear))
      config.fail("class", class_.where() + ": " + class_.name() +
                               ".linear must be True or False (whether apply is linear in x)");
    linear_ = linear.cast<bool>();
  }
  apply_ = class_.method("apply");
  output_shape_ = class_.method("output_shape");
}

PythonOperator::~PythonOperator() {
  // Released under the GIL, before the class they belong to.
  if (!Py_IsInitialized()) {
    apply_.release();
    output_shape_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  output_shape_ = py::object();
  apply_ = py::object();
}

at::Tensor PythonOperator::apply(const at::Tensor& x) const {
  py::gil_scoped_acquire gil;
  const py::object y = class_.call(apply_, "apply", apply_at_, py::reinterpret_steal<py::object>(THPVariable_Wrap(x)));
  if (!THPVariable_Check(y.ptr()))
    class_.fail(apply_at_ + ": apply returned a " + py::str(py::type::of(y).attr("__name__")).cast<std::string>() +
         ", not a torch.Tensor");
  at::Tensor out = THPVariable_Unpack(y.ptr());
  if (out.scalar_type() != x.scalar_type())
    class_.fail(apply_at_ + ": apply returned " + std::string(c10::toString(out.scalar_type())) + " for " +
         c10::toString(x.scalar_type()) + " states");
  // The shape apply must give: the state's own without output_shape, else
  // what output_shape answered for the state dims at the end of x.
  std::vector<std::int64_t> expected = x.sizes().vec();
  if (output_shape_) {
    const std::lock_guard<std::mutex> lock(shapes_mutex_);
    expected.clear();
    for (const auto& [state, output] : shapes_) {
      const auto k = static_cast<std::int64_t>(state.size());
      if (k > x.dim() || std::vector<std::int64_t>(x.sizes().end() - k, x.sizes().end()) != state) continue;
      expected.assign(x.sizes().begin(), x.sizes().end() - k);
      expected.insert(expected.end(), output.begin(), output.end());
      break;
    }
  }
  if (!expected.empty() && out.sizes().vec() != expected)
    class_.fail(apply_at_ + ": apply returned shape " + shape_text(out.sizes().vec()) + " for states of shape " +
         shape_text(x.sizes().vec()) + "; " + (output_shape_ ? "output_shape promised " : "without output_shape it keeps the state's shape, ") +
         shape_text(expected));
  return out;
}

std::vector<std::int64_t> PythonOperator::output_shape(const std::vector<std::int64_t>& state_shape) const {
  if (!output_shape_) return state_shape;
  std::vector<std::int64_t> out;
  {
    py::gil_scoped_acquire gil;
    const std::string at = class_.defined_at("output_shape");
    const py::object answer = class_.call(output_shape_, "output_shape", at, py::tuple(py::cast(state_shape)));
    try {
      out = answer.cast<std::vector<std::int64_t>>();
    } catch (const py::cast_error&) {
      class_.fail(at + ": output_shape did not return a list of ints");
    }
  }
  const std::lock_guard<std::mutex> lock(shapes_mutex_);
  bool known = false;
  for (const auto& [state, output] : shapes_) known = known || state == state_shape;
  if (!known) shapes_.emplace_back(state_shape, out);
  return out;
}

}  // namespace assim::python
