#include "python_class.hpp"

#include "declaration.hpp"
#include "interpreter.hpp"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/python_variable.h>

#include <algorithm>

namespace py = pybind11;

namespace assim::python {

Parameters PythonClass::parameters(const std::string& class_doc) {
  Parameters p;
  p.required("file", ParameterType::String, "", "the Python file that holds the class").input_file();
  p.required("class", ParameterType::String, "", class_doc);
  p.others("the class's own parameters, declared by its `parameters` attribute and checked like any other");
  return p;
}

PythonClass::PythonClass(const Config& config, const std::vector<Method>& methods, const std::string& role)
    : file_(config.file("file")), class_name_(config.get<std::string>("class")) {
  if (!std::filesystem::is_regular_file(file_)) config.fail("file", "no such file: " + file_.string());
  start();
  py::gil_scoped_acquire gil;
  const long threads_before = python_threads();
  py::module_ module;
  try {
    module = load_file(file_);
  } catch (py::error_already_set& e) {
    config.fail("file", "loading it raised " + python::describe(e, file_));
  }
  if (!py::hasattr(module, class_name_.c_str())) {
    std::string classes;
    for (const auto& [name, value] : module.attr("__dict__").cast<py::dict>())
      if (PyType_Check(value.ptr()) && py::str(value.attr("__module__")).cast<std::string>() == py::str(module.attr("__name__")).cast<std::string>())
        classes += (classes.empty() ? "" : ", ") + name.cast<std::string>();
    config.fail("class", "no class '" + class_name_ + "' in " + file_.string() +
                             " (its classes: " + (classes.empty() ? "none" : classes) + ")");
  }
  // Held in locals until nothing can fail: a member left set when the
  // constructor throws would be released without the GIL.
  py::object cls = module.attr(class_name_.c_str());
  if (!PyType_Check(cls.ptr())) config.fail("class", "'" + class_name_ + "' in " + file_.string() + " is not a class");
  at_ = python::defined_at(cls);
  const std::string& at = at_;
  for (const auto& m : methods)
    if (!py::hasattr(cls, m.name.c_str()) || !PyCallable_Check(cls.attr(m.name.c_str()).ptr()))
      config.fail("class", at + ": class " + class_name_ + " has no method " + m.signature + ": " + role);
  Parameters declared;
  try {
    declared = declared_parameters(cls, at);
  } catch (const Error& e) {
    config.fail("class", e.what());
  }
  const Config all = config.with_parameters(declared, "class " + class_name_ + " (" + at + ")");
  py::object instance;
  try {
    instance = cls(**keyword_arguments(all, declared));
  } catch (py::error_already_set& e) {
    config.fail("class", class_name_ + "(...) raised " + python::describe(e, file_));
  }
  if (python_threads() != threads_before)
    config.fail("class", class_name_ + "(...) left a thread running: a Python component starts none "
                         "(plugins/python/README.md)");
  class_ = cls;
  instance_ = instance;
  origin_ = config.where() + ": " + config.path() + " (" + class_name_ + " of " + file_.string() + ")";
}

PythonClass::~PythonClass() {
  // Python objects are released under the GIL; after the interpreter's end
  // (a Python host exiting) they are left to it.
  if (!Py_IsInitialized()) {
    instance_.release();
    class_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  instance_ = py::object();
  class_ = py::object();
}

py::object PythonClass::attribute(const std::string& name) const {
  return py::hasattr(class_, name.c_str()) ? class_.attr(name.c_str()) : py::object();
}

py::object PythonClass::method(const std::string& name) const {
  return py::hasattr(instance_, name.c_str()) ? instance_.attr(name.c_str()) : py::object();
}

std::string PythonClass::defined_at(const std::string& name) const {
  return python::defined_at(class_.attr(name.c_str()));
}

std::string PythonClass::describe(py::error_already_set& e) const { return python::describe(e, file_); }

void PythonClass::fail(const std::string& message) const { throw Error(origin_ + ": " + message); }

PythonClass::Footprint PythonClass::footprint() const {
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

void PythonClass::check_unchanged(const Footprint& before, const std::string& call, const std::string& call_at) const {
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
    fail(call_at + ": " + call + " changed " + changed +
         ": a Python component keeps no state between calls (the runner calls it from several workers, in any "
         "order; plugins/python/README.md)");
  }
  if (after.python_threads != before.python_threads)
    fail(call_at + ": " + call + " left a thread running: a Python component starts none (plugins/python/README.md)");
  if (after.torch_threads != before.torch_threads)
    fail(call_at + ": " + call + " changed torch's thread count from " + std::to_string(before.torch_threads) +
         " to " + std::to_string(after.torch_threads) + ": the runner sets it (--threads)");
}

}  // namespace assim::python
