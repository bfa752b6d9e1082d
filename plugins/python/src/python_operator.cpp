#include "python_operator.hpp"

#include "declaration.hpp"
#include "interpreter.hpp"

#include <assim/shape.hpp>

#include <ATen/Parallel.h>
#include <pybind11/stl.h>
#include <torch/csrc/autograd/python_variable.h>

namespace py = pybind11;

namespace assim::python {

Parameters PythonOperator::parameters() {
  Parameters p;
  p.required("file", ParameterType::String, "",
             "the Python file that holds the class")
      .input_file();
  p.required("class", ParameterType::String, "",
             "the operator's class in it: apply(self, x) in torch operations, and optionally output_shape, "
             "linear and parameters (plugins/python/README.md)");
  p.others("the class's own parameters, declared by its `parameters` attribute and checked like any other");
  return p;
}

PythonOperator::PythonOperator(const Config& config)
    : file_(config.file("file")), class_name_(config.get<std::string>("class")) {
  if (!std::filesystem::is_regular_file(file_)) config.fail("file", "no such file: " + file_.string());
  start();
  py::gil_scoped_acquire gil;
  const long threads_before = python_threads();
  py::module_ module;
  try {
    module = load_file(file_);
  } catch (py::error_already_set& e) {
    config.fail("file", "loading it raised " + describe(e, file_));
  }
  if (!py::hasattr(module, class_name_.c_str())) {
    std::string classes;
    for (const auto& [name, value] : module.attr("__dict__").cast<py::dict>())
      if (PyType_Check(value.ptr()) && py::str(value.attr("__module__")).cast<std::string>() == py::str(module.attr("__name__")).cast<std::string>())
        classes += (classes.empty() ? "" : ", ") + name.cast<std::string>();
    config.fail("class", "no class '" + class_name_ + "' in " + file_.string() +
                             " (its classes: " + (classes.empty() ? "none" : classes) + ")");
  }
  py::object cls = module.attr(class_name_.c_str());
  if (!PyType_Check(cls.ptr())) config.fail("class", "'" + class_name_ + "' in " + file_.string() + " is not a class");
  const std::string at = defined_at(cls);
  if (!py::hasattr(cls, "apply") || !PyCallable_Check(cls.attr("apply").ptr()))
    config.fail("class", at + ": class " + class_name_ +
                             " has no method apply(self, x): an observation operator needs one (optional: "
                             "output_shape(self, state_shape), linear, parameters)");
  apply_at_ = defined_at(cls.attr("apply"));
  if (py::hasattr(cls, "linear")) {
    py::object linear = cls.attr("linear");
    if (!py::isinstance<py::bool_>(linear))
      config.fail("class", at + ": " + class_name_ + ".linear must be True or False (whether apply is linear in x)");
    linear_ = linear.cast<bool>();
  }
  Parameters declared;
  try {
    declared = declared_parameters(cls, at);
  } catch (const Error& e) {
    config.fail("class", e.what());
  }
  const Config all = config.with_parameters(declared, "class " + class_name_ + " (" + at + ")");
  try {
    instance_ = cls(**keyword_arguments(all, declared));
  } catch (py::error_already_set& e) {
    config.fail("class", class_name_ + "(...) raised " + describe(e, file_));
  }
  if (python_threads() != threads_before)
    config.fail("class", class_name_ + "(...) left a thread running: a Python component starts none "
                         "(plugins/python/README.md)");
  apply_ = instance_.attr("apply");
  if (py::hasattr(instance_, "output_shape")) output_shape_ = instance_.attr("output_shape");
  origin_ = config.where() + ": " + config.path() + " (" + class_name_ + " of " + file_.string() + ")";
}

PythonOperator::~PythonOperator() {
  // Python objects are released under the GIL; after the interpreter's end
  // (a Python host exiting) they are left to it.
  if (!Py_IsInitialized()) {
    instance_.release();
    apply_.release();
    output_shape_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  output_shape_ = py::object();
  apply_ = py::object();
  instance_ = py::object();
}

void PythonOperator::fail(const std::string& message) const { throw Error(origin_ + ": " + message); }

PythonOperator::Footprint PythonOperator::footprint() const {
  Footprint f;
  for (const auto& [name, value] : py::getattr(instance_, "__dict__", py::dict()).cast<py::dict>()) {
    const std::int64_t version =
        THPVariable_Check(value.ptr()) ? static_cast<std::int64_t>(THPVariable_Unpack(value.ptr())._version()) : -1;
    f.attributes.push_back({name.cast<std::string>(), {value.ptr(), version}});
  }
  f.python_threads = python_threads();
  f.torch_threads = at::get_num_threads();
  return f;
}

void PythonOperator::check_unchanged(const Footprint& before, const std::string& call) const {
  const Footprint after = footprint();
  if (after.attributes != before.attributes) {
    std::string changed;
    for (std::size_t i = 0; i < std::max(before.attributes.size(), after.attributes.size()); ++i) {
      const bool same = i < before.attributes.size() && i < after.attributes.size() &&
                        before.attributes[i] == after.attributes[i];
      if (!same) {
        changed = "self." + (i < after.attributes.size() ? after.attributes[i].first : before.attributes[i].first);
        break;
      }
    }
    fail(apply_at_ + ": " + call + " changed " + changed +
         ": a Python component keeps no state between calls (the runner calls it from several workers, in any "
         "order; plugins/python/README.md)");
  }
  if (after.python_threads != before.python_threads)
    fail(apply_at_ + ": " + call + " left a thread running: a Python component starts none (plugins/python/README.md)");
  if (after.torch_threads != before.torch_threads)
    fail(apply_at_ + ": " + call + " changed torch's thread count from " + std::to_string(before.torch_threads) +
         " to " + std::to_string(after.torch_threads) + ": the runner sets it (--threads)");
}

at::Tensor PythonOperator::apply(const at::Tensor& x) const {
  py::gil_scoped_acquire gil;
  const Footprint before = footprint();
  py::object y;
  try {
    y = apply_(py::reinterpret_steal<py::object>(THPVariable_Wrap(x)));
  } catch (py::error_already_set& e) {
    fail("apply raised " + describe(e, file_));
  }
  check_unchanged(before, "apply");
  if (!THPVariable_Check(y.ptr()))
    fail(apply_at_ + ": apply returned a " + py::str(py::type::of(y).attr("__name__")).cast<std::string>() +
         ", not a torch.Tensor");
  at::Tensor out = THPVariable_Unpack(y.ptr());
  if (out.scalar_type() != x.scalar_type())
    fail(apply_at_ + ": apply returned " + std::string(c10::toString(out.scalar_type())) + " for " +
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
    fail(apply_at_ + ": apply returned shape " + shape_text(out.sizes().vec()) + " for states of shape " +
         shape_text(x.sizes().vec()) + "; " + (output_shape_ ? "output_shape promised " : "without output_shape it keeps the state's shape, ") +
         shape_text(expected));
  return out;
}

std::vector<std::int64_t> PythonOperator::output_shape(const std::vector<std::int64_t>& state_shape) const {
  if (!output_shape_) return state_shape;
  std::vector<std::int64_t> out;
  {
    py::gil_scoped_acquire gil;
    const Footprint before = footprint();
    try {
      out = output_shape_(py::tuple(py::cast(state_shape))).cast<std::vector<std::int64_t>>();
    } catch (py::error_already_set& e) {
      fail("output_shape raised " + describe(e, file_));
    } catch (const py::cast_error&) {
      fail(defined_at(output_shape_) + ": output_shape did not return a list of ints");
    }
    check_unchanged(before, "output_shape");
  }
  const std::lock_guard<std::mutex> lock(shapes_mutex_);
  bool known = false;
  for (const auto& [state, output] : shapes_) known = known || state == state_shape;
  if (!known) shapes_.emplace_back(state_shape, out);
  return out;
}

}  // namespace assim::python
