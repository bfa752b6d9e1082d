#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>

#include "config_impl.hpp"
#include "experiment/experiment_file.hpp"
#include <assim/framework/ranks.hpp>
#include "run/records/adoption.hpp"
#include "run/records/machine.hpp"
#include "run/records/provenance.hpp"
#include "run/records/recheck.hpp"
#include "run/records/result_folder.hpp"
#include "run/records/stage_hash.hpp"
#include "experiment/sweeps.hpp"

#include <torch/version.h>
#include <yaml-cpp/yaml.h>

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace assim {

namespace fs = std::filesystem;

namespace {

struct ComponentEntry {
  YAML::Node node;
  const RegisteredType* type = nullptr;
  std::shared_ptr<Component> built;
};

// A file a stage reads, digested when read.
struct FileRead {
  fs::path path;
  std::string digest;
};

struct StageEntry {
  YAML::Node node;
  const Stage* stage = nullptr;
  std::vector<Parameter> declared;
  std::map<std::string, std::string> inputs;  // parameter path -> stage name
  std::map<std::string, std::string> input_where;  // parameter path -> file:line
  std::set<std::string> components;           // component names referenced directly
};

const char* article(const std::string& word) {
  return !word.empty() && std::string("aeiou").find(word[0]) != std::string::npos ? "an" : "a";
}

std::string list_text(const std::vector<std::string>& names, const std::string& separator = ", ") {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out.empty() ? "none" : out;
}

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

}  // namespace

struct Session::State {
  fs::path file;
  std::string name;
  YAML::Node root;
  std::shared_ptr<ConfigOrigin> origin = std::make_shared<ConfigOrigin>();
  PluginCatalog catalog;
  std::vector<std::string> component_names, stage_names;  // in file order
  std::map<std::string, ComponentEntry> components;
  std::map<std::string, StageEntry> stages;
  std::vector<std::string> building;
  std::vector<std::string> order;
  bool validated = false;
  // --variant: the stages the overrides change, directly or through a
  // component or an input, write to <stage>@<variant>; the others are shared.
  std::string variant;
  std::set<std::string> varied;

  // Results found by their settings rather than their name (see run()).
  std::map<std::string, std::string> located;

  std::string result_name(const std::string& stage) const {
    if (auto it = located.find(stage); it != located.end()) return it->second;
    return varied.count(stage) ? stage + "@" + variant : stage;
  }

  // A stage's resolved settings and its components' (with their plugins'
  // builds), as the hash reads them.
  std::string settings_text(const std::string& name) const {
    const auto& entry = stages.at(name);
    std::string text = provenance::canonical(entry.node);
    for (const auto& c : components_of(entry))
      text += "\n" + c + " " + plugin_text(components.at(c)) + " " + provenance::canonical(components.at(c).node);
    return text;
  }

  // The stages whose resolved settings differ from those of `base` (the
  // experiment without the overrides), directly, through a component or
  // through an input: a top-level value such as `seed` changes every stage
  // that takes it as its default.
  std::set<std::string> changed_from(const State& base) const {
    std::set<std::string> out;
    for (const auto& name : order) {
      bool changed = !base.stages.count(name) || base.settings_text(name) != settings_text(name);
      for (const auto& [key, input] : stages.at(name).inputs) changed = changed || out.count(input) > 0;
      if (changed) out.insert(name);
    }
    return out;
  }

  std::string where(const YAML::Node& node, const std::string& path) const {
    return location(*origin, node, path, root);
  }

  std::shared_ptr<Config::Impl> config_impl(YAML::Node node, std::string path,
                                            std::vector<Parameter> declared) {
    auto impl = std::make_shared<Config::Impl>();
    impl->node = node;
    impl->path = std::move(path);
    impl->origin = origin;
    impl->declared = std::move(declared);
    impl->resolve = [this](const std::string& name, Kind kind, const std::string& at, const std::string& key) {
      return component(name, kind, at, key);
    };
    return impl;
  }

  void check_component_node(const std::string& name) {
    auto& entry = components[name];
    std::string path = "components." + name;
    if (!entry.node.IsMap())
      throw ConfigError(where(entry.node, path), path, "a component must be a map with a 'type' key");
    YAML::Node type = entry.node["type"];
    if (!type.IsDefined() || !type.IsScalar())
      throw ConfigError(where(entry.node, path), path, "missing 'type' (run `assim plugins` to list the types)");
    entry.type = catalog.find(type.Scalar());
    if (const std::string current = catalog.current_name(type.Scalar()); !current.empty())
      log::warning(where(type, path + ".type"), ": type '", type.Scalar(), "' is deprecated; it is now '", current,
                   "'");
    if (!entry.type) {
      std::string near = closest(type.Scalar(), catalog.type_names());
      throw ConfigError(where(type, path + ".type"), path + ".type",
                        "unknown component type '" + type.Scalar() + "'" +
                            (near.empty() ? "" : "; did you mean '" + near + "'?") +
                            " (known types: " + list_text(catalog.type_names()) + ")");
    }
    validate_settings(entry.node, entry.type->type.parameters.list(), *origin, path, {"type"},
             entry.type->type.name + " (component '" + name + "')");
  }

  std::shared_ptr<Component> component(const std::string& name, Kind kind, const std::string& at,
                                       const std::string& key) {
    auto it = components.find(name);
    if (it == components.end()) {
      std::string near = closest(name, component_names);
      throw ConfigError(at, key,
                        "no component named '" + name + "'" +
                            (stages.count(name) ? " ('" + name + "' is a stage)" : "") +
                            (near.empty() ? "" : "; did you mean '" + near + "'?") +
                            " (components: " + list_text(component_names) + ")");
    }
    auto& entry = it->second;
    if (!entry.type) check_component_node(name);
    if (entry.type->type.kind != kind)
      throw ConfigError(at, key,
                        "component '" + name + "' is a " + to_string(entry.type->type.kind) + " (" +
                            entry.type->type.name + "), but a " + to_string(kind) + " is needed here");
    if (entry.built) return entry.built;
    if (std::find(building.begin(), building.end(), name) != building.end()) {
      std::string cycle;
      for (auto b = std::find(building.begin(), building.end(), name); b != building.end(); ++b)
        cycle += *b + " -> ";
      throw ConfigError(at, key, "cycle among components: " + cycle + name);
    }
    building.push_back(name);
    std::string path = "components." + name;
    Config config(config_impl(entry.node, path, entry.type->type.parameters.list()));
    const LoadedPlugin* plugin = entry.type->plugin;
    try {
      entry.built = entry.type->type.create(config);
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      throw ConfigError(where(entry.node, path), path,
                        "plugin '" + (plugin ? plugin->name : std::string("host")) + "' (" +
                            (plugin ? plugin->file.string() : std::string("built in")) +
                            ") failed to create a " + entry.type->type.name + ": " + without_backtrace(e.what()));
    } catch (...) {
      throw ConfigError(where(entry.node, path), path,
                        "plugin '" + (plugin ? plugin->name : std::string("host")) + "' (" +
                            (plugin ? plugin->file.string() : std::string("built in")) + ") failed to create a " +
                            entry.type->type.name + ": it threw something that is not a std::exception");
    }
    if (!entry.built)
      throw ConfigError(where(entry.node, path), path, "the factory of " + entry.type->type.name + " returned nothing");
    for (const auto& unread : config.unread())
      log::debug(path, ".", unread, " is declared by ", entry.type->type.name, " but was not read");
    building.pop_back();
    return entry.built;
  }

  // Records the `$references` under `node` (validated against `declared`).
  void collect_references(YAML::Node node, const std::vector<Parameter>& declared, const std::string& path,
                          StageEntry& stage) {
    for (const auto& p : declared) {
      YAML::Node value = node[p.name];
      if (!value.IsDefined() || value.IsNull()) continue;
      std::string key = join_path(path, p.name);
      if (p.type == ParameterType::Section) collect_references(value, p.fields, key, stage);
      if (p.type == ParameterType::Component) {
        std::string name = value.Scalar().substr(1);
        component(name, *p.component_kind, where(value, key), key);
        stage.components.insert(name);
      }
      if (p.type == ParameterType::Components)
        for (std::size_t i = 0; i < value.size(); ++i) {
          std::string name = value[i].Scalar().substr(1);
          std::string element = key + "[" + std::to_string(i) + "]";
          component(name, *p.component_kind, where(value[i], element), element);
          stage.components.insert(name);
        }
      if (p.type == ParameterType::Stage) add_input(stage, value, key, p.choices);
      if (p.type == ParameterType::Stages)
        for (std::size_t i = 0; i < value.size(); ++i)
          add_input(stage, value[i], key + "[" + std::to_string(i) + "]", p.choices);
    }
  }

  void add_input(StageEntry& stage, const YAML::Node& value, const std::string& key,
                 const std::vector<std::string>& kinds) {
    std::string name = value.Scalar().substr(1);
    if (!stages.count(name)) {
      std::string near = closest(name, stage_names);
      throw ConfigError(where(value, key), key,
                        "no stage named '" + name + "'" +
                            (components.count(name) ? " ('" + name + "' is a component)" : "") +
                            (near.empty() ? "" : "; did you mean '" + near + "'?") +
                            " (stages: " + list_text(stage_names) + ")");
    }
    YAML::Node run = stages.at(name).node["run"];
    if (!kinds.empty() && run.IsScalar() && std::find(kinds.begin(), kinds.end(), run.Scalar()) == kinds.end())
      throw ConfigError(where(value, key), key,
                        "stage '" + name + "' is " + article(run.Scalar()) + " " + run.Scalar() + " stage, but " +
                            article(kinds.front()) + " " + list_text(kinds, " or ") + " stage is needed here");
    stage.inputs[key] = name;
    stage.input_where[key] = where(value, key);
  }

  // Every component a stage uses, directly or through another component.
  std::set<std::string> components_of(const StageEntry& stage) const {
    std::set<std::string> closure;
    for (const auto& c : stage.components) component_closure(c, closure);
    return closure;
  }

  void component_closure(const std::string& name, std::set<std::string>& out) const {
    if (!out.insert(name).second) return;
    const auto& entry = components.at(name);
    std::function<void(const YAML::Node&, const std::vector<Parameter>&)> walk =
        [&](const YAML::Node& node, const std::vector<Parameter>& declared) {
          for (const auto& p : declared) {
            YAML::Node value = node[p.name];
            if (!value.IsDefined() || value.IsNull()) continue;
            if (p.type == ParameterType::Component) component_closure(value.Scalar().substr(1), out);
            if (p.type == ParameterType::Components)
              for (const auto& element : value) component_closure(element.Scalar().substr(1), out);
            if (p.type == ParameterType::Section) walk(value, p.fields);
          }
        };
    walk(entry.node, entry.type->type.parameters.list());
  }

  // Every file the stage reads, by the key that names it: its own
  // input_file() parameters, those of the components it uses, and the files
  // the stage names itself (the arrays of a meta.json restart), each
  // digested once, now: the hash and the record hold the same digest.
  std::map<std::string, FileRead> files_read(const std::string& name, const Config& config) const {
    const auto& stage = stages.at(name);
    fs::path base = fs::absolute(file).parent_path();
    std::map<std::string, fs::path> paths;
    input_files(stage.node, stage.declared, base, "stages." + name, paths);
    const std::set<std::string> closure = components_of(stage);
    for (const auto& c : closure) {
      const auto& entry = components.at(c);
      input_files(entry.node, entry.type->type.parameters.list(), base, "components." + c, paths);
    }
    for (const auto& [key, path] : stage.stage->files_read(config, base)) paths["stages." + name + "." + key] = path;
    std::map<std::string, FileRead> out;
    for (const auto& [key, path] : paths) out[key] = {path, file_digest(path)};
    return out;
  }

  // The hash today's settings, code, inputs and files give `name`, or ""
  // when one of its inputs has no result.
  std::string hash_now(const std::string& name, const std::map<std::string, std::string>& identities) {
    const auto& entry = stages.at(name);
    for (const auto& [key, input] : entry.inputs)
      if (!identities.count(input)) return "";
    const Config config(config_impl(entry.node, "stages." + name, entry.declared));
    return hash_of(name, identities, files_read(name, config));
  }

  // Every rank runs the same experiment: the same resolved settings and run
  // options (`settings`), the same bytes of every file a stage reads, the
  // same plugin, host and SDK builds. A rank that differs from rank 0 (other
  // --set values, another copy of a file on a cluster) stops them all,
  // naming what differs, before anything runs.
  void agree_with_leader(const Ranks& world, const std::string& settings) {
    if (world.size() == 1) return;
    std::string files;
    for (const auto& name : order) {
      const auto& entry = stages.at(name);
      for (const auto& [key, read] : files_read(name, Config(config_impl(entry.node, "stages." + name, entry.declared))))
        files += key + " " + read.digest + "\n";
    }
    std::string plugins;
    for (const auto& plugin : catalog.plugins()) plugins += plugin->name + " " + plugin->version + " " + plugin_digest(*plugin) + "\n";
    const std::vector<std::pair<std::string, std::string>> parts = {
        {"settings (the experiment file, --set values and run options)", settings},
        {"files read", files},
        {"plugin builds", plugins},
        {"host and SDK builds", stage_hash::code_now()}};
    Packer mine;
    for (const auto& [what, text] : parts) mine.text(hex_digest(fnv1a(text)));
    const std::vector<std::string> all = world.all_gather(mine.bytes());
    Unpacker leader(all.front());
    std::vector<std::string> differ;
    for (const auto& [what, text] : parts)
      if (leader.text() != hex_digest(fnv1a(text))) differ.push_back(what);
    world.together([&] {
      if (!differ.empty())
        throw Error("its experiment differs from rank 0's: the " + list_text(differ, " and ") +
                    " differ; start every rank with the same experiment file, --set values, files and build");
    });
  }

  // What a stage uses, as its record lists it.
  stage_hash::Uses uses(const std::string& name, const std::map<std::string, FileRead>& files) const {
    const auto& stage = stages.at(name);
    stage_hash::Uses u;
    for (const auto& c : components_of(stage)) u.components.push_back(c);
    u.inputs = stage.inputs;
    for (const auto& [key, read] : files) u.files.push_back(key);
    return u;
  }

  // " (components: prior = prior.score_unet from plugin score_prior 1.2.0, ...)"
  std::string involved(const std::string& name) const {
    const std::set<std::string> closure = components_of(stages.at(name));
    std::string out;
    for (const auto& c : closure) {
      const auto& entry = components.at(c);
      out += (out.empty() ? "" : ", ") + c + " = " + entry.type->type.name;
      if (entry.type->plugin) out += " from plugin " + entry.type->plugin->name + " " + entry.type->plugin->version;
    }
    return out.empty() ? "" : " (components: " + out + ")";
  }

  // What a reading stage learns of stage `name`: its folder under `folder`,
  // the file its output_name() parameter names, its settings and, in turn,
  // the stages it reads.
  std::shared_ptr<const StageInput> stage_input(const std::string& name, const fs::path& folder) {
    const auto& entry = stages.at(name);
    auto in = std::make_shared<StageInput>(StageInput{name, entry.node["run"].Scalar(), folder / result_name(name), {},
                                                      Config(config_impl(entry.node, "stages." + name, entry.declared)),
                                                      {}});
    for (const auto& p : entry.declared)
      if (p.path_role == PathRole::OutputName) in->product = in->folder / in->settings.get<std::string>(p.name);
    const std::string prefix = "stages." + name + ".";
    for (const auto& [key, input] : entry.inputs) in->inputs[key.substr(prefix.size())] = stage_input(input, folder);
    // What producing it cost, from its record (kept when the stage is reused).
    try {
      const fs::path record = in->folder / stage_record_file;
      if (fs::exists(record)) {
        const YAML::Node node = YAML::LoadFile(record.string());
        if (node["seconds"]) in->seconds = node["seconds"].as<double>();
      }
    } catch (const YAML::Exception&) {
    }
    return in;
  }

  // What a stage's hash is made of (stage_hash.hpp): the code that runs it
  // (host, SDK, each component's plugin build), the stage's settings and its
  // components', the identity of each input it reads (hash and output
  // bytes) and the digests of the files it reads.
  std::string hash_of(const std::string& name, const std::map<std::string, std::string>& identities,
                      const std::map<std::string, FileRead>& files) const {
    const auto& stage = stages.at(name);
    stage_hash::Parts parts;
    parts.versions = stage_hash::versions_now();
    parts.code = stage_hash::code_now();
    parts.settings = stage.node;
    const std::set<std::string> closure = components_of(stage);
    for (const auto& c : closure) parts.components.emplace_back(c, plugin_text(components.at(c)), components.at(c).node);
    for (const auto& [key, input] : stage.inputs) parts.inputs.emplace_back(key, identities.at(input));
    for (const auto& [key, read] : files) parts.files.emplace_back(key, read.digest);
    return stage_hash::hash(name, parts);
  }

  // Keeps a result an earlier build computed (`run --adopt`) when that
  // build is all that differs: the record must reproduce its own hash from
  // what it kept (so it says truly what computed it), the settings be
  // today's up to parameters added since at their defaults, the plugins'
  // names and versions and the files read be the same, every input be up to
  // date and be the result the record read (or one adopted from it), the
  // outputs be intact, and today's build must recompute the stage's
  // cheapest part (recheck) with the same numbers, bit for bit. Then the
  // record takes the new hash, keeps the old builds (host, SDK, plugins) and
  // the check under `adopted`, and readers of the stage are as up to date as
  // before. Every rank calls it; rank 0 recomputes and writes. Returns why
  // not, or "" once adopted.
  std::string adopt(const std::string& name, const YAML::Node& record, const std::string& hash,
                    const std::map<std::string, std::string>& identities,
                    const std::map<std::string, FileRead>& files, const ResultFolder& folder, const Ranks& world) {
    const auto& stage = stages.at(name);
    const std::string result = result_name(name);
    const std::string recorded = record["hash"].as<std::string>("");
    if (recorded.empty()) return "it has no result to adopt";
    // 1. The hash the record's own contents make.
    if (const std::string why = stage_hash::unfaithful(name, record, uses(name, files)); !why.empty()) return why;
    const std::set<std::string> closure = components_of(stage);
    // 2. Settings, plugins, files and inputs: the same but for the builds.
    std::string d = settings_difference(stage.node, record["config"], stage.declared, "stages." + name);
    if (!d.empty()) return "a setting changed, " + d;
    YAML::Node builds;
    for (const auto& [part, now] : {std::pair{"host", &stage_hash::host()}, std::pair{"sdk", &stage_hash::sdk()}})
      if (record["code"][part]["digest"].as<std::string>("") != now->digest)
        builds[part] = record["code"][part]["digest"].as<std::string>("");
    for (const auto& c : closure) {
      const auto& entry = components.at(c);
      const YAML::Node kept = record["components"][c];
      d = settings_difference(entry.node, kept["settings"], entry.type->type.parameters.list(), "components." + c);
      if (!d.empty()) return "a setting changed, " + d;
      const LoadedPlugin* plugin = entry.type->plugin;
      const std::string now = plugin ? plugin->name + " " + plugin->version : "host";
      const std::string before = stage_hash::kept_plugin(kept);
      if (now != before)
        return "component '" + c + "' came from " + before + " and comes from " + now +
               " now: another plugin version declares other results";
      if (plugin && kept["plugin_digest"].as<std::string>("") != plugin_digest(*plugin))
        builds[plugin->name] = kept["plugin_digest"].as<std::string>("");
    }
    for (const auto& [key, read] : files)
      if (record["files_read"][key]["digest"].as<std::string>("") != read.digest)
        return "the file " + read.path.string() + " (" + key + ") changed";
    for (const auto& [key, input] : stage.inputs) {
      if (!identities.count(input)) return "its input stage '" + input + "' has no result";
      const std::string read = record["inputs"][input].as<std::string>();
      bool same = read == identities.at(input);
      const YAML::Node source = folder.record(result_name(input));
      for (const auto& a : source["adopted"])
        same = same || stage_hash::identity(a["from"].as<std::string>(""), source["outputs"]) == read;
      if (!same)
        return "its input stage '" + input + "' is not the result it read (" + read + "), nor adopted from it";
    }
    const std::string damage = provenance::damage(folder.result(result), record["outputs"]);
    if (!damage.empty()) return "its result is damaged (" + damage + ")";
    // 3. Today's build recomputes its cheapest part: the same numbers or no adoption.
    std::string why, checked;
    if (world.leader()) why = recheck(name, folder, checked);
    const std::vector<std::string> verdicts = world.all_gather(Packer().text(why).text(checked).bytes());
    Unpacker verdict(verdicts.front());
    why = verdict.text();
    checked = verdict.text();
    if (!why.empty()) return "today's build does not compute the same: " + why;
    if (!world.leader()) return "";
    // 4. The record, re-stamped.
    YAML::Node next = YAML::Clone(record);
    next["hash"] = hash;
    next["config"] = YAML::Clone(stage.node);
    next["code"] = code_record();
    for (const auto& c : closure) {
      const auto& entry = components.at(c);
      next["components"][c]["settings"] = YAML::Clone(entry.node);
      if (const LoadedPlugin* plugin = entry.type->plugin) {
        next["components"][c]["plugin_file"] = plugin->file.string();
        next["components"][c]["plugin_digest"] = plugin_digest(*plugin);
      }
    }
    for (const auto& [key, input] : stage.inputs) next["inputs"][input] = identities.at(input);
    YAML::Node adoption;
    adoption["from"] = recorded;
    adoption["at"] = provenance::now_text();
    if (builds.size() > 0) adoption["builds"] = builds;
    adoption["check"] = checked;
    next["adopted"].push_back(adoption);
    folder.rewrite_record(result, provenance::emit(next));
    return "";
  }

  // "score_prior 1.2.0 <bytes> fnv1a:<hex>": a plugin rebuilt with other
  // code but the same version is a different plugin to the hash.
  mutable std::map<fs::path, std::string> plugin_digests;
  std::string plugin_digest(const LoadedPlugin& plugin) const {
    auto it = plugin_digests.find(plugin.file);
    if (it == plugin_digests.end()) it = plugin_digests.emplace(plugin.file, file_digest(plugin.file)).first;
    return it->second;
  }
  std::string plugin_text(const ComponentEntry& entry) const {
    const LoadedPlugin* plugin = entry.type->plugin;
    return plugin ? plugin->name + " " + plugin->version + " " + plugin_digest(*plugin) : "host";
  }

  // The stages `name` reads, by the key that names each ("data", "of[0]").
  std::map<std::string, std::shared_ptr<const StageInput>> inputs_of(const std::string& name,
                                                                     const ResultFolder& folder) {
    std::map<std::string, std::shared_ptr<const StageInput>> inputs;
    for (const auto& [key, input] : stages.at(name).inputs)
      inputs[key.substr(std::string("stages." + name + ".").size())] = stage_input(input, folder.path());
    return inputs;
  }

  // Recomputes the cheapest part of stage `name` (Stage::cheapest_part) with
  // today's build into a scratch folder and compares it with the stage's
  // result: "" and what was compared in `checked`, or the difference.
  std::string recheck(const std::string& name, const ResultFolder& folder, std::string& checked) {
    const auto& entry = stages.at(name);
    const Stage::Part part = entry.stage->cheapest_part();
    YAML::Node node = YAML::Clone(entry.node);
    std::string shrunk;
    for (const auto& [key, value] : part.settings) {
      node[key] = value;
      shrunk += (shrunk.empty() ? " with " : ", ") + key + " " + std::to_string(value);
    }
    const Config config(config_impl(node, "stages." + name, entry.declared));
    const auto inputs = inputs_of(name, folder);
    const std::string result = result_name(name);
    const fs::path scratch = folder.partial(result);
    fs::create_directories(scratch / "result");
    StageContext context(
        config, scratch / "result", inputs, [this, &config](const std::string& key) { return settings_of(config, key); },
        fs::absolute(file).parent_path(), scratch / "resume");
    log::info("stage ", name, ": recomputing it", shrunk.empty() ? " whole" : shrunk, " to compare with its result");
    std::string why;
    try {
      entry.stage->run(context);
      const recheck::Outcome outcome = recheck::compare(folder.result(result), scratch / "result", part.dims);
      why = outcome.difference;
      checked = "recomputed" + (shrunk.empty() ? std::string(" whole") : shrunk) + ": " +
                std::to_string(outcome.variables) + " variables, " + std::to_string(outcome.values) +
                " values equal bit for bit";
    } catch (const std::exception& e) {
      why = "recomputing it failed: " + without_backtrace(e.what());
    }
    folder.failed(scratch);
    return why;
  }

  // The host and SDK builds that compute stages, as records keep them.
  static YAML::Node code_record() {
    YAML::Node out;
    for (const auto& [part, build] : {std::pair{"host", &stage_hash::host()}, std::pair{"sdk", &stage_hash::sdk()}}) {
      out[part]["file"] = build->file.string();
      out[part]["digest"] = build->digest;
    }
    return out;
  }

  // --only: stage names or glob patterns ('soad_*'); each must select a stage.
  std::set<std::string> selected(const std::vector<std::string>& patterns) const {
    std::set<std::string> out;
    for (const auto& pattern : patterns) {
      bool matched = false;
      for (const auto& name : stage_names)
        if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) out.insert(name), matched = true;
      if (!matched) {
        std::string near = closest(pattern, stage_names);
        throw Error("--only " + pattern + ": no such stage" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                    " (stages: " + list_text(stage_names) + ")");
      }
    }
    return out;
  }

  // The resolved settings (name, YAML scalar text) of the component `key` of
  // `config` refers to, nested keys dotted, for provenance attributes.
  std::vector<std::pair<std::string, std::string>> settings_of(const Config& config, const std::string& key) const {
    std::vector<std::pair<std::string, std::string>> out;
    const auto& component = components.at(config.reference(key));
    std::function<void(const YAML::Node&, const std::string&)> flatten = [&](const YAML::Node& node,
                                                                             const std::string& prefix) {
      for (const auto& kv : node) {
        std::string k = prefix + kv.first.Scalar();
        if (kv.second.IsMap()) {
          flatten(kv.second, k + ".");
        } else if (kv.second.IsScalar()) {
          out.emplace_back(k, kv.second.Scalar());
        } else {
          YAML::Emitter e;
          e << YAML::Flow << kv.second;
          out.emplace_back(k, e.c_str());
        }
      }
    };
    flatten(component.node, "");
    return out;
  }

  // The record of a stage that just ran into `partial`: its settings,
  // components and their plugins, inputs, files read and written, versions.
  std::string record_of(const std::string& name, const std::string& hash, const std::map<std::string, FileRead>& files,
                        const std::map<std::string, std::string>& identities, const fs::path& partial,
                        const std::string& started, double seconds) const {
    const auto& entry = stages.at(name);
    YAML::Node out;
    out["stage"] = name;
    out["run"] = entry.node["run"].Scalar();
    out["hash"] = hash;
    out["seed"] = entry.node["seed"].as<std::int64_t>();
    if (varied.count(name)) out["variant"] = variant;
    out["config"] = YAML::Clone(entry.node);
    const std::set<std::string> closure = components_of(entry);
    for (const auto& c : closure) {
      const auto& component = components.at(c);
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
    out["experiment"] = fs::absolute(file).string();
    out["started"] = started;
    out["finished"] = provenance::now_text();
    out["seconds"] = seconds;
    return provenance::emit(out);
  }

  // Runs one stage into a temporary folder and renames it into place with
  // its record; a failure leaves nothing and names the components involved.
  // Every rank of `group` calls it for a stage that spreads; the group's
  // leader alone writes.
  void run_stage(const std::string& name, const Config& config, const std::string& hash,
                 const std::map<std::string, FileRead>& files, const std::map<std::string, std::string>& identities,
                 const ResultFolder& folder, const Ranks& group) {
    const auto& entry = stages.at(name);
    const std::string run = entry.node["run"].Scalar();
    const std::string result = result_name(name);
    const bool writer = group.leader();
    std::optional<ResultFolder::StageLock> lock;
    if (writer) lock.emplace(folder, result);
    // The other ranks get a folder that is never made: a stray write fails.
    const fs::path partial = writer ? folder.partial(result) : folder.path() / ("." + result + ".not-this-rank");
    const auto inputs = inputs_of(name, folder);
    StageContext context(
        config, partial, inputs, [this, &config](const std::string& key) { return settings_of(config, key); },
        fs::absolute(file).parent_path(), folder.resume(result, hash), group);
    if (writer)
      log::info("stage ", name, " (", run, "): running", group.size() > 1 ? " on " + std::to_string(group.size()) + " ranks" : "");
    const std::string started = provenance::now_text();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t sent = group.bytes_sent();
    try {
      group.together([&] { entry.stage->run(context); });
    } catch (const RemoteFailure&) {
      if (writer) folder.failed(partial);
      throw;
    } catch (const ConfigError&) {
      if (writer) folder.failed(partial);
      throw;
    } catch (const std::exception& e) {
      if (writer) folder.failed(partial);
      // LibTorch's CPU allocator says it ran out with a c10::Error of its own, not std::bad_alloc.
      if (dynamic_cast<const std::bad_alloc*>(&e) ||
          std::string(e.what()).find("DefaultCPUAllocator: can't allocate memory") != std::string::npos)
        throw Error("stage '" + name + "' (" + run + ") ran out of memory" + involved(name) +
                    "; make the problem smaller (grid, members, trajectories, batch) or give it more memory");
      throw Error("stage '" + name + "' (" + run + ") failed" + involved(name) + ": " + without_backtrace(e.what()));
    } catch (...) {
      if (writer) folder.failed(partial);
      throw Error("stage '" + name + "' (" + run + ") failed" + involved(name) +
                  ": a plugin threw something that is not a std::exception");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (group.size() > 1)
      log::info("stage ", name, ": sent ", group.bytes_sent() - sent, " bytes to the other ranks");
    if (!writer) return;
    try {
      folder.commit(result, partial, record_of(name, hash, files, identities, partial, started, seconds));
    } catch (const std::exception& e) {
      // A record that could not be made or written (a full disk) commits nothing.
      folder.failed(partial);
      throw Error("stage '" + name + "' (" + run + ") failed: " + e.what());
    }
    log::info("stage ", name, " (", run, "): done in ", seconds, " s -> ", folder.result(result).string());
  }
};

std::string RunOptions::text() const {
  std::string out = "output " + output_root.string() + " only";
  for (const auto& o : only) out += " " + o;
  return out + " force " + std::to_string(force) + " keep_going " + std::to_string(keep_going) + " adopt " +
         std::to_string(adopt) + " variant " + variant;
}

Session::Session(const fs::path& file, const std::vector<std::string>& overrides)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.file = file;
  s.origin->file = file.string();
  if (fs::is_directory(file)) throw Error(file.string() + " is a folder: name an experiment file (EXPERIMENT.yaml)");
  try {
    s.root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw Error("cannot read experiment file " + file.string());
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1), "",
                      "malformed YAML: " + e.msg);
  }
  if (!s.root.IsMap()) throw ConfigError(file.string(), "", "an experiment must be a map with 'components' and 'stages'");
  check_unique_keys(s.root, *s.origin, "");
  expand_sweeps(s.root, *s.origin);
  for (const auto& o : overrides) apply_override(s.root, o, *s.origin);

  validate_settings(s.root, experiment_parameters().list(), *s.origin, "", {"components", "stages"}, "the experiment");
  s.name = s.root["name"].as<std::string>();
  if (s.name.empty()) {
    s.name = file.stem().string();
    if (!is_plain_name(s.name))
      throw ConfigError(file.string(), "name",
                        "the experiment's folder is named after its file, but '" + s.name +
                            "' is not a plain name (" + plain_name_rule + "); give one with 'name:'");
  } else if (!is_plain_name(s.name)) {
    throw ConfigError(s.where(s.root["name"], "name"), "name",
                      "'" + s.name + "' is not a plain name (" + plain_name_rule +
                          "): it names the experiment's folder under --output");
  }

  for (const char* section : {"components", "stages"}) {
    YAML::Node node = s.root[section];
    if (node.IsDefined() && !node.IsNull() && !node.IsMap())
      throw ConfigError(s.where(node, section), section, "must be a map from names to settings");
  }
  for (const auto& entry : s.root["components"]) {
    std::string name = entry.first.Scalar();
    if (!is_plain_name(name))
      throw ConfigError(s.where(entry.first, "components." + name), "components." + name,
                        "'" + name + "' is not a plain name (" + plain_name_rule + ")");
    s.component_names.push_back(name);
    s.components[name].node = entry.second;
  }
  for (const auto& entry : s.root["stages"]) {
    std::string name = entry.first.Scalar();
    if (!is_plain_name(name))
      throw ConfigError(s.where(entry.first, "stages." + name), "stages." + name,
                        "'" + name + "' is not a plain name (" + plain_name_rule +
                            "): it names the stage's result folder");
    if (s.components.count(name))
      throw ConfigError(s.where(entry.first, "stages." + name), "stages." + name,
                        "'" + name + "' names both a component and a stage");
    s.stage_names.push_back(name);
    s.stages[name].node = entry.second;
  }

  s.root["name"] = s.name;  // as it runs, for `validate --print`

  s.catalog.load_defaults();
  YAML::Node paths = s.root["plugin_path"];
  for (std::size_t i = 0; i < paths.size(); ++i) {
    fs::path p = paths[i].as<std::string>();
    if (p.is_relative()) p = fs::absolute(file).parent_path() / p;
    s.catalog.load(p, s.where(paths[i], "plugin_path[" + std::to_string(i) + "]") + ": plugin_path[" +
                          std::to_string(i) + "]");
  }
}

Session::~Session() = default;

const std::string& Session::name() const { return state_->name; }
const PluginCatalog& Session::catalog() const { return state_->catalog; }
PluginCatalog& Session::catalog() { return state_->catalog; }
std::vector<std::string> Session::order() const { return state_->order; }
std::string Session::resolved() const {
  // One line per component and stage, as experiment files are written.
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& kv : state_->root) {
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

void Session::validate() {
  auto& s = *state_;
  if (s.validated) return;
  for (const auto& name : s.component_names) s.check_component_node(name);
  for (const auto& name : s.component_names)
    s.component(name, s.components[name].type->type.kind, s.where(s.components[name].node, "components." + name),
                "components." + name);

  // Components first: a file of components alone is checked as far as it goes.
  if (s.stage_names.empty())
    throw ConfigError(s.root["stages"].IsDefined() ? s.where(s.root["stages"], "stages") : s.file.string(), "stages",
                      "the experiment has no stages: nothing to run");
  const auto& known = stages();
  std::vector<std::string> known_names;
  for (const auto& [name, stage] : known) known_names.push_back(name);
  for (const auto& name : s.stage_names) {
    auto& entry = s.stages[name];
    std::string path = "stages." + name;
    if (!entry.node.IsMap())
      throw ConfigError(s.where(entry.node, path), path, "a stage must be a map with a 'run' key");
    YAML::Node run = entry.node["run"];
    if (!run.IsDefined() || !run.IsScalar())
      throw ConfigError(s.where(entry.node, path), path, "missing 'run' (one of: " + list_text(known_names) + ")");
    auto it = known.find(run.Scalar());
    if (it == known.end()) {
      std::string near = closest(run.Scalar(), known_names);
      throw ConfigError(s.where(run, path + ".run"), path + ".run",
                        "unknown stage '" + run.Scalar() + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                            " (stages this host runs: " + list_text(known_names) + ")");
    }
    entry.stage = it->second.get();
    Parameters declared = entry.stage->parameters();
    declared.integer("seed", s.root["seed"].as<std::int64_t>(), "",
                     "seed of everything random in this stage; default: the experiment's seed")
        .at_least(0);
    entry.declared = declared.list();
    validate_settings(entry.node, entry.declared, *s.origin, path, {"run"}, "stage '" + name + "' (" + run.Scalar() + ")");
    s.collect_references(entry.node, entry.declared, path, entry);
  }

  // Depth-first topological order; a stage on the current path again is a cycle.
  std::map<std::string, int> mark;  // 1: on the path, 2: done
  std::vector<std::string> path;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (mark[name] == 2) return;
    path.push_back(name);
    mark[name] = 1;
    for (const auto& [key, input] : s.stages[name].inputs) {
      if (mark[input] == 1) {
        std::string cycle;
        for (auto p = std::find(path.begin(), path.end(), input); p != path.end(); ++p) cycle += *p + " -> ";
        throw ConfigError(s.stages[name].input_where.at(key), key,
                          "cycle among stages: " + cycle + input);
      }
      visit(input);
    }
    mark[name] = 2;
    path.pop_back();
    s.order.push_back(name);
  };
  for (const auto& name : s.stage_names) visit(name);

  // Every stage's settings are complete now: each checks them against those
  // of the stages it reads.
  for (const auto& name : s.order) {
    auto& entry = s.stages[name];
    // The stages it reads by their key, and the stages those read by the
    // path of keys ("trained_by.design"): what a learned component was
    // trained through decides what it can be applied to.
    std::map<std::string, Config> inputs;
    std::function<void(const std::string&, const std::string&)> add = [&](const std::string& reader,
                                                                         const std::string& path) {
      const std::string reader_prefix = "stages." + reader + ".";
      for (const auto& [key, input] : s.stages[reader].inputs) {
        const auto& read = s.stages[input];
        const std::string at = path + key.substr(reader_prefix.size());
        inputs.emplace(at, Config(s.config_impl(read.node, "stages." + input, read.declared)));
        add(input, at + ".");
      }
    };
    add(name, "");
    entry.stage->check(Config(s.config_impl(entry.node, "stages." + name, entry.declared)), inputs);
  }
  s.validated = true;
}

std::vector<std::string> Session::variant_stages(const std::string& variant) {
  validate();
  auto& s = *state_;
  if (!is_plain_name(variant))
    throw Error("--variant " + variant + ": not a plain name (" + plain_name_rule + "); it names result folders");
  std::set<std::string> varied;
  try {
    Session base(s.file, {});
    base.validate();
    varied = s.changed_from(*base.state_);
  } catch (const std::exception& e) {
    log::warning("--variant ", variant, ": without the --set values the experiment is not valid (",
                 without_backtrace(e.what()), "); every stage is the variant's");
    varied = std::set<std::string>(s.order.begin(), s.order.end());
  }
  std::vector<std::string> out;
  for (const auto& name : s.order)
    if (varied.count(name)) out.push_back(name);
  return out;
}

void Session::run(const RunOptions& options) {
  validate();
  auto& s = *state_;
  const std::set<std::string> only = s.selected(options.only);
  s.variant = options.variant;
  s.varied.clear();
  if (!s.variant.empty()) {
    const std::vector<std::string> varied = variant_stages(s.variant);
    s.varied = std::set<std::string>(varied.begin(), varied.end());
    if (s.varied.empty()) log::warning("--variant ", s.variant, ": no --set changes any stage; every result is shared");
  } else if (!s.origin->overrides.empty()) {
    log::info("--set without --variant: the changed stages replace their results; --variant NAME keeps both");
  }
  const Ranks& world = Ranks::world();
  s.agree_with_leader(world, resolved() + "\n" + options.text());
  if (world.leader())
    log::info("machine: ", machine::text(machine::facts()),
              world.size() > 1 ? ", " + std::to_string(world.size()) + " ranks" : std::string());
  std::vector<std::string> results;
  for (const auto& name : s.stage_names) results.push_back(s.result_name(name));
  // Rank 0 locks the folder and cleans what a killed run left; then the others join it.
  std::optional<ResultFolder> folder;
  world.together([&] {
    if (!world.leader()) return;
    folder.emplace(options.output_root / s.name, results);
    for (const auto& name : s.order)
      if (only.empty() || only.count(name)) folder->refuse_foreign(s.result_name(name));
  });
  world.together([&] {
    if (!world.leader()) folder.emplace(options.output_root / s.name, results, ResultFolder::Role::Joined);
  });

  // Stages run level by level: a stage's level is one more than its inputs'
  // highest, so the stages of one level are independent and run at once on
  // different ranks; every rank sees every result of a level before the next.
  std::map<std::string, int> level;
  int levels = 0;
  for (const auto& name : s.order) {
    int l = 0;
    for (const auto& [key, input] : s.stages.at(name).inputs) l = std::max(l, level.at(input) + 1);
    level[name] = l;
    levels = std::max(levels, l + 1);
  }

  // The identity (hash and output bytes) of every stage whose result can be read.
  std::map<std::string, std::string> identities;
  std::vector<std::string> failures;
  std::set<std::string> failed, damaged;
  struct Due {
    std::string name;
    Config config;
    std::map<std::string, FileRead> files;
    std::string hash;
  };
  for (int l = 0; l < levels; ++l) {
    // What to run of this level: the same on every rank (they read the same records).
    std::vector<Due> due;
    world.together([&] {
      for (const auto& name : s.order) {
        if (level.at(name) != l) continue;
        const auto& entry = s.stages.at(name);
        std::string result = s.result_name(name);
        YAML::Node record = folder->record(result);
        std::string recorded = record["hash"].as<std::string>("");
        if (!only.empty() && !only.count(name)) {
          // Read by a selected stage as it is: only when intact. Where its
          // own folder holds no result of today's settings, another
          // variant's (or the base) result of the same hash is the same
          // result, found by its settings rather than its name.
          const std::string today = s.hash_now(name, identities);
          if (!today.empty() && recorded != today)
            if (const std::string other = folder->find(name, today); !other.empty()) {
              if (world.leader()) log::info("stage ", name, ": reading ", other, ", computed with this run's settings");
              s.located[name] = result = other;
              record = folder->record(result);
              recorded = today;
            }
          const std::string damage = recorded.empty() ? "" : provenance::damage(folder->result(result), record["outputs"]);
          if (!damage.empty()) {
            if (world.leader()) log::warning("stage ", name, ": its result is damaged (", damage, ")");
            damaged.insert(name);
          } else if (!recorded.empty()) {
            identities[name] = stage_hash::identity(recorded, record["outputs"]);
            if (world.leader() && !today.empty() && recorded != today)
              log::warning("stage ", name, ": its result is out of date (its settings, code, inputs or files read "
                           "changed since it was computed); the selected stages read it as it is");
          }
          continue;
        }
        auto blocker = std::find_if(entry.inputs.begin(), entry.inputs.end(),
                                    [&](const auto& in) { return failed.count(in.second) > 0; });
        if (blocker != entry.inputs.end()) {
          if (world.leader()) log::warning("stage ", name, ": skipped, its input stage '", blocker->second, "' failed");
          failures.push_back("'" + name + "' skipped (needs '" + blocker->second + "')");
          failed.insert(name);
          continue;
        }
        for (const auto& [key, input] : entry.inputs)
          if (!identities.count(input))
            throw Error("stage '" + name + "' reads the results of stage '" + input + "', which has " +
                        (damaged.count(input) ? "a damaged one" : "none") + " in " + folder->path().string() +
                        "; run it too (--only " + input + ") or the experiment without --only");
        Config config(s.config_impl(entry.node, "stages." + name, entry.declared));
        auto files = s.files_read(name, config);
        const std::string hash = s.hash_of(name, identities, files);
        const std::string run = entry.node["run"].Scalar();
        if (!options.force && recorded == hash) {
          // Reused only when intact and when its record says truly what made
          // it: a hash edited to today's is not today's result.
          std::string why = provenance::damage(folder->result(result), record["outputs"]);
          if (!why.empty()) why = "its result is damaged (" + why + ")";
          if (why.empty()) why = stage_hash::unfaithful(name, record, s.uses(name, files));
          if (why.empty()) {
            if (world.leader())
              log::info("stage ", name, " (", run, "): unchanged, reusing ", folder->result(result).string());
            identities[name] = stage_hash::identity(hash, record["outputs"]);
            continue;
          }
          if (world.leader()) log::warning("stage ", name, " (", run, "): ", why, "; recomputing");
        }
        if (options.adopt) {
          // Computes nothing: a stage is up to date, adopted, or reported.
          const std::string why = s.adopt(name, record, hash, identities, files, *folder, world);
          if (why.empty()) {
            if (world.leader())
              log::info("stage ", name, " (", run, "): adopted from ", recorded, ", computed by an earlier build");
            identities[name] = stage_hash::identity(hash, record["outputs"]);
          } else {
            if (world.leader()) log::warning("stage ", name, " (", run, "): not adopted: ", why);
            failures.push_back("'" + name + "' not adopted: " + why);
            failed.insert(name);
          }
          continue;
        }
        due.push_back({name, config, std::move(files), hash});
      }
    });
    if (due.empty()) continue;

    // Who runs what: with at least as many stages as ranks, stage i on rank
    // i mod R; with fewer, one rank each and the ranks left over shared out
    // among the stages that spread their work.
    const int n = static_cast<int>(due.size()), R = world.size();
    std::vector<std::size_t> mine;
    std::optional<Ranks> group;
    if (n >= R) {
      for (int i = world.rank(); i < n; i += R) mine.push_back(static_cast<std::size_t>(i));
    } else {
      std::vector<int> spreading;
      for (int i = 0; i < n; ++i)
        if (s.stages.at(due[i].name).stage->spreads()) spreading.push_back(i);
      const int r = world.rank();
      const int color = r < n ? r : spreading.empty() ? n + r : spreading[(r - n) % spreading.size()];
      group.emplace(world.split(color));
      if (color < n) mine.push_back(static_cast<std::size_t>(color));
    }
    const Ranks& runner = group ? *group : Ranks::self();

    // Each group runs its stages; its leader reports how they went.
    std::exception_ptr first_failure;
    Packer outcomes;
    std::int64_t reported = 0;
    for (const auto i : mine) {
      const auto& d = due[i];
      try {
        s.run_stage(d.name, d.config, d.hash, d.files, identities, *folder, runner);
        if (runner.leader()) outcomes.text(d.name).integer(1).text(""), ++reported;
      } catch (const std::exception& e) {
        if (runner.leader()) outcomes.text(d.name).integer(0).text(without_backtrace(e.what())), ++reported;
        if (!options.keep_going) {
          first_failure = std::current_exception();
          break;
        }
      }
    }
    // Without --keep-going the first failure stops every rank (the rank
    // where it happened prints it); with it, every rank learns what failed.
    world.together([&] {
      if (first_failure) std::rethrow_exception(first_failure);
    });
    for (const auto& bytes : world.all_gather(Packer().integer(reported).bytes() + outcomes.bytes())) {
      Unpacker in(bytes);
      for (std::int64_t k = in.integer(); k > 0; --k) {
        const std::string name = in.text();
        const bool ok = in.integer() == 1;
        const std::string message = in.text();
        if (ok) continue;
        if (world.leader()) log::warning(message);
        failures.push_back(message);
        failed.insert(name);
      }
    }
    // What the next levels read of this one: each result's hash and output bytes.
    for (const auto& d : due)
      if (!failed.count(d.name))
        identities[d.name] = stage_hash::identity(d.hash, folder->record(s.result_name(d.name))["outputs"]);
  }
  // Every rank knows the failures; the leader reports them.
  world.together([&] {
    if (failures.empty() || !world.leader()) return;
    std::string all;
    for (const auto& f : failures) all += "\n  " + f;
    throw Error(std::to_string(failures.size()) + " stage(s) failed or were skipped:" + all);
  });
}

}  // namespace assim
