#include "graph.hpp"

#include <assim/error.hpp>
#include <assim/framework/stage.hpp>

#include <algorithm>
#include <functional>

namespace assim {

ExperimentGraph::ExperimentGraph(ExperimentFile& experiment, const PluginCatalog& catalog)
    : experiment_(experiment), components_(std::make_unique<Components>(experiment, catalog)) {
  for (const auto& name : experiment.stage_names) stages_[name].node = experiment.stage_nodes.at(name);
  for (const auto& name : experiment.component_names) components_->check(name);
  for (const auto& name : experiment.component_names)
    components_->get(name, components_->at(name).type->type.kind,
                     experiment.where(components_->at(name).node, "components." + name), "components." + name);

  // Components first: a file of components alone is checked as far as it goes.
  if (experiment.stage_names.empty())
    throw ConfigError(experiment.root["stages"].IsDefined() ? experiment.where(experiment.root["stages"], "stages")
                                                            : experiment.file.string(),
                      "stages", "the experiment has no stages: nothing to run");
  for (const auto& name : experiment.stage_names) check_stage(name);
  complete_sweeps();
  order_stages();
  check_against_inputs();
}

// A stage's node: a `run` this host knows, with the settings it declares
// (defaults filled in); its references collected.
void ExperimentGraph::check_stage(const std::string& name) {
  const auto& known = stages();
  std::vector<std::string> known_names;
  for (const auto& [kind, stage] : known) known_names.push_back(kind);
  auto& entry = stages_[name];
  std::string path = "stages." + name;
  YAML::Node run = experiment_.kind_of(entry.node, path, "stage", "run", "one of: " + list_text(known_names));
  auto it = known.find(run.Scalar());
  if (it == known.end()) {
    std::string near = closest(run.Scalar(), known_names);
    throw ConfigError(experiment_.where(run, path + ".run"), path + ".run",
                      "unknown stage '" + run.Scalar() + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (stages this host runs: " + list_text(known_names) + ")");
  }
  entry.stage = it->second.get();
  Parameters declared = entry.stage->parameters();
  declared.integer("seed", experiment_.root["seed"].as<std::int64_t>(), "",
                   "seed of everything random in this stage; default: the experiment's seed")
      .at_least(0);
  entry.declared = declared.list();
  validate_settings(entry.node, entry.declared, *experiment_.origin, path, {"run"},
                    "stage '" + name + "' (" + run.Scalar() + ")");
  collect_references(entry.node, entry.declared, path, entry);
}

// Records the `$references` under `node` (validated against `declared`).
void ExperimentGraph::collect_references(YAML::Node node, const std::vector<Parameter>& declared,
                                         const std::string& path, StageEntry& stage) {
  for (const auto& p : declared) {
    YAML::Node value = node[p.name];
    if (!value.IsDefined() || value.IsNull()) continue;
    std::string key = join_path(path, p.name);
    if (p.type == ParameterType::Section) collect_references(value, p.fields, key, stage);
    if (p.type == ParameterType::Component) {
      std::string name = value.Scalar().substr(1);
      components_->get(name, *p.component_kind, experiment_.where(value, key), key);
      stage.components.insert(name);
    }
    if (p.type == ParameterType::Components)
      for (std::size_t i = 0; i < value.size(); ++i) {
        std::string name = value[i].Scalar().substr(1);
        std::string element = key + "[" + std::to_string(i) + "]";
        components_->get(name, *p.component_kind, experiment_.where(value[i], element), element);
        stage.components.insert(name);
      }
    if (p.type == ParameterType::Stage) add_input(stage, value, key, p.choices);
    if (p.type == ParameterType::Stages)
      for (std::size_t i = 0; i < value.size(); ++i)
        add_input(stage, value[i], key + "[" + std::to_string(i) + "]", p.choices);
  }
}

void ExperimentGraph::add_input(StageEntry& stage, const YAML::Node& value, const std::string& key,
                                const std::vector<std::string>& kinds) {
  std::string name = value.Scalar().substr(1);
  if (!stages_.count(name)) {
    std::string near = closest(name, experiment_.stage_names);
    throw ConfigError(experiment_.where(value, key), key,
                      "no stage named '" + name + "'" +
                          (experiment_.component_nodes.count(name) ? " ('" + name + "' is a component)" : "") +
                          (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (stages: " + list_text(experiment_.stage_names) + ")");
  }
  YAML::Node run = stages_.at(name).node["run"];
  if (!kinds.empty() && run.IsScalar() && std::find(kinds.begin(), kinds.end(), run.Scalar()) == kinds.end())
    throw ConfigError(experiment_.where(value, key), key,
                      "stage '" + name + "' is " + article(run.Scalar()) + " " + run.Scalar() + " stage, but " +
                          article(kinds.front()) + " " + list_text(kinds, " or ") + " stage is needed here");
  stage.inputs[key] = name;
  stage.input_where[key] = experiment_.where(value, key);
}

namespace {

// The scalar at dotted `key` under `node`, or an undefined node.
YAML::Node setting_at(const YAML::Node& node, const std::string& key) {
  YAML::Node at = YAML::Clone(node);  // read only: no lookup adds to the file's nodes
  for (std::size_t start = 0; at.IsDefined();) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at.IsMap()) return {};
    const YAML::Node next = static_cast<const YAML::Node&>(at)[part];
    if (!next.IsDefined()) return {};
    at = next;
    if (dot == std::string::npos) return at.IsScalar() ? at : YAML::Node();
    start = dot + 1;
  }
  return {};
}

}  // namespace

// Settings absent from a cell are at their default: a run listed by a stage
// that collects a sweep (`sweep: {dims, values}`, evaluate) but not made over
// one of its dimensions takes the value of the setting that dimension sets
// elsewhere (experiment/sweeps.hpp: SweepPlaces), as the run has it (its
// default, or what the file gives): in its own settings when it is a stage
// of the same kind, or in those of a component of the same type it names.
void ExperimentGraph::complete_sweeps() {
  for (const auto& name : experiment_.stage_names) {
    const YAML::Node node = stages_[name].node;
    const YAML::Node of = node["of"], sweep = node["sweep"];
    if (!of.IsDefined() || !sweep.IsDefined() || !of.IsSequence() || !sweep.IsMap()) continue;
    const YAML::Node dims = sweep["dims"];
    YAML::Node values = sweep["values"];
    // A sweep that does not fit its list: the stage's check says why.
    if (!dims.IsDefined() || !values.IsDefined() || !dims.IsSequence() || !values.IsSequence() ||
        values.size() != dims.size() * of.size())
      continue;
    for (std::size_t r = 0; r < of.size(); ++r) {
      const auto run = stages_.find(of[r].Scalar().substr(1));
      if (run == stages_.end()) continue;
      const YAML::Node kind = run->second.node["run"];
      if (!of[r].IsScalar() || !kind.IsDefined() || !kind.IsScalar()) continue;
      for (std::size_t d = 0; d < dims.size(); ++d) {
        YAML::Node value = values[r * dims.size() + d];
        const auto places = experiment_.sweep_places.find(dims[d].Scalar());
        if (!value.IsScalar() || !value.Scalar().empty() || places == experiment_.sweep_places.end()) continue;
        for (const auto& [section, kind, key] : places->second) {
          std::vector<YAML::Node> owners;
          if (section == "stages" && run->second.node["run"].Scalar() == kind) owners.push_back(run->second.node);
          if (section == "components")
            for (const auto& c : run->second.components)
              if (const YAML::Node type = components_->at(c).node["type"]; type.IsDefined() && type.Scalar() == kind)
                owners.push_back(components_->at(c).node);
          for (const auto& owner : owners)
            if (const YAML::Node found = setting_at(owner, key); found.IsDefined() && !found.Scalar().empty()) {
              value = found.Scalar();
              break;
            }
          if (!value.Scalar().empty()) break;
        }
      }
    }
  }
}

// Depth-first topological order; a stage on the current path again is a cycle.
void ExperimentGraph::order_stages() {
  std::map<std::string, int> mark;  // 1: on the path, 2: done
  std::vector<std::string> path;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (mark[name] == 2) return;
    path.push_back(name);
    mark[name] = 1;
    for (const auto& [key, input] : stages_[name].inputs) {
      if (mark[input] == 1) {
        std::string cycle;
        for (auto p = std::find(path.begin(), path.end(), input); p != path.end(); ++p) cycle += *p + " -> ";
        throw ConfigError(stages_[name].input_where.at(key), key, "cycle among stages: " + cycle + input);
      }
      visit(input);
    }
    mark[name] = 2;
    path.pop_back();
    order_.push_back(name);
  };
  for (const auto& name : experiment_.stage_names) visit(name);
}

// Every stage's settings are complete now: each checks them against those
// of the stages it reads.
void ExperimentGraph::check_against_inputs() {
  for (const auto& name : order_) {
    auto& entry = stages_[name];
    // The stages it reads by their key, and the stages those read by the
    // path of keys ("trained_by.design"): what a learned component was
    // trained through decides what it can be applied to.
    std::map<std::string, Config> inputs;
    std::function<void(const std::string&, const std::string&)> add = [&](const std::string& reader,
                                                                         const std::string& path) {
      const std::string reader_prefix = "stages." + reader + ".";
      for (const auto& [key, input] : stages_[reader].inputs) {
        const auto& read = stages_[input];
        const std::string at = path + key.substr(reader_prefix.size());
        inputs.emplace(at, Config(components_->config_impl(read.node, "stages." + input, read.declared)));
        add(input, at + ".");
      }
    };
    add(name, "");
    entry.stage->check(Config(components_->config_impl(entry.node, "stages." + name, entry.declared)), inputs);
  }
}

std::set<std::string> ExperimentGraph::components_of(const StageEntry& stage) const {
  std::set<std::string> closure;
  for (const auto& c : stage.components) components_->closure(c, closure);
  return closure;
}

Config ExperimentGraph::config(const std::string& name) const {
  const auto& entry = stages_.at(name);
  return Config(components_->config_impl(entry.node, "stages." + name, entry.declared));
}

Config ExperimentGraph::config(const std::string& name, YAML::Node node) const {
  return Config(components_->config_impl(node, "stages." + name, stages_.at(name).declared));
}

}  // namespace assim
