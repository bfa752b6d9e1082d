// Finding and loading plugins, and the registry of component types they add.
#pragma once

#include <assim/registrar.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace assim {

struct LoadedPlugin {
  std::filesystem::path file;
  std::string name, version, sdk_version;
};

struct RegisteredType {
  ComponentType type;
  const LoadedPlugin* plugin = nullptr;
};

class PluginCatalog : public Registrar {
 public:
  PluginCatalog();
  ~PluginCatalog() override;

  // Loads one plugin file, or every *.so in a folder. `asked_by` names
  // where the path came from (an experiment file and line, ASSIM_PLUGIN_PATH)
  // for error messages. A file already loaded is skipped.
  void load(const std::filesystem::path& path, const std::string& asked_by);
  // The build's (or installation's) plugin folder and ASSIM_PLUGIN_PATH.
  void load_defaults();

  void add_type(ComponentType type) override;
  void add_deprecated_name(std::string old_name, std::string name) override;
  // The type of that name, or of that deprecated name; nullptr if none.
  const RegisteredType* find(const std::string& type) const;
  // The current name of a deprecated one; empty when `type` is not deprecated.
  std::string current_name(const std::string& type) const;
  std::vector<std::string> type_names() const;
  const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const { return plugins_; }

 private:
  void load_file(const std::filesystem::path& file, const std::string& asked_by, bool in_folder);
  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
  std::map<std::string, RegisteredType> types_;
  std::map<std::string, std::string> deprecated_;  // old name -> name
  const LoadedPlugin* loading_ = nullptr;
};

// The folders searched before any experiment's plugin_path.
std::vector<std::filesystem::path> default_plugin_folders();

}  // namespace assim
