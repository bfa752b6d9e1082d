#include "declaration.hpp"

#include <assim/error.hpp>

#include <cstdint>
#include <set>
#include <vector>

namespace py = pybind11;

namespace assim::python {

namespace {

// The parameter type a Python type names (bool before int: a bool is an int).
ParameterType type_of(const py::handle& t, const std::string& at) {
  py::module_ builtins = py::module_::import("builtins");
  if (t.is(builtins.attr("bool"))) return ParameterType::Boolean;
  if (t.is(builtins.attr("int"))) return ParameterType::Integer;
  if (t.is(builtins.attr("float"))) return ParameterType::Real;
  if (t.is(builtins.attr("str"))) return ParameterType::String;
  if (py::hasattr(t, "__origin__") && py::getattr(t, "__origin__").is(builtins.attr("list"))) {
    py::tuple args = py::getattr(t, "__args__");
    const py::object element = args.size() == 1 ? py::object(args[0]) : py::none();
    if (element.is(builtins.attr("float"))) return ParameterType::Reals;
    if (element.is(builtins.attr("int"))) return ParameterType::Integers;
    if (element.is(builtins.attr("str"))) return ParameterType::Strings;
  }
  throw Error(at + ": type " + py::repr(t).cast<std::string>() +
              " is not one of bool, int, float, str, list[float], list[int], list[str]");
}

}  // namespace

Parameters declared_parameters(const py::handle& cls, const std::string& where) {
  Parameters out;
  if (!py::hasattr(cls, "parameters")) return out;
  py::object table = cls.attr("parameters");
  const std::string name = py::str(cls.attr("__name__"));
  const std::string at = where + ": " + name + ".parameters";
  if (!py::isinstance<py::dict>(table))
    throw Error(at + " is a " + py::str(py::type::of(table).attr("__name__")).cast<std::string>() +
                ", not a dict of name: {type, default, unit, doc, ...}");
  static const std::set<std::string> fields = {"type", "default", "unit", "doc", "above", "at_least",
                                               "below", "at_most", "one_of"};
  for (const auto& [key, entry] : table.cast<py::dict>()) {
    if (!py::isinstance<py::str>(key)) throw Error(at + ": a parameter's name must be a str, not " + py::repr(key).cast<std::string>());
    const std::string p = key.cast<std::string>();
    const std::string here = at + "['" + p + "']";
    if (!py::isinstance<py::dict>(entry)) throw Error(here + " is not a dict of type, default, unit, doc, ...");
    py::dict d = entry.cast<py::dict>();
    for (const auto& [field, value] : d)
      if (!py::isinstance<py::str>(field) || !fields.count(field.cast<std::string>()))
        throw Error(here + ": unknown field " + py::repr(field).cast<std::string>() +
                    " (fields: type, default, unit, doc, above, at_least, below, at_most, one_of)");
    if (!d.contains("type")) throw Error(here + " has no 'type'");
    if (!d.contains("doc") || !py::isinstance<py::str>(d["doc"])) throw Error(here + " has no 'doc' (one line, a str)");
    const ParameterType type = type_of(d["type"], here);
    const std::string unit = d.contains("unit") ? py::str(d["unit"]).cast<std::string>() : "";
    const std::string doc = d["doc"].cast<std::string>();
    Parameter* made = nullptr;
    if (!d.contains("default")) {
      made = &out.required(p, type, unit, doc);
    } else {
      py::object v = d["default"];
      try {
        switch (type) {
          case ParameterType::Boolean:
            if (!py::isinstance<py::bool_>(v)) throw py::cast_error();
            made = &out.boolean(p, v.cast<bool>(), doc);
            break;
          case ParameterType::Integer:
            if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v)) throw py::cast_error();
            made = &out.integer(p, v.cast<std::int64_t>(), unit, doc);
            break;
          case ParameterType::Real:
            if (py::isinstance<py::bool_>(v) || !(py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v)))
              throw py::cast_error();
            made = &out.real(p, v.cast<double>(), unit, doc);
            break;
          case ParameterType::String:
            if (!py::isinstance<py::str>(v)) throw py::cast_error();
            made = &out.string(p, v.cast<std::string>(), unit, doc);
            break;
          case ParameterType::Reals: made = &out.reals(p, v.cast<std::vector<double>>(), unit, doc); break;
          case ParameterType::Integers: made = &out.integers(p, v.cast<std::vector<std::int64_t>>(), unit, doc); break;
          case ParameterType::Strings: made = &out.strings(p, v.cast<std::vector<std::string>>(), doc); break;
          default: break;
        }
      } catch (const py::cast_error&) {
        throw Error(here + ": default " + py::repr(v).cast<std::string>() + " does not fit its type (" +
                    to_string(type) + ")");
      }
    }
    auto number = [&](const char* field) {
      try {
        return d[field].cast<double>();
      } catch (const py::cast_error&) {
        throw Error(here + ": " + field + " must be a number");
      }
    };
    if (d.contains("above")) made->above(number("above"));
    if (d.contains("at_least")) made->at_least(number("at_least"));
    if (d.contains("below")) made->below(number("below"));
    if (d.contains("at_most")) made->at_most(number("at_most"));
    if (d.contains("one_of")) made->one_of(d["one_of"].cast<std::vector<std::string>>());
  }
  return out;
}

py::dict keyword_arguments(const Config& config, const Parameters& declared) {
  py::dict kwargs;
  for (const auto& p : declared.list()) {
    py::str key(p.name);
    switch (p.type) {
      case ParameterType::Boolean: kwargs[key] = config.get<bool>(p.name); break;
      case ParameterType::Integer: kwargs[key] = config.get<std::int64_t>(p.name); break;
      case ParameterType::Real: kwargs[key] = config.get<double>(p.name); break;
      case ParameterType::String: kwargs[key] = config.get<std::string>(p.name); break;
      case ParameterType::Reals: kwargs[key] = py::cast(config.get<std::vector<double>>(p.name)); break;
      case ParameterType::Integers: kwargs[key] = py::cast(config.get<std::vector<std::int64_t>>(p.name)); break;
      case ParameterType::Strings: kwargs[key] = py::cast(config.get<std::vector<std::string>>(p.name)); break;
      default: break;  // declared_parameters makes no other type
    }
  }
  return kwargs;
}

}  // namespace assim::python
