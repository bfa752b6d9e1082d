#include "components.hpp"

#include "experiment_file.hpp"

#include <assim/error.hpp>
#include <assim/log.hpp>

#include <algorithm>
#include <functional>

namespace assim {

Components::Components(const ExperimentFile& experiment, const PluginCatalog& catalog)
    : experiment_(experiment), catalog_(catalog) {
  for (const auto& name : experiment.component_names) entries_[name].node = experiment.component_nodes.at(name);
}

void Components::check(const std::string& name) {
  auto& entry = entries_[name];
  std::string path = "components." + name;
  YAML::Node type = experiment_.kind_of(entry.node, path, "component", "type", "run `assim plugins` to list the types");
  entry.type = catalog_.find(type.Scalar());
  if (const std::string current = catalog_.current_name(type.Scalar()); !current.empty())
    log::warning(experiment_.where(type, path + ".type"), ": type '", type.Scalar(), "' is deprecated; it is now '",
                 current, "'");
  if (!entry.type) {
    std::string near = closest(type.Scalar(), catalog_.type_names());
    throw ConfigError(experiment_.where(type, path + ".type"), path + ".type",
                      "unknown component type '" + type.Scalar() + "'" +
                          (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (known types: " + list_text(catalog_.type_names()) + ")");
  }
  validate_settings(entry.node, entry.type->type.parameters.list(), *experiment_.origin, path, {"type"},
                    entry.type->type.name + " (component '" + name + "')");
}

std::shared_ptr<Component> Components::get(const std::string& name, Kind kind, const std::string& at,
                                           const std::string& key) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string near = closest(name, experiment_.component_names);
    throw ConfigError(at, key,
                      "no component named '" + name + "'" +
                          (experiment_.stage_nodes.count(name) ? " ('" + name + "' is a stage)" : "") +
                          (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (components: " + list_text(experiment_.component_names) + ")");
  }
  auto& entry = it->second;
  if (!entry.type) check(name);
  if (entry.type->type.kind != kind)
    throw ConfigError(at, key,
                      "component '" + name + "' is a " + to_string(entry.type->type.kind) + " (" +
                          entry.type->type.name + "), but a " + to_string(kind) + " is needed here");
  if (entry.built) return entry.built;
  if (std::find(building_.begin(), building_.end(), name) != building_.end()) {
    std::string cycle;
    for (auto b = std::find(building_.begin(), building_.end(), name); b != building_.end(); ++b)
      cycle += *b + " -> ";
    throw ConfigError(at, key, "cycle among components: " + cycle + name);
  }
  building_.push_back(name);
  build(name, entry);
  building_.pop_back();
  return entry.built;
}

// Builds a checked component whose own components are built or being built.
void Components::build(const std::string& name, ComponentEntry& entry) {
  std::string path = "components." + name;
  Config config(config_impl(entry.node, path, entry.type->type.parameters.list()));
  const LoadedPlugin* plugin = entry.type->plugin;
  try {
    entry.built = entry.type->type.create(config);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(experiment_.where(entry.node, path), path,
                      "plugin '" + (plugin ? plugin->name : std::string("host")) + "' (" +
                          (plugin ? plugin->file.string() : std::string("built in")) +
                          ") failed to create a " + entry.type->type.name + ": " + without_backtrace(e.what()));
  } catch (...) {
    throw ConfigError(experiment_.where(entry.node, path), path,
                      "plugin '" + (plugin ? plugin->name : std::string("host")) + "' (" +
                          (plugin ? plugin->file.string() : std::string("built in")) + ") failed to create a " +
                          entry.type->type.name + ": it threw something that is not a std::exception");
  }
  if (!entry.built)
    throw ConfigError(experiment_.where(entry.node, path), path,
                      "the factory of " + entry.type->type.name + " returned nothing");
  for (const auto& unread : config.unread())
    log::debug(path, ".", unread, " is declared by ", entry.type->type.name, " but was not read");
}

void Components::closure(const std::string& name, std::set<std::string>& out) const {
  if (!out.insert(name).second) return;
  const auto& entry = entries_.at(name);
  std::function<void(const YAML::Node&, const std::vector<Parameter>&)> walk =
      [&](const YAML::Node& node, const std::vector<Parameter>& declared) {
        for (const auto& p : declared) {
          YAML::Node value = node[p.name];
          if (!value.IsDefined() || value.IsNull()) continue;
          if (p.type == ParameterType::Component) closure(value.Scalar().substr(1), out);
          if (p.type == ParameterType::Components)
            for (const auto& element : value) closure(element.Scalar().substr(1), out);
          if (p.type == ParameterType::Section) walk(value, p.fields);
        }
      };
  walk(entry.node, entry.type->type.parameters.list());
}

std::shared_ptr<Config::Impl> Components::config_impl(YAML::Node node, std::string path,
                                                      std::vector<Parameter> declared) {
  auto impl = std::make_shared<Config::Impl>();
  impl->node = node;
  impl->path = std::move(path);
  impl->origin = experiment_.origin;
  impl->declared = std::move(declared);
  impl->resolve = [this](const std::string& name, Kind kind, const std::string& at, const std::string& key) {
    return get(name, kind, at, key);
  };
  return impl;
}

}  // namespace assim
