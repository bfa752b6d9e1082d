#include "experiment_file.hpp"

#include "config_impl.hpp"
#include "sweeps.hpp"

#include <assim/error.hpp>
#include <assim/framework/plugins.hpp>
#include <assim/parameters.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <sstream>
#include <vector>

namespace assim {

namespace fs = std::filesystem;

namespace {

Parameters experiment_parameters() {
  Parameters p;
  p.string("name", "", "",
           "name of the experiment and of its folder under the output root; default: the file name without "
           ".yaml. Experiments of one name share the folder: a stage of the same name and settings (a trained "
           "prior) is computed once and reused by all of them");
  p.string("description", "", "", "what the experiment is for");
  p.integer("seed", 0, "", "default seed of every stage").at_least(0);
  p.strings("plugin_path", {}, "plugin files or folders to load, relative to this file");
  return p;
}

// The file's YAML, a map.
YAML::Node load_tree(const fs::path& file) {
  if (fs::is_directory(file)) throw Error(file.string() + " is a folder: name an experiment file (EXPERIMENT.yaml)");
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw Error("cannot read experiment file " + file.string());
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1), "",
                      "malformed YAML: " + e.msg);
  }
  if (!root.IsMap()) throw ConfigError(file.string(), "", "an experiment must be a map with 'components' and 'stages'");
  return root;
}

// The experiment's name: given, or its file's.
std::string experiment_name(const ExperimentFile& x) {
  std::string name = x.root["name"].as<std::string>();
  if (name.empty()) {
    name = x.file.stem().string();
    if (!is_plain_name(name))
      throw ConfigError(x.file.string(), "name",
                        "the experiment's folder is named after its file, but '" + name +
                            "' is not a plain name (" + plain_name_rule + "); give one with 'name:'");
  } else if (!is_plain_name(name)) {
    throw ConfigError(x.where(x.root["name"], "name"), "name",
                      "'" + name + "' is not a plain name (" + plain_name_rule +
                          "): it names the experiment's folder under --output");
  }
  return name;
}

// The names of its components and stages, each a plain name and none both.
void collect_names(ExperimentFile& x) {
  for (const char* section : {"components", "stages"}) {
    YAML::Node node = x.root[section];
    if (node.IsDefined() && !node.IsNull() && !node.IsMap())
      throw ConfigError(x.where(node, section), section, "must be a map from names to settings");
  }
  for (const auto& entry : x.root["components"]) {
    std::string name = entry.first.Scalar();
    if (!is_plain_name(name))
      throw ConfigError(x.where(entry.first, "components." + name), "components." + name,
                        "'" + name + "' is not a plain name (" + plain_name_rule + ")");
    x.component_names.push_back(name);
    x.component_nodes[name] = entry.second;
  }
  for (const auto& entry : x.root["stages"]) {
    std::string name = entry.first.Scalar();
    if (!is_plain_name(name))
      throw ConfigError(x.where(entry.first, "stages." + name), "stages." + name,
                        "'" + name + "' is not a plain name (" + plain_name_rule +
                            "): it names the stage's result folder");
    if (x.component_nodes.count(name))
      throw ConfigError(x.where(entry.first, "stages." + name), "stages." + name,
                        "'" + name + "' names both a component and a stage");
    x.stage_names.push_back(name);
    x.stage_nodes[name] = entry.second;
  }
}

}  // namespace

const char* article(const std::string& word) {
  return !word.empty() && std::string("aeiou").find(word[0]) != std::string::npos ? "an" : "a";
}

std::string list_text(const std::vector<std::string>& names, const std::string& separator) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out.empty() ? "none" : out;
}

ExperimentFile ExperimentFile::read(const fs::path& file, const std::vector<std::string>& overrides) {
  ExperimentFile x;
  x.file = file;
  x.origin = std::make_shared<ConfigOrigin>();
  x.origin->file = file.string();
  x.root = load_tree(file);
  check_unique_keys(x.root, *x.origin, "");
  x.sweep_places = expand_sweeps(x.root, *x.origin);
  for (const auto& o : overrides) apply_override(x.root, o, *x.origin);

  validate_settings(x.root, experiment_parameters().list(), *x.origin, "", {"components", "stages"}, "the experiment");
  x.name = experiment_name(x);
  collect_names(x);
  x.root["name"] = x.name;  // as it runs, for `validate --print`
  return x;
}

std::string ExperimentFile::where(const YAML::Node& node, const std::string& path) const {
  return location(*origin, node, path, root);
}

YAML::Node ExperimentFile::kind_of(YAML::Node node, const std::string& path, const std::string& what,
                                   const std::string& key, const std::string& hint) const {
  if (!node.IsMap()) throw ConfigError(where(node, path), path, "a " + what + " must be a map with a '" + key + "' key");
  YAML::Node value = node[key];
  if (!value.IsDefined() || !value.IsScalar())
    throw ConfigError(where(node, path), path, "missing '" + key + "' (" + hint + ")");
  return value;
}

fs::path ExperimentFile::folder() const { return fs::absolute(file).parent_path(); }

std::string ExperimentFile::resolved() const {
  // One line per component and stage, as experiment files are written.
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& kv : root) {
    out << YAML::Key << kv.first;
    if ((kv.first.Scalar() == "components" || kv.first.Scalar() == "stages") && kv.second.IsMap()) {
      out << YAML::Value << YAML::BeginMap;
      for (const auto& entry : kv.second) out << YAML::Key << entry.first << YAML::Value << YAML::Flow << entry.second;
      out << YAML::EndMap;
    } else {
      out << YAML::Value << kv.second;
    }
  }
  out << YAML::EndMap;
  return out.c_str();
}

void load_plugin_path(const ExperimentFile& x, PluginCatalog& catalog) {
  YAML::Node paths = x.root["plugin_path"];
  for (std::size_t i = 0; i < paths.size(); ++i) {
    fs::path p = paths[i].as<std::string>();
    if (p.is_relative()) p = fs::absolute(x.file).parent_path() / p;
    catalog.load(p, x.where(paths[i], "plugin_path[" + std::to_string(i) + "]") + ": plugin_path[" +
                        std::to_string(i) + "]");
  }
}

bool is_plain_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

const char* const plain_name_rule = "letters, digits, '_' and '-', starting with a letter or '_', at most 128 characters";

void apply_override(YAML::Node root, const std::string& text, ConfigOrigin& origin) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set " + text + ": expected path.to.key=value");
  std::string path = text.substr(0, eq);
  if (!is_utf8(text)) throw Error("--set " + path + "=...: the value is not UTF-8 text (YAML reads only UTF-8)");
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error("--set " + text + ": the value is not valid YAML: " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  // Sweeps are expanded before the overrides apply: an override sets one
  // expanded stage, and neither the sweeps nor a template exist any more.
  if (parts[0] == "sweeps")
    throw Error("--set " + text + ": the sweeps are expanded before --set applies; set a stage they make "
                "(stages.NAME.key, `assim validate FILE --print` lists them) or edit sweeps: in the file");
  if ((parts[0] == "stages" || parts[0] == "components") && parts.size() > 1 && parts[1].find('<') != std::string::npos) {
    const std::string what = parts[0] == "stages" ? "stage" : "component";
    throw Error("--set " + text + ": '" + parts[1] + "' is a " + what + " template, and sweeps are expanded before "
                "--set applies; set a " + what + " it makes (`assim validate FILE --print` lists them)");
  }
  std::function<void(YAML::Node, std::size_t)> descend = [&](YAML::Node node, std::size_t i) {
    if (!node.IsMap() && !node.IsNull())
      throw Error("--set " + text + ": '" + parts[i - 1] + "' is not a map");
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]].IsDefined() || node[parts[i]].IsNull())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    descend(node[parts[i]], i + 1);
  };
  descend(root, 0);
  origin.overrides[path] = "--set " + path + "=" + abbreviated(text.substr(eq + 1));
}

}  // namespace assim
