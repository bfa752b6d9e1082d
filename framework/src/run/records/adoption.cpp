#include "adoption.hpp"

#include "provenance.hpp"

#include <set>

namespace assim {

namespace {

const Parameter* find_parameter(const std::vector<Parameter>& declared, const std::string& name) {
  for (const auto& p : declared)
    if (p.name == name) return &p;
  return nullptr;
}

std::string shown(const YAML::Node& node) {
  if (!node) return "absent";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

std::string settings_difference(const YAML::Node& now, const YAML::Node& then, const std::vector<Parameter>& declared,
                                const std::string& path) {
  if (!now.IsMap() || !then.IsMap()) {
    const bool same = provenance::canonical(now) == provenance::canonical(then);
    return same ? "" : path + ": " + shown(then) + " then, " + shown(now) + " now";
  }
  std::set<std::string> keys;
  for (const auto& kv : now) keys.insert(kv.first.Scalar());
  for (const auto& kv : then) keys.insert(kv.first.Scalar());
  for (const auto& key : keys) {
    const std::string where = path + "." + key;
    const YAML::Node a = now[key], b = then[key];
    const Parameter* p = find_parameter(declared, key);
    if (a && b) {
      const std::string d = settings_difference(a, b, p ? p->fields : std::vector<Parameter>{}, where);
      if (!d.empty()) return d;
      continue;
    }
    if (b) return where + ": " + shown(b) + " then, absent now (a parameter removed since)";
    // Added since: adoptable only at its default.
    const bool at_default = p && p->presence == Presence::Defaulted && p->type != ParameterType::Section &&
                            provenance::canonical(a) == provenance::canonical(YAML::Load(p->default_value));
    if (!at_default) return where + ": absent then, " + shown(a) + " now";
  }
  return "";
}

}  // namespace assim
