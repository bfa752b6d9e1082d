#include "adoption.hpp"

#include "provenance.hpp"
#include "record_store.hpp"
#include "result_folder.hpp"
#include "stage_hash.hpp"

#include "experiment/graph.hpp"

#include <assim/framework/ranks.hpp>

#include <set>

namespace assim {

namespace {

const Parameter* find_parameter(const std::vector<Parameter>& declared, const std::string& name) {
  for (const auto& p : declared)
    if (p.name == name) return &p;
  return nullptr;
}

std::string shown(const YAML::Node& node) {
  if (!node) return "absent";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

std::string settings_difference(const YAML::Node& now, const YAML::Node& then, const std::vector<Parameter>& declared,
                                const std::string& path) {
  if (!now.IsMap() || !then.IsMap()) {
    const bool same = provenance::canonical(now) == provenance::canonical(then);
    return same ? "" : path + ": " + shown(then) + " then, " + shown(now) + " now";
  }
  std::set<std::string> keys;
  for (const auto& kv : now) keys.insert(kv.first.Scalar());
  for (const auto& kv : then) keys.insert(kv.first.Scalar());
  for (const auto& key : keys) {
    const std::string where = path + "." + key;
    const YAML::Node a = now[key], b = then[key];
    const Parameter* p = find_parameter(declared, key);
    if (a && b) {
      const std::string d = settings_difference(a, b, p ? p->fields : std::vector<Parameter>{}, where);
      if (!d.empty()) return d;
      continue;
    }
    if (b) return where + ": " + shown(b) + " then, absent now (a parameter removed since)";
    // Added since: adoptable only at its default.
    const bool at_default = p && p->presence == Presence::Defaulted && p->type != ParameterType::Section &&
                            provenance::canonical(a) == provenance::canonical(YAML::Load(p->default_value));
    if (!at_default) return where + ": absent then, " + shown(a) + " now";
  }
  return "";
}

Adoption::Adoption(const ExperimentGraph& graph, const RecordStore& records, const ResultFolder& folder,
                   const Ranks& world, Recheck recheck)
    : graph_(graph), records_(records), folder_(folder), world_(world), recheck_(std::move(recheck)) {}

std::string Adoption::adopt(const std::string& name, const YAML::Node& record, const std::string& hash,
                            const std::map<std::string, std::string>& identities,
                            const std::map<std::string, FileRead>& files) const {
  const std::string result = records_.result_name(name);
  const std::string recorded = record["hash"].as<std::string>("");
  if (recorded.empty()) return "it has no result to adopt";
  // 1. The hash the record's own contents make.
  if (const std::string why = stage_hash::unfaithful(name, record, records_.uses(name, files)); !why.empty())
    return why;
  // 2. Settings, plugins, files and inputs: the same but for the builds.
  YAML::Node builds;
  if (const std::string why = same_but_builds(name, record, files, builds); !why.empty()) return why;
  if (const std::string why = inputs_read(name, record, identities); !why.empty()) return why;
  const std::string damage = provenance::damage(folder_.result(result), record["outputs"]);
  if (!damage.empty()) return "its result is damaged (" + damage + ")";
  // 3. Today's build recomputes its cheapest part: the same numbers or no adoption.
  std::string checked;
  const std::string why = recomputed(name, checked);
  if (!why.empty()) return "today's build does not compute the same: " + why;
  if (!world_.leader()) return "";
  // 4. The record, re-stamped.
  restamp(name, record, hash, identities, builds, checked);
  return "";
}

// "" when the stage's settings, its components' settings and plugins and
// the files it reads are those of the record; the builds that differ (host,
// SDK, plugins) go to `builds`.
std::string Adoption::same_but_builds(const std::string& name, const YAML::Node& record,
                                      const std::map<std::string, FileRead>& files, YAML::Node& builds) const {
  const auto& stage = graph_.stage(name);
  std::string d = settings_difference(stage.node, record["config"], stage.declared, "stages." + name);
  if (!d.empty()) return "a setting changed, " + d;
  for (const auto& [part, now] : {std::pair{"host", &stage_hash::host()}, std::pair{"sdk", &stage_hash::sdk()}})
    if (record["code"][part]["digest"].as<std::string>("") != now->digest)
      builds[part] = record["code"][part]["digest"].as<std::string>("");
  for (const auto& c : graph_.components_of(stage)) {
    const auto& entry = graph_.component(c);
    const YAML::Node kept = record["components"][c];
    d = settings_difference(entry.node, kept["settings"], entry.type->type.parameters.list(), "components." + c);
    if (!d.empty()) return "a setting changed, " + d;
    const LoadedPlugin* plugin = entry.type->plugin;
    const std::string now = plugin ? plugin->name + " " + plugin->version : "host";
    const std::string before = stage_hash::kept_plugin(kept);
    if (now != before)
      return "component '" + c + "' came from " + before + " and comes from " + now +
             " now: another plugin version declares other results";
    if (plugin && kept["plugin_digest"].as<std::string>("") != records_.plugin_digest(*plugin))
      builds[plugin->name] = kept["plugin_digest"].as<std::string>("");
  }
  for (const auto& [key, read] : files)
    if (record["files_read"][key]["digest"].as<std::string>("") != read.digest)
      return "the file " + read.path.string() + " (" + key + ") changed";
  return "";
}

// "" when every input is up to date and is the result the record read, or
// one adopted from it.
std::string Adoption::inputs_read(const std::string& name, const YAML::Node& record,
                                  const std::map<std::string, std::string>& identities) const {
  for (const auto& [key, input] : graph_.stage(name).inputs) {
    if (!identities.count(input)) return "its input stage '" + input + "' has no result";
    const std::string read = record["inputs"][input].as<std::string>();
    bool same = read == identities.at(input);
    const YAML::Node source = folder_.record(records_.result_name(input));
    for (const auto& a : source["adopted"])
      same = same || stage_hash::identity(a["from"].as<std::string>(""), source["outputs"]) == read;
    if (!same) return "its input stage '" + input + "' is not the result it read (" + read + "), nor adopted from it";
  }
  return "";
}

// Rank 0 recomputes; every rank learns its verdict.
std::string Adoption::recomputed(const std::string& name, std::string& checked) const {
  std::string why;
  if (world_.leader()) why = recheck_(name, checked);
  const std::vector<std::string> verdicts = world_.all_gather(Packer().text(why).text(checked).bytes());
  Unpacker verdict(verdicts.front());
  why = verdict.text();
  checked = verdict.text();
  return why;
}

// The record under today's hash, settings and builds, keeping the builds
// that computed it and the check under `adopted`.
void Adoption::restamp(const std::string& name, const YAML::Node& record, const std::string& hash,
                       const std::map<std::string, std::string>& identities, const YAML::Node& builds,
                       const std::string& checked) const {
  const auto& stage = graph_.stage(name);
  YAML::Node next = YAML::Clone(record);
  next["hash"] = hash;
  next["config"] = YAML::Clone(stage.node);
  next["code"] = RecordStore::code_record();
  for (const auto& c : graph_.components_of(stage)) {
    const auto& entry = graph_.component(c);
    next["components"][c]["settings"] = YAML::Clone(entry.node);
    if (const LoadedPlugin* plugin = entry.type->plugin) {
      next["components"][c]["plugin_file"] = plugin->file.string();
      next["components"][c]["plugin_digest"] = records_.plugin_digest(*plugin);
    }
  }
  for (const auto& [key, input] : stage.inputs) next["inputs"][input] = identities.at(input);
  YAML::Node adoption;
  adoption["from"] = record["hash"].as<std::string>("");
  adoption["at"] = provenance::now_text();
  if (builds.size() > 0) adoption["builds"] = builds;
  adoption["check"] = checked;
  next["adopted"].push_back(adoption);
  folder_.rewrite_record(records_.result_name(name), provenance::emit(next));
}

}  // namespace assim
