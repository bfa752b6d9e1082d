// The one declaration of a component's (or stage's) parameters.
//
// Validation of an experiment, the defaults filled into it, and the text of
// `assim plugins --verbose` all come from this list:
//
// ```cpp-body
// assim::Parameters p;
// p.real("dt", 7200.0, "s", "time step").above(0);
// p.integer("nx", 64, "", "grid points per side").at_least(4);
// p.string("scheme", "rk4", "", "time scheme").one_of({"rk4", "euler"});
// p.string("out", "data.nc", "", "file name of the result").output_name();
// p.component("model", assim::Kind::Model, "the model to run");
// ```
#pragma once

#include <assim/abi.hpp>
#include <assim/component.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace assim {

enum class ParameterType {
  Boolean,
  Integer,
  Real,
  String,
  Reals,      // a list of reals
  Integers,   // a list of integers
  Strings,    // a list of strings
  Component,  // a `$name` reference to a component of a given kind
  Components, // a list of such references
  Stage,      // a `$name` reference to an earlier stage whose results are read
  Stages,     // a list of such references
  Section,    // a nested map with its own declared fields
  Others,     // not a key: the keys beyond the declared ones, which the component
              // declares itself when it is built (Config::with_parameters)
};

ASSIM_API const char* to_string(ParameterType type);

// What a string parameter names on disk, so that the host can keep every
// write inside the run folder and put the content of every file read into the
// stage's hash.
enum class PathRole {
  None,
  OutputName,  // a plain file or folder name inside the stage's own result folder
  InputFile,   // a file the stage reads, relative to the experiment file; its bytes are hashed
};

enum class Presence {
  Required,     // must be given
  Defaulted,    // filled with `default_value` when absent
  Optional,     // may be absent; then it has no value
};

struct ASSIM_API Parameter {
  std::string name;
  ParameterType type = ParameterType::Real;
  Presence presence = Presence::Required;
  std::string default_value;  // YAML text, for Presence::Defaulted
  std::string unit;           // SI or the model's own unit; empty if dimensionless
  std::string doc;            // one line
  std::optional<double> minimum, maximum;  // for numbers and each element of number lists
  bool minimum_exclusive = false, maximum_exclusive = false;
  std::vector<std::string> choices;        // for strings; for Stage(s): the `run:` kinds accepted
  std::optional<Kind> component_kind;      // for Component
  std::vector<Parameter> fields;           // for Section
  PathRole path_role = PathRole::None;     // for String

  // Constraints, chainable.
  Parameter& at_least(double v);
  Parameter& above(double v);
  Parameter& at_most(double v);
  Parameter& below(double v);
  Parameter& one_of(std::vector<std::string> values);
  // A String naming a result inside the stage's folder: a plain name, no
  // '/', not '.' or '..', not hidden (validated before anything runs).
  Parameter& output_name();
  // A String naming a file the stage reads (empty: none): a changed, added
  // or deleted file recomputes the stage.
  Parameter& input_file();
  // May be absent, and then has no value (`has(name)` is false).
  Parameter& optional();
  // For Section: declare its fields.
  Parameter& with(const class Parameters& fields);

  // "dt: real, default 7200, unit s, > 0: time step"
  std::string describe() const;
};

class ASSIM_API Parameters {
 public:
  Parameter& boolean(std::string name, bool default_value, std::string doc);
  Parameter& integer(std::string name, std::int64_t default_value, std::string unit, std::string doc);
  Parameter& real(std::string name, double default_value, std::string unit, std::string doc);
  Parameter& string(std::string name, std::string default_value, std::string unit, std::string doc);
  Parameter& reals(std::string name, std::vector<double> default_value, std::string unit, std::string doc);
  Parameter& integers(std::string name, std::vector<std::int64_t> default_value, std::string unit,
                      std::string doc);
  Parameter& strings(std::string name, std::vector<std::string> default_value, std::string doc);
  Parameter& component(std::string name, Kind kind, std::string doc);
  Parameter& components(std::string name, Kind kind, std::string doc);
  Parameter& stage(std::string name, std::string doc);
  Parameter& stages(std::string name, std::string doc);
  Parameter& section(std::string name, std::string doc, const Parameters& fields);
  // Keys beyond those declared here are let through when the experiment is
  // validated, for the component to declare when it is built (a Python
  // class's own parameters, plugins/python): its factory calls
  // Config::with_parameters, which checks them as any declared key.
  Parameter& others(std::string doc);

  // A parameter that must be given, of any type (`required(...).above(0)`).
  Parameter& required(std::string name, ParameterType type, std::string unit, std::string doc);
  // A parameter that may be absent and then has no value.
  Parameter& optional(std::string name, ParameterType type, std::string unit, std::string doc);

  const std::vector<Parameter>& list() const { return list_; }
  const Parameter* find(const std::string& name) const;

 private:
  Parameter& add(Parameter p);
  std::vector<Parameter> list_;
};

}  // namespace assim
