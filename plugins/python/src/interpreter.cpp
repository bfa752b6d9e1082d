#include "interpreter.hpp"

#include <assim/error.hpp>

#include <pybind11/embed.h>

#include <dlfcn.h>

#include <mutex>

namespace py = pybind11;

namespace assim::python {

namespace {
std::mutex starting;
bool started = false;
}  // namespace

void start() {
  const std::lock_guard<std::mutex> lock(starting);
  if (started) return;
  if (Py_IsInitialized()) {
    // The host is Python: its interpreter, its threads, its GIL.
    py::gil_scoped_acquire gil;
    py::module_::import("torch");
    started = true;
    return;
  }
  // The host loaded this plugin with RTLD_LOCAL, so libpython's symbols are
  // not global, and the extension modules Python loads (numpy, torch._C),
  // which do not link libpython, would not find them: open it again, global.
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&Py_Initialize), &info) == 0 || !info.dli_fname)
    throw Error("cannot find the libpython this plugin is linked to");
  if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL)) {
    const char* why = dlerror();
    throw Error(std::string("cannot make libpython's symbols global for Python's extension modules: ") +
                (why ? why : info.dli_fname));
  }
  // No Python signal handlers: Ctrl-C stays the host's.
  py::initialize_interpreter(false);
  try {
    py::module_::import("torch");
  } catch (py::error_already_set& e) {
    const std::string why = e.what();
    PyEval_SaveThread();
    throw Error("the embedded Python cannot import torch (python3-torch, scripts/setup): " + why);
  }
  // Never finalized (torch's Python side does not survive it); the GIL is
  // released here and taken by each call, on any thread.
  PyEval_SaveThread();
  started = true;
}

py::module_ load_file(const std::filesystem::path& file) {
  py::module_ util = py::module_::import("importlib.util");
  py::module_ sys = py::module_::import("sys");
  // Registered under its own name, so that inspect finds its source and
  // dataclasses its globals; the name cannot shadow an importable module.
  const std::string name = "assim_component_" + file.stem().string();
  py::object spec = util.attr("spec_from_file_location")(name, file.string());
  py::object module = util.attr("module_from_spec")(spec);
  sys.attr("modules")[py::str(name)] = module;
  spec.attr("loader").attr("exec_module")(module);
  return py::reinterpret_borrow<py::module_>(module);
}

std::string describe(py::error_already_set& e, const std::filesystem::path& file) {
  const std::string type = py::str(e.type().attr("__name__"));
  const std::string message = py::str(e.value());
  std::string at;
  if (py::isinstance(e.value(), py::module_::import("builtins").attr("SyntaxError"))) {
    py::object where = e.value().attr("filename"), line = e.value().attr("lineno");
    if (!where.is_none() && !line.is_none()) at = py::str(where).cast<std::string>() + ":" + py::str(line).cast<std::string>();
  }
  if (at.empty() && e.trace()) {
    py::list frames = py::module_::import("traceback").attr("extract_tb")(e.trace());
    std::string innermost, own;
    for (const auto& frame : frames) {
      const std::string name = py::str(frame.attr("filename"));
      innermost = name + ":" + py::str(frame.attr("lineno")).cast<std::string>();
      if (name == file.string()) own = innermost;
    }
    at = own.empty() ? innermost : own;
  }
  return (at.empty() ? file.string() : at) + ": " + type + ": " + message;
}

std::string defined_at(const py::handle& object) {
  try {
    py::module_ inspect = py::module_::import("inspect");
    const std::string file = py::str(inspect.attr("getsourcefile")(object));
    const std::string line = py::str(inspect.attr("getsourcelines")(object)[py::int_(1)]);
    return file + ":" + line;
  } catch (py::error_already_set&) {
    return py::str(py::getattr(object, "__module__", py::str("?")));
  }
}

long python_threads() {
  static const char* code =
      "import threading\n"
      "def started_threads():\n"
      "    # Threads Python started; not the dummies that stand for threads it did not (the runner's workers).\n"
      "    return sum(1 for t in threading.enumerate() if not isinstance(t, threading._DummyThread))\n";
  // Kept for the process's life: the interpreter is never finalized, and a
  // static's destructor would run without the GIL.
  static py::object* count = [] {
    py::dict scope;
    py::exec(code, scope);
    return new py::object(scope["started_threads"]);
  }();
  return (*count)().cast<long>();
}

}  // namespace assim::python
