#include <assim/parameters.hpp>

#include <cmath>
#include <sstream>
#include <type_traits>

namespace assim {

const char* to_string(ParameterType type) {
  switch (type) {
    case ParameterType::Boolean: return "boolean";
    case ParameterType::Integer: return "integer";
    case ParameterType::Real: return "real";
    case ParameterType::String: return "string";
    case ParameterType::Reals: return "list of reals";
    case ParameterType::Integers: return "list of integers";
    case ParameterType::Strings: return "list of strings";
    case ParameterType::Component: return "component reference";
    case ParameterType::Components: return "list of component references";
    case ParameterType::Stage: return "stage reference";
    case ParameterType::Stages: return "list of stage references";
    case ParameterType::Section: return "section";
    case ParameterType::Others: return "keys the component declares";
  }
  return "?";
}

namespace {
// The shortest text that reads back as the same double (0.05, not
// 0.050000000000000003): a declared default shown as it will be read.
std::string exact_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << v;
    if (std::stod(out.str()) == v) return out.str();
  }
  return std::to_string(v);
}

template <class T>
std::string flow_list(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_integral_v<T>)
      out += (i ? ", " : "") + std::to_string(values[i]);
    else
      out += (i ? ", " : "") + exact_text(values[i]);
  }
  return out + "]";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

Parameter& Parameter::at_least(double v) {
  minimum = v;
  minimum_exclusive = false;
  return *this;
}
Parameter& Parameter::above(double v) {
  minimum = v;
  minimum_exclusive = true;
  return *this;
}
Parameter& Parameter::at_most(double v) {
  maximum = v;
  maximum_exclusive = false;
  return *this;
}
Parameter& Parameter::below(double v) {
  maximum = v;
  maximum_exclusive = true;
  return *this;
}
Parameter& Parameter::one_of(std::vector<std::string> values) {
  choices = std::move(values);
  return *this;
}
Parameter& Parameter::output_name() {
  path_role = PathRole::OutputName;
  return *this;
}
Parameter& Parameter::input_file() {
  path_role = PathRole::InputFile;
  return *this;
}
Parameter& Parameter::optional() {
  presence = Presence::Optional;
  default_value.clear();
  return *this;
}
Parameter& Parameter::with(const Parameters& nested) {
  fields = nested.list();
  return *this;
}

std::string Parameter::describe() const {
  std::ostringstream out;
  out << name << ": " << to_string(type);
  if (type == ParameterType::Others) return out.str() + ": " + doc;
  if (component_kind) out << " (" << to_string(*component_kind) << ")";
  if (presence == Presence::Required) out << ", required";
  if (presence == Presence::Optional) out << ", optional";
  if (presence == Presence::Defaulted) out << ", default " << default_value;
  if (!unit.empty()) out << ", unit " << unit;
  if (path_role == PathRole::OutputName) out << ", a file name inside the stage's folder";
  if (path_role == PathRole::InputFile) out << ", a file read (relative to the experiment file; hashed)";
  if (minimum) out << (minimum_exclusive ? ", > " : ", >= ") << exact_text(*minimum);
  if (maximum) out << (maximum_exclusive ? ", < " : ", <= ") << exact_text(*maximum);
  if (!choices.empty()) {
    out << ", one of";
    for (const auto& c : choices) out << ' ' << c;
  }
  out << ": " << doc;
  return out.str();
}

Parameter& Parameters::add(Parameter p) {
  list_.push_back(std::move(p));
  return list_.back();
}

const Parameter* Parameters::find(const std::string& name) const {
  for (const auto& p : list_)
    if (p.name == name) return &p;
  return nullptr;
}

namespace {
Parameter make(std::string name, ParameterType type, Presence presence, std::string default_value,
               std::string unit, std::string doc) {
  Parameter p;
  p.name = std::move(name);
  p.type = type;
  p.presence = presence;
  p.default_value = std::move(default_value);
  p.unit = std::move(unit);
  p.doc = std::move(doc);
  return p;
}
}  // namespace

Parameter& Parameters::boolean(std::string name, bool v, std::string doc) {
  return add(make(std::move(name), ParameterType::Boolean, Presence::Defaulted, v ? "true" : "false",
                  "", std::move(doc)));
}
Parameter& Parameters::integer(std::string name, std::int64_t v, std::string unit, std::string doc) {
  return add(make(std::move(name), ParameterType::Integer, Presence::Defaulted, std::to_string(v),
                  std::move(unit), std::move(doc)));
}
Parameter& Parameters::real(std::string name, double v, std::string unit, std::string doc) {
  return add(make(std::move(name), ParameterType::Real, Presence::Defaulted, exact_text(v),
                  std::move(unit), std::move(doc)));
}
Parameter& Parameters::string(std::string name, std::string v, std::string unit, std::string doc) {
  return add(make(std::move(name), ParameterType::String, Presence::Defaulted, quoted(v),
                  std::move(unit), std::move(doc)));
}
Parameter& Parameters::reals(std::string name, std::vector<double> v, std::string unit,
                             std::string doc) {
  return add(make(std::move(name), ParameterType::Reals, Presence::Defaulted, flow_list(v),
                  std::move(unit), std::move(doc)));
}
Parameter& Parameters::integers(std::string name, std::vector<std::int64_t> v, std::string unit,
                                std::string doc) {
  return add(make(std::move(name), ParameterType::Integers, Presence::Defaulted, flow_list(v),
                  std::move(unit), std::move(doc)));
}
Parameter& Parameters::strings(std::string name, std::vector<std::string> v, std::string doc) {
  std::vector<std::string> q;
  for (const auto& s : v) q.push_back(quoted(s));
  std::string text = "[";
  for (std::size_t i = 0; i < q.size(); ++i) text += (i ? ", " : "") + q[i];
  return add(make(std::move(name), ParameterType::Strings, Presence::Defaulted, text + "]", "",
                  std::move(doc)));
}
Parameter& Parameters::component(std::string name, Kind kind, std::string doc) {
  auto& p = add(make(std::move(name), ParameterType::Component, Presence::Required, "", "",
                     std::move(doc)));
  p.component_kind = kind;
  return p;
}
Parameter& Parameters::components(std::string name, Kind kind, std::string doc) {
  auto& p = add(make(std::move(name), ParameterType::Components, Presence::Required, "", "",
                     std::move(doc)));
  p.component_kind = kind;
  return p;
}
Parameter& Parameters::stage(std::string name, std::string doc) {
  return add(make(std::move(name), ParameterType::Stage, Presence::Required, "", "", std::move(doc)));
}
Parameter& Parameters::stages(std::string name, std::string doc) {
  return add(make(std::move(name), ParameterType::Stages, Presence::Required, "", "", std::move(doc)));
}
Parameter& Parameters::section(std::string name, std::string doc, const Parameters& fields) {
  auto& p = add(make(std::move(name), ParameterType::Section, Presence::Defaulted, "{}", "",
                     std::move(doc)));
  p.fields = fields.list();
  return p;
}
Parameter& Parameters::others(std::string doc) {
  return add(make("...", ParameterType::Others, Presence::Optional, "", "", std::move(doc)));
}
Parameter& Parameters::required(std::string name, ParameterType type, std::string unit,
                                std::string doc) {
  return add(make(std::move(name), type, Presence::Required, "", std::move(unit), std::move(doc)));
}
Parameter& Parameters::optional(std::string name, ParameterType type, std::string unit,
                                std::string doc) {
  return add(make(std::move(name), type, Presence::Optional, "", std::move(unit), std::move(doc)));
}

}  // namespace assim
