// The Session the host drives: it reads the experiment file (experiment/),
// validates it into the experiment graph, and runs it (run/): the planner
// decides level by level what to compute, the executor computes it on the
// ranks, and the record store names, hashes and records the results.
#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/log.hpp>

#include "experiment/experiment_file.hpp"
#include "experiment/graph.hpp"
#include "run/agreement.hpp"
#include "run/executor.hpp"
#include "run/planner.hpp"
#include "run/records/adoption.hpp"
#include "run/records/machine.hpp"
#include "run/records/record_store.hpp"
#include "run/records/result_folder.hpp"

#include <optional>
#include <set>

namespace assim {

namespace fs = std::filesystem;

struct Session::State {
  ExperimentFile experiment;
  PluginCatalog catalog;
  // Made by validate().
  std::unique_ptr<ExperimentGraph> graph;
  std::unique_ptr<RecordStore> records;

  // The results' folder: rank 0 locks it and cleans what a killed run left;
  // then the others join it.
  void open_results(const RunOptions& options, const std::set<std::string>& only,
                    std::optional<ResultFolder>& folder) const {
    const Ranks& world = Ranks::world();
    std::vector<std::string> results;
    for (const auto& name : experiment.stage_names) results.push_back(records->result_name(name));
    world.together([&] {
      if (!world.leader()) return;
      folder.emplace(options.output_root / experiment.name, results);
      for (const auto& name : graph->order())
        if (only.empty() || only.count(name)) folder->refuse_foreign(records->result_name(name));
    });
    world.together([&] {
      if (!world.leader()) folder.emplace(options.output_root / experiment.name, results, ResultFolder::Role::Joined);
    });
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
  s.experiment = ExperimentFile::read(file, overrides);
  s.catalog.load_defaults();
  load_plugin_path(s.experiment, s.catalog);
}

Session::~Session() = default;

const std::string& Session::name() const { return state_->experiment.name; }
const PluginCatalog& Session::catalog() const { return state_->catalog; }
PluginCatalog& Session::catalog() { return state_->catalog; }
std::vector<std::string> Session::order() const { return state_->graph ? state_->graph->order() : std::vector<std::string>{}; }
std::string Session::resolved() const { return state_->experiment.resolved(); }

fs::path Session::result_folder(const fs::path& output_root, const std::string& stage) const {
  if (!state_->records) throw Error("result_folder: validate the experiment first");
  return output_root / state_->experiment.name / state_->records->result_name(stage);
}

void Session::validate() {
  auto& s = *state_;
  if (s.graph) return;
  auto graph = std::make_unique<ExperimentGraph>(s.experiment, s.catalog);
  s.records = std::make_unique<RecordStore>(*graph);
  s.graph = std::move(graph);
}

std::vector<std::string> Session::variant_stages(const std::string& variant) {
  validate();
  auto& s = *state_;
  if (!is_plain_name(variant))
    throw Error("--variant " + variant + ": not a plain name (" + plain_name_rule + "); it names result folders");
  std::set<std::string> varied;
  try {
    Session base(s.experiment.file, {});
    base.validate();
    varied = changed_from(*s.graph, *s.records, *base.state_->graph, *base.state_->records);
  } catch (const std::exception& e) {
    log::warning("--variant ", variant, ": without the --set values the experiment is not valid (",
                 without_backtrace(e.what()), "); every stage is the variant's");
    varied = std::set<std::string>(s.graph->order().begin(), s.graph->order().end());
  }
  std::vector<std::string> out;
  for (const auto& name : s.graph->order())
    if (varied.count(name)) out.push_back(name);
  return out;
}

void Session::run(const RunOptions& options) {
  validate();
  auto& s = *state_;
  const std::set<std::string> only = selected(options.only, s.experiment.stage_names);
  s.records->use_variant(options.variant, {});
  if (!options.variant.empty()) {
    const std::vector<std::string> varied = variant_stages(options.variant);
    s.records->use_variant(options.variant, std::set<std::string>(varied.begin(), varied.end()));
    if (varied.empty()) log::warning("--variant ", options.variant, ": no --set changes any stage; every result is shared");
  } else if (!s.experiment.origin->overrides.empty()) {
    log::info("--set without --variant: the changed stages replace their results; --variant NAME keeps both");
  }
  const Ranks& world = Ranks::world();
  agree_with_leader(world, *s.graph, *s.records, s.catalog, resolved() + "\n" + options.text());
  if (world.leader())
    log::info("machine: ", machine::text(machine::facts()),
              world.size() > 1 ? ", " + std::to_string(world.size()) + " ranks" : std::string());
  std::optional<ResultFolder> folder;
  s.open_results(options, only, folder);

  const Executor executor(*s.graph, *s.records, *folder, world, options.keep_going);
  const Adoption adoption(*s.graph, *s.records, *folder, world,
                          [&executor](const std::string& name, std::string& checked) {
                            return executor.recheck(name, checked);
                          });
  Planner planner(*s.graph, *s.records, *folder, world, options, only, adoption);
  Ledger ledger;
  for (int level = 0; level < planner.levels(); ++level) {
    const std::vector<Due> due = planner.due(level, ledger);
    if (!due.empty()) executor.run(due, ledger);
  }
  executor.report(ledger);
}

}  // namespace assim
