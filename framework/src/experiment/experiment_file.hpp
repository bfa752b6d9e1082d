// The experiment file's own rules: which names may become folders, how
// a `--set a.b.c=value` override edits the tree before validation, and the
// file as read, before its components and stages are checked.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <string>
#include <vector>

namespace assim {

struct ConfigOrigin;
class PluginCatalog;

// Names become folders under the output root: a plain identifier, so that no
// name can reach outside the experiment's folder or hide among its own
// temporary folders.
bool is_plain_name(const std::string& name);
extern const char* const plain_name_rule;

// Applies one `--set a.b.c=value` to the experiment tree; the origin records it.
void apply_override(YAML::Node root, const std::string& text, ConfigOrigin& origin);

// The experiment file as read: sweeps expanded, overrides applied, the
// top-level settings and the names of its components and stages checked.
// Validation (experiment/graph.hpp) fills in the defaults of `root`.
struct ExperimentFile {
  std::filesystem::path file;
  std::string name;  // of the experiment and of its folder under the output root
  YAML::Node root;
  std::shared_ptr<ConfigOrigin> origin;
  std::vector<std::string> component_names, stage_names;  // in file order
  std::map<std::string, YAML::Node> component_nodes, stage_nodes;
  // Where each sweep dimension's values were put (experiment/sweeps.hpp).
  std::map<std::string, std::set<std::tuple<std::string, std::string, std::string>>> sweep_places;

  // Reads `file` and applies `--set path=value` overrides; throws ConfigError
  // naming the file, line and key at fault.
  static ExperimentFile read(const std::filesystem::path& file, const std::vector<std::string>& overrides);
  // "file:line:column" of `node`, at dotted `path`.
  std::string where(const YAML::Node& node, const std::string& path) const;
  // The scalar `key` that says what the entry `node` at `path` is (a
  // component's `type`, a stage's `run`); else a ConfigError: a `what` must
  // be a map with that key, or the key is missing (`hint`: what it may be).
  YAML::Node kind_of(YAML::Node node, const std::string& path, const std::string& what, const std::string& key,
                     const std::string& hint) const;
  // The folder the file's relative paths start from.
  std::filesystem::path folder() const;
  // The experiment as it runs (YAML text): one line per component and stage.
  std::string resolved() const;
};

// Loads the plugins the file's plugin_path names into `catalog`.
void load_plugin_path(const ExperimentFile& experiment, PluginCatalog& catalog);

// "a" or "an", before `word` in a message.
const char* article(const std::string& word);
// `names` listed for a message: "a, b, c", or "none".
std::string list_text(const std::vector<std::string>& names, const std::string& separator = ", ");

}  // namespace assim
