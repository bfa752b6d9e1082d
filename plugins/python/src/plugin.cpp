// The plugin: components written in Python (README.md beside src/).
#include "python_model.hpp"
#include "python_operator.hpp"

ASSIM_PLUGIN("python", "0.1.0") {
  registrar.add<assim::python::PythonOperator>(
      "obs.python", "an observation operator written in Python: a class in a file, called by the C++ kernel");
  registrar.add<assim::python::PythonModel>(
      "model.python", "a forecast model written in Python: a class in a file, stepped by the C++ kernel");
}
