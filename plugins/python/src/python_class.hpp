// What every Python component shares: its class, loaded from the file the
// experiment names and built with its checked parameters, and the rules each
// call into it keeps (plugins/python/README.md: what a Python component may
// not do). obs.python (python_operator.hpp) and model.python
// (python_model.hpp) each hold one.
#pragma once

#include <assim/assim.hpp>

#include <pybind11/pybind11.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace assim::python {

// A required method: its name and how it is called ("apply(self, x)").
struct Method {
  std::string name;
  std::string signature;
};

class PythonClass {
 public:
  // The plugin's own keys (file, class) and the class's, `class_doc` saying
  // what the class must have.
  static Parameters parameters(const std::string& class_doc);
  // Loads `config`'s file, finds its class, checks that it has `methods`
  // (`role` says what needs them and what is optional), reads its
  // `parameters` and builds it with the checked values. Every failure is
  // config.fail on file or class, before anything runs.
  PythonClass(const Config& config, const std::vector<Method>& methods, const std::string& role);
  ~PythonClass();

  // The class's attribute `name` (GIL held).
  pybind11::object attribute(const std::string& name) const;
  // A bound method of the instance, or none (GIL held).
  pybind11::object method(const std::string& name) const;
  // "m.py:17", where the class's `name` is defined (GIL held).
  std::string defined_at(const std::string& name) const;

  // What a call may not change, read before and after it.
  struct Footprint {
    std::vector<std::pair<std::string, std::pair<const void*, std::int64_t>>> attributes;  // name, (object, tensor version)
    long python_threads = 0;
    int torch_threads = 0;
  };
  Footprint footprint() const;
  // Fails naming `call_at` (the method's file:line) when `call` changed it.
  void check_unchanged(const Footprint& before, const std::string& call, const std::string& call_at) const;
  // Calls `function` with `args` (GIL held), failing with the Python file
  // and line where it raises or breaks the rules.
  template <class... Args>
  pybind11::object call(const pybind11::object& function, const std::string& name, const std::string& at,
                        Args&&... args) const {
    const Footprint before = footprint();
    pybind11::object result;
    try {
      result = function(std::forward<Args>(args)...);
    } catch (pybind11::error_already_set& e) {
      fail(name + " raised " + describe(e));
    }
    check_unchanged(before, name, at);
    return result;
  }
  std::string describe(pybind11::error_already_set& e) const;
  // Throws Error prefixed by the component's place in the experiment.
  [[noreturn]] void fail(const std::string& message) const;

  const std::filesystem::path& file() const { return file_; }
  const std::string& name() const { return class_name_; }
  const std::string& where() const { return at_; }  // "m.py:12", where the class is defined

 private:
  std::filesystem::path file_;
  std::string class_name_;
  std::string at_;
  std::string origin_;  // "exp.yaml:4:9: components.blur (Blur of blur.py)" for errors at run time
  pybind11::object class_, instance_;
};

}  // namespace assim::python
