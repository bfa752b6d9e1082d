// The Python module `assim` (its compiled half, assim._assim): the same
// Session, plugin catalog and stages the command line drives, called from
// Python. What Python adds (logging, dict experiments, xarray) is in
// assim/__init__.py; nothing here validates or runs anything itself.
#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/process.hpp>

#include "log_sink.hpp"

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace py = pybind11;

namespace assim {
namespace {

// The error classes, made once at import; the module's attributes own them
// (a py::object here would be released after the interpreter ends).
py::handle error_class, experiment_error_class;

// Raises `cls(message)` with the attributes Python code reads: for a
// ConfigError the place ("file:line:column", or "command line (--set ...)")
// split into file, line and column where it has them, and the dotted key.
void raise(py::handle cls, const std::string& message, const ConfigError* config) {
  py::object error = cls(message);
  py::object file = py::none(), line = py::none(), column = py::none(), key = py::none(), where = py::none();
  if (config) {
    where = py::str(config->where());
    key = py::str(config->key());
    // "file:line:column": the file name may hold ':' itself, the numbers not.
    const std::string& w = config->where();
    const auto c2 = w.rfind(':');
    const auto c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : w.rfind(':', c2 - 1);
    auto digits = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
    if (c1 != std::string::npos && digits(w.substr(c1 + 1, c2 - c1 - 1)) && digits(w.substr(c2 + 1))) {
      file = py::str(w.substr(0, c1));
      line = py::int_(std::stol(w.substr(c1 + 1, c2 - c1 - 1)));
      column = py::int_(std::stol(w.substr(c2 + 1)));
    } else if (w.rfind("command line", 0) != 0) {
      file = py::str(w);  // a whole file at fault (its name, its top level)
    }
  }
  error.attr("where") = where;
  error.attr("file") = file;
  error.attr("line") = line;
  error.attr("column") = column;
  error.attr("key") = key;
  PyErr_SetObject(cls.ptr(), error.ptr());
}

void translate(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const ConfigError& e) {
    raise(experiment_error_class, e.what(), &e);
  } catch (const Error& e) {
    raise(error_class, without_backtrace(e.what()), nullptr);
  }
}

// A Python value as YAML, keeping its type where YAML would read another
// (a float that looks like an integer stays a float: 2.0, not 2).
YAML::Node to_yaml(const py::handle& value, const std::string& path) {
  auto here = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  if (value.is_none()) return YAML::Node(YAML::NodeType::Null);
  if (py::isinstance<py::bool_>(value)) return YAML::Node(value.cast<bool>() ? "true" : "false");
  if (py::isinstance<py::int_>(value)) return YAML::Node(py::str(value).cast<std::string>());
  if (py::isinstance<py::float_>(value)) {
    const double x = value.cast<double>();
    if (std::isnan(x)) return YAML::Node(".nan");
    if (std::isinf(x)) return YAML::Node(x > 0 ? ".inf" : "-.inf");
    return YAML::Node(py::repr(value).cast<std::string>());  // the shortest text that reads back as x
  }
  if (py::isinstance<py::str>(value)) return YAML::Node(value.cast<std::string>());
  if (py::hasattr(value, "__fspath__")) return YAML::Node(py::str(value.attr("__fspath__")()).cast<std::string>());
  if (py::isinstance<py::dict>(value)) {
    YAML::Node map(YAML::NodeType::Map);
    for (const auto& [k, v] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(k))
        throw py::type_error("experiment" + (path.empty() ? "" : " at " + path) + ": key " +
                             py::repr(k).cast<std::string>() + " is not a string");
      const std::string key = k.cast<std::string>();
      map[key] = to_yaml(v, here(key));
    }
    return map;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    YAML::Node list(YAML::NodeType::Sequence);
    int i = 0;
    for (const auto& v : value) list.push_back(to_yaml(v, here(std::to_string(i++))));
    return list;
  }
  throw py::type_error("experiment" + (path.empty() ? "" : " at " + path) + ": " +
                       py::repr(py::type::of(value)).cast<std::string>() +
                       " is not a YAML value (dict, list, str, int, float, bool, None or a path)");
}

// A dict experiment as the YAML text of a file: block style, one key per
// line, so that an error's file:line points at the key it names.
std::string yaml_text(const py::dict& experiment) {
  YAML::Emitter out;
  out << to_yaml(experiment, "");
  return std::string(out.c_str()) + "\n";
}

// A parameter as a dict: the declaration's fields, its nested ones under "fields".
py::dict parameter_dict(const Parameter& p) {
  py::dict d;
  d["name"] = p.name;
  d["type"] = to_string(p.type);
  d["required"] = p.presence == Presence::Required;
  d["default"] = p.presence == Presence::Defaulted ? py::object(py::str(p.default_value)) : py::object(py::none());
  d["unit"] = p.unit;
  d["doc"] = p.doc;
  d["description"] = p.describe();  // the line `assim plugins --verbose` prints
  py::list fields;
  for (const auto& f : p.fields) fields.append(parameter_dict(f));
  d["fields"] = fields;
  return d;
}

py::list parameter_list(const std::vector<Parameter>& list) {
  py::list out;
  for (const auto& p : list) out.append(parameter_dict(p));
  return out;
}

// The component types (of the default plugin folders and ASSIM_PLUGIN_PATH,
// with an experiment's plugin_path when one is named) and the stages.
py::dict plugins(const std::string& experiment) {
  std::unique_ptr<Session> session;
  PluginCatalog own;
  {
    py::gil_scoped_release free;
    if (!experiment.empty()) session = std::make_unique<Session>(experiment, std::vector<std::string>{});
    else own.load_defaults();
  }
  const PluginCatalog& catalog = session ? session->catalog() : own;
  py::dict types;
  for (const auto& name : catalog.type_names()) {
    const RegisteredType* t = catalog.find(name);
    py::dict d;
    d["kind"] = to_string(t->type.kind);
    d["doc"] = t->type.doc;
    d["plugin"] = t->plugin->name;
    d["version"] = t->plugin->version;
    d["file"] = t->plugin->file;
    d["parameters"] = parameter_list(t->type.parameters.list());
    types[py::str(name)] = d;
  }
  py::dict runs;
  for (const auto& [name, stage] : stages()) {
    py::dict d;
    d["doc"] = stage->doc();
    d["parameters"] = parameter_list(stage->parameters().list());
    runs[py::str(name)] = d;
  }
  py::dict out;
  out["types"] = types;
  out["stages"] = runs;
  return out;
}

// validate: the stages in run order (and those a variant writes), or the
// experiment as it would run.
py::dict validate(const std::string& file, const std::vector<std::string>& sets, const std::string& variant) {
  std::string name, resolved;
  std::vector<std::string> order, varied;
  {
    py::gil_scoped_release free;
    Session session(file, sets);
    session.validate();
    if (!variant.empty()) varied = session.variant_stages(variant);
    name = session.name();
    resolved = session.resolved();
    order = session.order();
  }
  py::dict out;
  out["name"] = name;
  out["stages"] = order;
  out["variant_stages"] = varied;
  out["resolved"] = resolved;
  return out;
}

// run: each stage's result folder, in run order.
std::vector<std::pair<std::string, std::filesystem::path>> run(const std::string& file,
                                                               const std::vector<std::string>& sets,
                                                               const RunOptions& options, int workers, int threads) {
  py::gil_scoped_release free;
  configure_workers(workers, threads);
  Session session(file, sets);
  session.run(options);
  std::vector<std::pair<std::string, std::filesystem::path>> folders;
  for (const auto& stage : session.order()) folders.emplace_back(stage, session.result_folder(options.output_root, stage));
  return folders;
}

}  // namespace
}  // namespace assim

PYBIND11_MODULE(_assim, m) {
  using namespace assim;
  m.doc() = "the compiled half of the assim module: Session, plugins and stages of the framework";
  // What the host does first (malloc policy, ATen's CPU kernels); ATen reads
  // the switch at its first kernel, so before `import torch` computes anything.
  prepare_process();
  py::object error = py::module_::import("builtins").attr("type")(
      "Error", py::make_tuple(py::reinterpret_borrow<py::object>(PyExc_RuntimeError)),
      py::dict(py::arg("__module__") = "assim",
               py::arg("__doc__") = "An experiment failed: a stage, a plugin, a file (the message says which)."));
  py::object experiment_error = py::module_::import("builtins").attr("type")(
      "ExperimentError", py::make_tuple(error),
      py::dict(py::arg("__module__") = "assim",
               py::arg("__doc__") = "A value in an experiment is wrong. Attributes: where ('file:line:column' or "
                                    "'command line (--set ...)'), file, line, column (None where the place has "
                                    "none) and key (the dotted path of the value, e.g. components.l96.sites)."));
  m.attr("Error") = error_class = error;
  m.attr("ExperimentError") = experiment_error_class = experiment_error;
  py::register_exception_translator(&translate);

  py::enum_<log::Level>(m, "Level")
      .value("debug", log::Level::Debug)
      .value("info", log::Level::Info)
      .value("warning", log::Level::Warning)
      .value("error", log::Level::Error);
  m.def("set_log_level", &log::set_level, "the least level the framework writes");
  m.def(
      "set_log_sink",
      [](py::object sink) {
        if (sink.is_none()) {
          log::set_sink(nullptr);
          return;
        }
        // Called from any thread that logs, a worker's too, while the caller
        // of run() waits with the GIL released.
        log::set_sink([sink](log::Level level, const std::string& message) {
          if (!Py_IsInitialized()) return;
          py::gil_scoped_acquire held;
          try {
            sink(level, message);
          } catch (py::error_already_set& e) {
            e.discard_as_unraisable("assim's log sink");
          }
        });
      },
      py::arg("sink"), "sink(level, message) receives every log line instead of standard error; None: standard error");
  m.def("yaml_text", &yaml_text, py::arg("experiment"), "a dict experiment as the YAML text of its file");
  m.def("plugins", &plugins, py::arg("experiment") = "");
  m.def("validate", &validate, py::arg("file"), py::arg("sets"), py::arg("variant"));
  m.def(
      "run",
      [](const std::string& file, const std::vector<std::string>& sets, const std::string& output,
         const std::vector<std::string>& only, bool force, bool keep_going, bool adopt, const std::string& variant,
         int workers, int threads) {
        RunOptions options;
        options.output_root = output;
        options.only = only;
        options.force = force;
        options.keep_going = keep_going;
        options.adopt = adopt;
        options.variant = variant;
        return run(file, sets, options, workers, threads);
      },
      py::arg("file"), py::arg("sets"), py::arg("output"), py::arg("only"), py::arg("force"), py::arg("keep_going"),
      py::arg("adopt"), py::arg("variant"), py::arg("workers"), py::arg("threads"));
}
