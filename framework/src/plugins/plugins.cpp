#include <assim/error.hpp>
#include <assim/framework/plugins.hpp>
#include <assim/log.hpp>

#include "config_impl.hpp"
#include "plugin_file.hpp"

#include <dlfcn.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>

namespace assim {

namespace fs = std::filesystem;

namespace {
// Plugins are never unloaded: objects, deleters and type_info from a plugin
// may live until the very end of the process, and calling into an unloaded
// library crashes. The handles are deliberately kept for the process's life.
std::vector<boost::dll::shared_library>& loaded_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}
}  // namespace

PluginCatalog::PluginCatalog() = default;
PluginCatalog::~PluginCatalog() = default;

namespace {
// The folders searched before any experiment's plugin_path, each with where
// it came from for messages.
std::vector<std::pair<fs::path, std::string>> plugin_folders_and_origins() {
  std::vector<std::pair<fs::path, std::string>> folders;
  // The binary the framework is linked into (under Python the module, not the interpreter).
  fs::path exe = boost::dll::this_line_location().parent_path().string();
  // In a build tree the host sits in <build>/apps/assim, the Python module in
  // <build>/python/assim, and plugins in <build>/plugins; installed, the host
  // is in <prefix>/bin and plugins in <prefix>/lib/assim/plugins.
  for (const fs::path& candidate : {exe / ".." / ".." / "plugins", exe / ".." / ASSIM_PLUGIN_INSTALL_DIR}) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) folders.emplace_back(fs::weakly_canonical(candidate), "the default plugin path");
  }
  if (const char* env = std::getenv("ASSIM_PLUGIN_PATH")) {
    std::string list = env;
    std::size_t start = 0;
    while (start <= list.size()) {
      std::size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) folders.emplace_back(list.substr(start, end - start), "ASSIM_PLUGIN_PATH");
      start = end + 1;
    }
  }
  return folders;
}
}  // namespace

std::vector<fs::path> default_plugin_folders() {
  std::vector<fs::path> out;
  for (const auto& [folder, origin] : plugin_folders_and_origins()) out.push_back(folder);
  return out;
}

void PluginCatalog::load_defaults() {
  for (const auto& [folder, origin] : plugin_folders_and_origins()) load(folder, origin);
}

void PluginCatalog::load(const fs::path& path, const std::string& asked_by) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(asked_by + ": plugin path '" + path.string() + "' does not exist");
  if (!fs::is_directory(path, ec)) {
    load_file(path, asked_by, false);
    return;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) load_file(file, asked_by, true);
}

void PluginCatalog::load_file(const fs::path& file, const std::string& asked_by, bool in_folder) {
  fs::path canonical = fs::weakly_canonical(file);
  for (const auto& p : plugins_)
    if (p->file == canonical) return;
  std::string who = "plugin " + canonical.string() + " (from " + asked_by + ")";

  // The info record is plain data in the file: read it before the library is
  // loaded, since loading runs its constructors.
  PluginFileInfo info = read_plugin_file(canonical);
  if (!info.elf) throw Error(who + ": " + info.not_elf_why);
  if (!info.has_info || !info.has_register) {
    const std::string why = "not an assim plugin (it exports no assim_plugin_info/assim_plugin_register;"
                            " was it built with ASSIM_PLUGIN?)";
    // A folder may hold other libraries beside the plugins (their dependencies).
    if (in_folder) {
      log::info("skipping ", canonical.string(), " (from ", asked_by, "): ", why);
      return;
    }
    throw Error(who + ": " + why);
  }
  if (info.abi_version != ASSIM_ABI_VERSION)
    throw Error(who + ": built for assim ABI version " + std::to_string(info.abi_version) + " (SDK " +
                (info.sdk_version.empty() ? "?" : info.sdk_version) + "), but this host has ABI version " +
                std::to_string(ASSIM_ABI_VERSION) + " (SDK " ASSIM_SDK_VERSION "); rebuild the plugin against this SDK");

  boost::dll::shared_library library;
  boost::system::error_code ec;
  // rtld_now: a symbol the plugin needs but nobody provides fails here, at
  // load time, instead of in the middle of a run.
  library.load(canonical.string(), ec,
               boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* detail = ::dlerror();
    throw Error(who + ": cannot be loaded: " + (detail ? std::string(detail) : ec.message()));
  }
  const auto& record = library.get<const assim_plugin_info>("assim_plugin_info");
  info.name = record.name ? record.name : "?";
  info.version = record.version ? record.version : "?";
  info.sdk_version = record.sdk_version ? record.sdk_version : "?";

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->file = canonical;
  plugin->name = info.name;
  plugin->version = info.version;
  plugin->sdk_version = info.sdk_version;
  for (const auto& p : plugins_)
    if (p->name == plugin->name)
      throw Error(who + ": a plugin named '" + plugin->name + "' was already loaded from " +
                  p->file.string());

  auto& register_types = library.get<void(Registrar&)>("assim_plugin_register");
  // Kept before registration runs: a type registered before a failure still
  // holds code from this library.
  loaded_libraries().push_back(library);
  loading_ = plugin.get();
  try {
    register_types(*this);
  } catch (const std::exception& e) {
    loading_ = nullptr;
    throw Error(who + ": registration failed: " + e.what());
  }
  loading_ = nullptr;
  log::debug("loaded plugin ", plugin->name, " ", plugin->version, " from ", canonical.string());
  plugins_.push_back(std::move(plugin));
}

void PluginCatalog::add_type(ComponentType type) {
  auto it = types_.find(type.name);
  if (it != types_.end())
    throw Error("component type '" + type.name + "' is registered twice: by plugin " +
                (it->second.plugin ? it->second.plugin->file.string() : "the host") + " and by " +
                (loading_ ? loading_->file.string() : "the host"));
  std::string name = type.name;
  types_.emplace(name, RegisteredType{std::move(type), loading_});
}

void PluginCatalog::add_deprecated_name(std::string old_name, std::string name) {
  if (types_.count(old_name) || deprecated_.count(old_name))
    throw Error("component type '" + old_name + "' is registered twice (as a deprecated name by " +
                (loading_ ? loading_->file.string() : "the host") + ")");
  deprecated_.emplace(std::move(old_name), std::move(name));
}

const RegisteredType* PluginCatalog::find(const std::string& type) const {
  auto it = types_.find(type);
  if (it == types_.end() && deprecated_.count(type)) it = types_.find(deprecated_.at(type));
  return it == types_.end() ? nullptr : &it->second;
}

std::string PluginCatalog::current_name(const std::string& type) const {
  auto it = deprecated_.find(type);
  return it == deprecated_.end() ? "" : it->second;
}

std::vector<std::string> PluginCatalog::type_names() const {
  std::vector<std::string> names;
  for (const auto& entry : types_) names.push_back(entry.first);
  return names;
}

}  // namespace assim
