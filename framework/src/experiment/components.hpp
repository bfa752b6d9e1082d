// The experiment's components: each checked against its type's declaration
// and built once, on first use, after the components it names (a cycle among
// them is refused). Validation builds every one, so that afterwards a
// reference finds what was built.
#pragma once

#include "config_impl.hpp"

#include <assim/framework/plugins.hpp>

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace assim {

struct ExperimentFile;

struct ComponentEntry {
  YAML::Node node;
  const RegisteredType* type = nullptr;
  std::shared_ptr<Component> built;
};

class Components {
 public:
  Components(const ExperimentFile& experiment, const PluginCatalog& catalog);
  Components(const Components&) = delete;
  Components& operator=(const Components&) = delete;

  // Checks a component's node: a map whose `type` the catalog knows, with
  // the settings that type declares (defaults filled in).
  void check(const std::string& name);
  // The component `name`, which must be a `kind`, built on first use; `at`
  // (file:line) and `key` say where it is named.
  std::shared_ptr<Component> get(const std::string& name, Kind kind, const std::string& at, const std::string& key);
  const ComponentEntry& at(const std::string& name) const { return entries_.at(name); }
  // Adds `name` and every component it uses, directly or through another, to `out`.
  void closure(const std::string& name, std::set<std::string>& out) const;
  // Settings as a Config reads them: its references resolve to these components.
  std::shared_ptr<Config::Impl> config_impl(YAML::Node node, std::string path, std::vector<Parameter> declared);

 private:
  void build(const std::string& name, ComponentEntry& entry);

  const ExperimentFile& experiment_;
  const PluginCatalog& catalog_;
  std::map<std::string, ComponentEntry> entries_;
  std::vector<std::string> building_;
};

}  // namespace assim
