// The Python interpreter that Python components run in, and what they need of
// it: a file loaded as a module, and a Python error told as the place in that
// file it came from.
//
// Under the host `assim` the interpreter is started here, once, the first time
// a Python component is built; under Python (`import assim`) it is the
// process's own. Either way `torch` is imported before any tensor crosses
// (libtorch_python's wrappers need torch._C set up), and every call into
// Python takes the GIL (pybind11::gil_scoped_acquire), from whichever thread
// the runner calls on: the interpreter holds it only while Python code runs.
#pragma once

#include <pybind11/pybind11.h>

#include <filesystem>
#include <string>

namespace assim::python {

// Starts the interpreter where the process has none and imports torch.
// Throws assim::Error when it cannot.
void start();

// `file` executed as a fresh module (a new one at each call, so that a file
// edited between two runs in one Python process is read again). The GIL is
// held. Throws pybind11::error_already_set for what the file raises.
pybind11::module_ load_file(const std::filesystem::path& file);

// "FILE:LINE: TYPE: message" of the Python exception `e`: the line is that of
// the innermost frame of its traceback in `file` (the component's own code),
// else the innermost frame; for a SyntaxError, the line it names. GIL held.
std::string describe(pybind11::error_already_set& e, const std::filesystem::path& file);

// "FILE:LINE" where a class or function is defined ("FILE" where Python
// cannot tell). GIL held.
std::string defined_at(const pybind11::handle& object);

// The number of threads started from Python (threading.Thread) alive now:
// a component may start none that outlive its call. GIL held.
long python_threads();

}  // namespace assim::python
