#include "sweeps.hpp"

#include "config_impl.hpp"
#include "experiment_file.hpp"

#include <assim/error.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace assim {

namespace {

struct Dimension {
  std::vector<std::pair<std::string, YAML::Node>> values;  // label, value
};

struct Sweeps {
  std::vector<std::string> order;  // as declared: the first varies slowest
  std::map<std::string, Dimension> dims;
};

using Combination = std::map<std::string, std::pair<std::string, YAML::Node>>;  // dim -> (label, value)

std::string where(const ConfigOrigin& origin, const YAML::Node& node, const YAML::Node& root) {
  return location(origin, node, "", root);
}

// A label goes into stage names: letters, digits, '_' and '-'.
bool is_label(const std::string& text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

Sweeps dimensions(const YAML::Node& sweeps, const ConfigOrigin& origin, const YAML::Node& root) {
  Sweeps out;
  if (!sweeps.IsDefined() || sweeps.IsNull()) return out;
  if (!sweeps.IsMap())
    throw ConfigError(where(origin, sweeps, root), "sweeps", "must map each dimension's name to its values");
  for (const auto& kv : sweeps) {
    const std::string name = kv.first.Scalar(), path = "sweeps." + name;
    if (!is_plain_name(name))
      throw ConfigError(where(origin, kv.first, root), path, "'" + name + "' is not a plain name (" + plain_name_rule + ")");
    Dimension d;
    if (kv.second.IsMap()) {
      for (const auto& value : kv.second) d.values.emplace_back(value.first.Scalar(), value.second);
    } else if (kv.second.IsSequence()) {
      for (const auto& value : kv.second) {
        if (!value.IsScalar())
          throw ConfigError(where(origin, value, root), path,
                            "a list of values must hold scalars; give other values labels: {label: value, ...}");
        d.values.emplace_back(value.Scalar(), value);
      }
    } else {
      throw ConfigError(where(origin, kv.second, root), path,
                        "must be a list of values or a map of labels to values");
    }
    if (d.values.empty()) throw ConfigError(where(origin, kv.second, root), path, "has no values");
    for (const auto& [label, value] : d.values)
      if (!is_label(label))
        throw ConfigError(where(origin, value, root), path,
                          "label '" + label + "' cannot be part of a stage name (letters, digits, '_', '-'); "
                          "give the values labels: {label: value, ...}");
    out.order.push_back(name);
    out.dims.emplace(name, std::move(d));
  }
  return out;
}

std::string with_labels(std::string text, const Combination& combination) {
  for (const auto& [dim, value] : combination) {
    const std::string placeholder = "<" + dim + ">";
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.first.size()))
      text.replace(at, placeholder.size(), value.first);
  }
  return text;
}

// Every combination of `dims`, the first varying slowest.
std::vector<Combination> combinations(const std::vector<std::string>& dims, const Sweeps& all,
                                      const Combination& fixed = {}) {
  std::vector<Combination> out(1, fixed);
  for (const auto& dim : dims) {
    std::vector<Combination> next;
    for (const auto& partial : out)
      for (const auto& value : all.dims.at(dim).values) {
        Combination c = partial;
        c[dim] = value;
        next.push_back(std::move(c));
      }
    out = std::move(next);
  }
  return out;
}

// The node for one combination: `${dim}` values and `{dim}` labels put in.
// Maps and lists are the stage's own (an override of one stage changes no
// other), while scalars without placeholders are the file's own nodes,
// whose places in the file stay known for messages.
// The dims of `all` that the scalar names as <dim> but `combination` does not fix.
std::vector<std::string> free_dims(const YAML::Node& node, const Combination& combination, const Sweeps& all) {
  std::vector<std::string> out;
  if (!node.IsScalar()) return out;
  for (const auto& dim : all.order)
    if (!combination.count(dim) && node.Scalar().find("<" + dim + ">") != std::string::npos) out.push_back(dim);
  return out;
}

YAML::Node substitute(const YAML::Node& node, const Combination& combination, const Sweeps& all,
                      ConfigOrigin& origin, const YAML::Node& root, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.size() > 2 && text.front() == '<' && text.back() == '>') {
      const std::string dim = text.substr(1, text.size() - 2);
      if (auto it = combination.find(dim); it != combination.end())
        return substitute(it->second.second, {}, all, origin, root, path);
    }
    if (const auto unfixed = free_dims(node, combination, all); !unfixed.empty())
      throw ConfigError(where(origin, node, root), path,
                        "'" + text + "' names dimension '" + unfixed.front() +
                            "', which this stage does not run over (add it to over:, or list it: [" + text + "])");
    origin.expanded[path] = where(origin, node, root);
    YAML::Node copy(with_labels(text, combination));
    if (node.Tag() == "!") copy.SetTag("!");  // quoted in the file: a string, even "1"
    return copy;
  }
  origin.expanded[path] = where(origin, node, root);
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : node)
      out[kv.first.Scalar()] = substitute(kv.second, combination, all, origin, root, join_path(path, kv.first.Scalar()));
    return out;
  }
  if (node.IsSequence()) {
    // An element naming dims this stage does not run over expands into every
    // combination of them, and a run of elements naming the same dims expands
    // together, element by element: [$a_<n>, $b_<n>] is [$a_1, $b_1, $a_2,
    // $b_2, ...]. Elements naming other dims expand on their own, so that none
    // repeats: [$a_<n>, $b_<m>] is [$a_1, $a_2, ..., $b_1, $b_2, ...]. Each
    // element made is known by its own place in the list made.
    YAML::Node out(YAML::NodeType::Sequence);
    for (std::size_t i = 0; i < node.size();) {
      const std::vector<std::string> dims = free_dims(node[i], combination, all);  // in declared order
      std::size_t end = i + 1;
      while (!dims.empty() && end < node.size() && free_dims(node[end], combination, all) == dims) ++end;
      for (const auto& each : combinations(dims, all, combination))
        for (std::size_t k = i; k < end; ++k)
          out.push_back(substitute(node[k], each, all, origin, root, path + "[" + std::to_string(out.size()) + "]"));
      i = end;
    }
    return out;
  }
  return node;
}

}  // namespace

void expand_sweeps(YAML::Node root, ConfigOrigin& origin) {
  const Sweeps all = dimensions(root["sweeps"], origin, root);
  YAML::Node stages = root["stages"];
  const bool over = stages.IsMap() && std::any_of(stages.begin(), stages.end(), [](const auto& kv) {
    return kv.second.IsMap() && kv.second["over"].IsDefined();
  });
  if (root["sweeps"].IsDefined()) root.remove("sweeps");
  if (all.order.empty() && !over) return;  // the file's own nodes, places and all
  YAML::Node expanded(YAML::NodeType::Map);
  std::map<std::string, std::string> made_by;  // expanded name -> template
  auto claim = [&](const std::string& name, const std::string& from, const YAML::Node& key) {
    if (made_by.count(name))
      throw ConfigError(where(origin, key, root), "stages." + from,
                        "makes stage '" + name + "', which " +
                            (made_by[name] == name ? "is already a stage" : "stage '" + made_by[name] + "' also makes"));
    made_by[name] = from;
  };
  for (const auto& kv : stages) {
    const std::string name = kv.first.Scalar(), path = "stages." + name;
    const YAML::Node dims_node = kv.second.IsMap() ? kv.second["over"] : YAML::Node();
    if (!dims_node.IsDefined()) {
      claim(name, name, kv.first);
      expanded[kv.first] = substitute(kv.second, {}, all, origin, root, path);
      continue;
    }
    std::vector<std::string> dims;
    if (dims_node.IsScalar()) dims.push_back(dims_node.Scalar());
    else if (dims_node.IsSequence())
      for (const auto& d : dims_node) dims.push_back(d.Scalar());
    else
      throw ConfigError(where(origin, dims_node, root), path + ".over", "must name the dimensions under sweeps:");
    for (const auto& dim : dims) {
      if (!all.dims.count(dim)) {
        const std::string near = closest(dim, all.order);
        throw ConfigError(where(origin, dims_node, root), path + ".over",
                          "no dimension '" + dim + "' under sweeps:" + (near.empty() ? "" : "; did you mean '" + near + "'?"));
      }
      if (name.find("<" + dim + ">") == std::string::npos)
        throw ConfigError(where(origin, kv.first, root), path,
                          "the name of a stage that runs over '" + dim + "' must hold <" + dim +
                              ">, so that each combination has its own name");
    }
    for (const auto& combination : combinations(dims, all)) {
      const std::string made = with_labels(name, combination);
      if (!is_plain_name(made))
        throw ConfigError(where(origin, kv.first, root), path,
                          "makes stage '" + made + "', which is not a plain name (" + plain_name_rule + ")");
      claim(made, name, kv.first);
      YAML::Node stage(YAML::NodeType::Map);
      for (const auto& field : kv.second)
        if (field.first.Scalar() != "over")
          stage[field.first.Scalar()] = substitute(field.second, combination, all, origin, root,
                                          "stages." + made + "." + field.first.Scalar());
      expanded[made] = stage;
    }
  }
  root["stages"] = expanded;
  root.remove("sweeps");
}

}  // namespace assim
