#include <assim/error.hpp>
#include <assim/testing/config.hpp>

#include "config_impl.hpp"

namespace assim {

Config config_from_yaml(const std::string& yaml, const Parameters& declared, const std::string& file,
                        std::map<std::string, std::shared_ptr<Component>> components) {
  auto origin = std::make_shared<ConfigOrigin>();
  origin->file = file;
  YAML::Node node;
  try {
    node = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1), "", "malformed YAML: " + e.msg);
  }
  if (node.IsNull()) node = YAML::Node(YAML::NodeType::Map);
  if (!node.IsMap()) throw ConfigError(file, "", "expected a map");
  validate_settings(node, declared.list(), *origin, "", {}, file);
  auto impl = std::make_shared<Config::Impl>();
  impl->node = node;
  impl->origin = origin;
  impl->declared = declared.list();
  impl->resolve = [components](const std::string& name, Kind, const std::string& where, const std::string& path) {
    auto it = components.find(name);
    if (it == components.end()) throw ConfigError(where, path, "no component named '" + name + "'");
    return it->second;
  };
  return Config(impl);
}

}  // namespace assim
