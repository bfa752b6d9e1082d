// The experiment as `validate` leaves it: every component built, every stage
// checked against its declaration and against the stages it reads, the
// `$references` between them collected and the stages in run order. The
// runner only reads it.
#pragma once

#include "components.hpp"
#include "experiment_file.hpp"

#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace assim {

class Stage;

struct StageEntry {
  YAML::Node node;
  const Stage* stage = nullptr;
  std::vector<Parameter> declared;
  std::map<std::string, std::string> inputs;       // parameter path -> stage name
  std::map<std::string, std::string> input_where;  // parameter path -> file:line
  std::set<std::string> components;                // component names referenced directly
};

class ExperimentGraph {
 public:
  // Everything that can be checked without running: every component and
  // stage against its declaration, references, cycles; builds the
  // components and fills the defaults into `experiment`'s tree. Throws
  // ConfigError at the first fault.
  ExperimentGraph(ExperimentFile& experiment, const PluginCatalog& catalog);
  ExperimentGraph(const ExperimentGraph&) = delete;
  ExperimentGraph& operator=(const ExperimentGraph&) = delete;

  const ExperimentFile& experiment() const { return experiment_; }
  // The stage names in the order they run.
  const std::vector<std::string>& order() const { return order_; }
  bool has_stage(const std::string& name) const { return stages_.count(name) > 0; }
  const StageEntry& stage(const std::string& name) const { return stages_.at(name); }
  const ComponentEntry& component(const std::string& name) const { return components_->at(name); }
  // Every component a stage uses, directly or through another component.
  std::set<std::string> components_of(const StageEntry& stage) const;
  // The stage's settings as it reads them; with `node`, other settings of it.
  Config config(const std::string& name) const;
  Config config(const std::string& name, YAML::Node node) const;

 private:
  void check_stage(const std::string& name);
  void collect_references(YAML::Node node, const std::vector<Parameter>& declared, const std::string& path,
                          StageEntry& stage);
  void add_input(StageEntry& stage, const YAML::Node& value, const std::string& key,
                 const std::vector<std::string>& kinds);
  void complete_sweeps();
  void order_stages();
  void check_against_inputs();

  ExperimentFile& experiment_;
  // By pointer: the Configs the graph hands out resolve references through it.
  std::unique_ptr<Components> components_;
  std::map<std::string, StageEntry> stages_;
  std::vector<std::string> order_;
};

}  // namespace assim
