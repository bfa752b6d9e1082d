#include "record_store.hpp"

#include "machine.hpp"
#include "provenance.hpp"

#include "experiment/graph.hpp"

#include <assim/framework/experiment.hpp>

#include <torch/version.h>

namespace assim {

namespace fs = std::filesystem;

RecordStore::RecordStore(const ExperimentGraph& graph) : graph_(graph) {}

void RecordStore::use_variant(const std::string& variant, std::set<std::string> varied) {
  variant_ = variant;
  varied_ = std::move(varied);
}

void RecordStore::locate(const std::string& stage, const std::string& result) { located_[stage] = result; }

std::string RecordStore::result_name(const std::string& stage) const {
  if (auto it = located_.find(stage); it != located_.end()) return it->second;
  return varied_.count(stage) ? stage + "@" + variant_ : stage;
}

std::string RecordStore::record_of(const std::string& name, const std::string& hash,
                                   const std::map<std::string, FileRead>& files,
                                   const std::map<std::string, std::string>& identities, const fs::path& partial,
                                   const std::string& started, double seconds) const {
  const auto& entry = graph_.stage(name);
  YAML::Node out;
  out["stage"] = name;
  out["run"] = entry.node["run"].Scalar();
  out["hash"] = hash;
  out["seed"] = entry.node["seed"].as<std::int64_t>();
  if (varied_.count(name)) out["variant"] = variant_;
  out["config"] = YAML::Clone(entry.node);
  const std::set<std::string> closure = graph_.components_of(entry);
  for (const auto& c : closure) {
    const auto& component = graph_.component(c);
    YAML::Node info;
    info["settings"] = YAML::Clone(component.node);
    if (const LoadedPlugin* plugin = component.type->plugin) {
      info["plugin"] = plugin->name;
      info["plugin_version"] = plugin->version;
      info["plugin_file"] = plugin->file.string();
      info["plugin_digest"] = plugin_digest(*plugin);
    }
    out["components"][c] = info;
  }
  for (const auto& [key, input] : entry.inputs) out["inputs"][input] = identities.at(input);
  for (const auto& [key, read] : files) {
    out["files_read"][key]["path"] = read.path.string();
    out["files_read"][key]["digest"] = read.digest;
  }
  out["outputs"] = provenance::digest_outputs(partial, stage_record_file);
  out["versions"]["assim"] = ASSIM_SDK_VERSION;
  out["versions"]["abi"] = ASSIM_ABI_VERSION;
  out["versions"]["libtorch"] = TORCH_VERSION;
  out["code"] = code_record();
  const machine::Facts m = machine::facts();
  out["machine"]["blas"] = m.blas;
  out["machine"]["cpu_capability"] = m.cpu_capability;
  out["machine"]["threads"] = m.threads;
  out["machine"]["workers"] = m.workers;
  out["experiment"] = fs::absolute(graph_.experiment().file).string();
  out["started"] = started;
  out["finished"] = provenance::now_text();
  out["seconds"] = seconds;
  return provenance::emit(out);
}

YAML::Node RecordStore::code_record() {
  YAML::Node out;
  for (const auto& [part, build] : {std::pair{"host", &stage_hash::host()}, std::pair{"sdk", &stage_hash::sdk()}}) {
    out[part]["file"] = build->file.string();
    out[part]["digest"] = build->digest;
  }
  return out;
}

}  // namespace assim
