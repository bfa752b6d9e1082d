// The parts of a stage's hash as today's settings, code, inputs and files
// make them (RecordStore, record_store.hpp).
#include "record_store.hpp"

#include "provenance.hpp"

#include "experiment/graph.hpp"

#include <assim/framework/stage.hpp>

#include "config_impl.hpp"

namespace assim {

namespace fs = std::filesystem;

namespace {

// The files named by input_file() parameters under `node` (relative to `base`).
void input_files(const YAML::Node& node, const std::vector<Parameter>& declared, const fs::path& base,
                 const std::string& path, std::map<std::string, fs::path>& out) {
  for (const auto& p : declared) {
    YAML::Node value = node[p.name];
    if (!value.IsDefined() || value.IsNull()) continue;
    std::string key = join_path(path, p.name);
    if (p.type == ParameterType::Section && value.IsMap()) input_files(value, p.fields, base, key, out);
    if (p.path_role == PathRole::InputFile && value.IsScalar() && !value.Scalar().empty()) {
      fs::path file = value.Scalar();
      out[key] = file.is_relative() ? base / file : file;
    }
  }
}

}  // namespace

std::map<std::string, FileRead> RecordStore::files_read(const std::string& name, const Config& config) const {
  const auto& stage = graph_.stage(name);
  fs::path base = graph_.experiment().folder();
  std::map<std::string, fs::path> paths;
  input_files(stage.node, stage.declared, base, "stages." + name, paths);
  const std::set<std::string> closure = graph_.components_of(stage);
  for (const auto& c : closure) {
    const auto& entry = graph_.component(c);
    input_files(entry.node, entry.type->type.parameters.list(), base, "components." + c, paths);
  }
  for (const auto& [key, path] : stage.stage->files_read(config, base)) paths["stages." + name + "." + key] = path;
  std::map<std::string, FileRead> out;
  for (const auto& [key, path] : paths) out[key] = {path, file_digest(path)};
  return out;
}

std::string RecordStore::hash_of(const std::string& name, const std::map<std::string, std::string>& identities,
                                 const std::map<std::string, FileRead>& files) const {
  const auto& stage = graph_.stage(name);
  stage_hash::Parts parts;
  parts.versions = stage_hash::versions_now();
  parts.code = stage_hash::code_now();
  parts.settings = stage.node;
  const std::set<std::string> closure = graph_.components_of(stage);
  for (const auto& c : closure)
    parts.components.emplace_back(c, plugin_text(graph_.component(c)), graph_.component(c).node);
  for (const auto& [key, input] : stage.inputs) parts.inputs.emplace_back(key, identities.at(input));
  for (const auto& [key, read] : files) parts.files.emplace_back(key, read.digest);
  return stage_hash::hash(name, parts);
}

std::string RecordStore::hash_now(const std::string& name, const std::map<std::string, std::string>& identities) const {
  const auto& entry = graph_.stage(name);
  for (const auto& [key, input] : entry.inputs)
    if (!identities.count(input)) return "";
  return hash_of(name, identities, files_read(name, graph_.config(name)));
}

stage_hash::Uses RecordStore::uses(const std::string& name, const std::map<std::string, FileRead>& files) const {
  const auto& stage = graph_.stage(name);
  stage_hash::Uses u;
  for (const auto& c : graph_.components_of(stage)) u.components.push_back(c);
  u.inputs = stage.inputs;
  for (const auto& [key, read] : files) u.files.push_back(key);
  return u;
}

std::string RecordStore::settings_text(const std::string& name) const {
  const auto& entry = graph_.stage(name);
  std::string text = provenance::canonical(entry.node);
  for (const auto& c : graph_.components_of(entry))
    text += "\n" + c + " " + plugin_text(graph_.component(c)) + " " + provenance::canonical(graph_.component(c).node);
  return text;
}

std::string RecordStore::plugin_digest(const LoadedPlugin& plugin) const {
  const std::lock_guard<std::mutex> lock(plugin_digests_mutex_);
  auto it = plugin_digests_.find(plugin.file);
  if (it == plugin_digests_.end()) it = plugin_digests_.emplace(plugin.file, file_digest(plugin.file)).first;
  return it->second;
}

std::string RecordStore::plugin_text(const ComponentEntry& entry) const {
  const LoadedPlugin* plugin = entry.type->plugin;
  return plugin ? plugin->name + " " + plugin->version + " " + plugin_digest(*plugin) : "host";
}

}  // namespace assim
