#include "python_model.hpp"

#include "interpreter.hpp"

#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <pybind11/stl.h>
#include <torch/csrc/autograd/python_variable.h>

namespace py = pybind11;

namespace assim::python {

namespace {

// The integration of a batch by the Python step, one call per step, without
// grad (the sampler's forecasts); the Model holds no state, this does.
class PythonTrajectory : public Trajectory {
 public:
  PythonTrajectory(const PythonModel& model, const at::Tensor& states)
      : model_(model), states_(states.to(at::kDouble).clone()) {}

  void advance(std::int64_t steps) override {
    const at::NoGradGuard no_grad;
    for (std::int64_t s = 0; s < steps; ++s) {
      states_ = model_.step(states_);
      ++taken_;
    }
    // Checked once per call: a blow-up stays non-finite once it happened.
    if (!at::isfinite(states_).all().item<bool>())
      throw DivergenceError(taken_, "a member is no longer finite (model.python's step)");
  }
  at::Tensor state() const override { return states_; }
  std::int64_t steps_taken() const override { return taken_; }

 private:
  const PythonModel& model_;
  at::Tensor states_;
  std::int64_t taken_ = 0;
};

}  // namespace

Parameters PythonModel::parameters() {
  return PythonClass::parameters(
      "the model's class in it: state_spec(self), initial_state(self, members, seed) and step(self, x) in torch "
      "operations, and optionally parameters (plugins/python/README.md)");
}

PythonModel::PythonModel(const Config& config)
    : class_(config,
             {{"state_spec", "state_spec(self)"},
              {"initial_state", "initial_state(self, members, seed)"},
              {"step", "step(self, x)"}},
             "a model needs state_spec, initial_state and step (optional: parameters)") {
  py::gil_scoped_acquire gil;
  // The state's description, read once: a malformed one stops the run at
  // validate, naming where state_spec is defined.
  const std::string at = class_.defined_at("state_spec");
  py::object spec;
  try {
    spec = class_.method("state_spec")();
  } catch (py::error_already_set& e) {
    config.fail("class", "state_spec raised " + class_.describe(e));
  }
  const auto bad = [&](const std::string& what) {
    config.fail("class", at + ": state_spec " + what +
                             " (a dict: variable, units, dims [{name, size, units, spacing}], time_step, "
                             "time_units; plugins/python/README.md)");
  };
  if (!py::isinstance<py::dict>(spec)) bad("did not return a dict");
  const py::dict d = spec.cast<py::dict>();
  const auto text = [&](const char* key, const char* otherwise) -> std::string {
    if (!d.contains(key)) {
      if (otherwise) return otherwise;
      bad(std::string("has no '") + key + "'");
    }
    if (!py::isinstance<py::str>(d[key])) bad(std::string("'") + key + "' is not a str");
    return d[key].cast<std::string>();
  };
  const auto number = [&](const py::handle& h, const std::string& key) -> double {
    if (!py::isinstance<py::float_>(h) && !py::isinstance<py::int_>(h)) bad("'" + key + "' is not a number");
    return h.cast<double>();
  };
  spec_.variable = text("variable", nullptr);
  spec_.long_name = text("long_name", "");
  spec_.units = text("units", "1");
  spec_.time_units = text("time_units", "1");
  if (!d.contains("time_step")) bad("has no 'time_step'");
  spec_.time_step = number(d["time_step"], "time_step");
  if (!(spec_.time_step > 0)) bad("'time_step' must be > 0");
  if (!d.contains("dims") || !py::isinstance<py::list>(d["dims"]) || py::len(d["dims"]) == 0)
    bad("has no 'dims' list");
  for (const auto& item : d["dims"].cast<py::list>()) {
    if (!py::isinstance<py::dict>(item)) bad("'dims' holds something other than a dict");
    const py::dict dim = item.cast<py::dict>();
    Dimension out;
    if (!dim.contains("name") || !py::isinstance<py::str>(dim["name"])) bad("has a dim without a 'name'");
    out.name = dim["name"].cast<std::string>();
    if (!dim.contains("size") || !py::isinstance<py::int_>(dim["size"]) || dim["size"].cast<std::int64_t>() < 1)
      bad("dim '" + out.name + "' has no positive int 'size'");
    out.size = dim["size"].cast<std::int64_t>();
    if (dim.contains("units")) out.units = dim["units"].cast<std::string>();
    if (dim.contains("spacing")) out.spacing = number(dim["spacing"], "spacing");
    spec_.dims.push_back(out);
  }
  // Set last: a member set before a failure above would be released without the GIL.
  step_ = class_.method("step");
  initial_state_ = class_.method("initial_state");
  step_at_ = class_.defined_at("step");
  initial_state_at_ = class_.defined_at("initial_state");
}

PythonModel::~PythonModel() {
  // Released under the GIL, before the class they belong to.
  if (!Py_IsInitialized()) {
    step_.release();
    initial_state_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  step_ = py::object();
  initial_state_ = py::object();
}

namespace {
// The tensor a Python method returned, checked to be float64 of `shape`.
at::Tensor checked(const PythonClass& cls, const py::object& y, const std::string& at, const std::string& call,
                   const std::vector<std::int64_t>& shape) {
  if (!THPVariable_Check(y.ptr()))
    cls.fail(at + ": " + call + " returned a " + py::str(py::type::of(y).attr("__name__")).cast<std::string>() +
             ", not a torch.Tensor");
  at::Tensor out = THPVariable_Unpack(y.ptr());
  if (out.scalar_type() != at::kDouble)
    cls.fail(at + ": " + call + " returned " + std::string(c10::toString(out.scalar_type())) + ", not float64");
  if (out.sizes().vec() != shape)
    cls.fail(at + ": " + call + " returned shape " + shape_text(out.sizes().vec()) + ", not " + shape_text(shape) +
             " (member, state_spec's dims...)");
  return out;
}
}  // namespace

at::Tensor PythonModel::initial_state(std::int64_t members, std::uint64_t seed) const {
  py::gil_scoped_acquire gil;
  const py::object y = class_.call(initial_state_, "initial_state", initial_state_at_, members, seed);
  std::vector<std::int64_t> shape{members};
  for (const auto& d : spec_.dims) shape.push_back(d.size);
  return checked(class_, y, initial_state_at_, "initial_state", shape);
}

at::Tensor PythonModel::step(const at::Tensor& x) const {
  py::gil_scoped_acquire gil;
  const py::object y = class_.call(step_, "step", step_at_, py::reinterpret_steal<py::object>(THPVariable_Wrap(x)));
  return checked(class_, y, step_at_, "step", x.sizes().vec());
}

std::unique_ptr<Trajectory> PythonModel::start(const at::Tensor& states) const {
  return std::make_unique<PythonTrajectory>(*this, states);
}

at::Tensor PythonModel::differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                                  std::int64_t frame_steps) const {
  // The steps chained with grad kept: autograd records the Python step's
  // operations, and its backward pass is 4D-Var's adjoint.
  at::Tensor x = states.to(at::kDouble);
  std::vector<at::Tensor> out{x};
  for (std::int64_t k = 1; k < frames; ++k) {
    for (std::int64_t s = 0; s < frame_steps; ++s) x = step(x);
    out.push_back(x);
  }
  return at::stack(out, 1);
}

}  // namespace assim::python
