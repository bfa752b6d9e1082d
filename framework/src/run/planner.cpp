#include "planner.hpp"

#include "run/records/adoption.hpp"
#include "run/records/provenance.hpp"
#include "run/records/record_store.hpp"
#include "run/records/result_folder.hpp"

#include "config_impl.hpp"
#include "experiment/graph.hpp"

#include <assim/error.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/log.hpp>

#include <fnmatch.h>

#include <algorithm>

namespace assim {

Planner::Planner(const ExperimentGraph& graph, RecordStore& records, const ResultFolder& folder, const Ranks& world,
                 const RunOptions& options, std::set<std::string> only, const Adoption& adoption)
    : graph_(graph),
      records_(records),
      folder_(folder),
      world_(world),
      options_(options),
      only_(std::move(only)),
      adoption_(adoption) {
  for (const auto& name : graph.order()) {
    int l = 0;
    for (const auto& [key, input] : graph.stage(name).inputs) l = std::max(l, level_.at(input) + 1);
    level_[name] = l;
    levels_ = std::max(levels_, l + 1);
  }
}

std::vector<Due> Planner::due(int level, Ledger& ledger) {
  std::vector<Due> due;
  world_.together([&] {
    for (const auto& name : graph_.order())
      if (level_.at(name) == level) plan(name, ledger, due);
  });
  return due;
}

void Planner::plan(const std::string& name, Ledger& ledger, std::vector<Due>& due) {
  if (!only_.empty() && !only_.count(name)) return read_as_it_is(name, ledger);
  if (skipped(name, ledger)) return;
  require_inputs(name, ledger);
  YAML::Node record = folder_.record(records_.result_name(name));
  const std::string recorded = record["hash"].as<std::string>("");
  Config config = graph_.config(name);
  auto files = records_.files_read(name, config);
  const std::string hash = records_.hash_of(name, ledger.identities, files);
  if (!options_.force && recorded == hash && reused(name, record, hash, files, ledger)) return;
  // --adopt computes nothing: a stage is up to date, adopted, or reported.
  if (options_.adopt) return adopt(name, record, hash, files, ledger);
  due.push_back({name, config, std::move(files), hash});
}

// A stage outside --only is read by a selected stage as it is: only when
// intact. Where its own folder holds no result of today's settings, another
// variant's (or the base) result of the same hash is the same result, found
// by its settings rather than its name.
void Planner::read_as_it_is(const std::string& name, Ledger& ledger) {
  std::string result = records_.result_name(name);
  YAML::Node record = folder_.record(result);
  std::string recorded = record["hash"].as<std::string>("");
  const std::string today = records_.hash_now(name, ledger.identities);
  if (!today.empty() && recorded != today)
    if (const std::string other = folder_.find(name, today); !other.empty()) {
      if (world_.leader()) log::info("stage ", name, ": reading ", other, ", computed with this run's settings");
      records_.locate(name, other);
      result = other;
      record = folder_.record(result);
      recorded = today;
    }
  const std::string damage = recorded.empty() ? "" : provenance::damage(folder_.result(result), record["outputs"]);
  if (!damage.empty()) {
    if (world_.leader()) log::warning("stage ", name, ": its result is damaged (", damage, ")");
    ledger.damaged.insert(name);
  } else if (!recorded.empty()) {
    ledger.identities[name] = stage_hash::identity(recorded, record["outputs"]);
    if (world_.leader() && !today.empty() && recorded != today)
      log::warning("stage ", name, ": its result is out of date (its settings, code, inputs or files read "
                   "changed since it was computed); the selected stages read it as it is");
  }
}

// With --keep-going, a stage whose input failed is skipped, and fails too.
bool Planner::skipped(const std::string& name, Ledger& ledger) const {
  const auto& inputs = graph_.stage(name).inputs;
  auto blocker = std::find_if(inputs.begin(), inputs.end(),
                              [&](const auto& in) { return ledger.failed.count(in.second) > 0; });
  if (blocker == inputs.end()) return false;
  if (world_.leader()) log::warning("stage ", name, ": skipped, its input stage '", blocker->second, "' failed");
  ledger.fail(name, "'" + name + "' skipped (needs '" + blocker->second + "')");
  return true;
}

// Every stage a selected stage reads must have a result, intact.
void Planner::require_inputs(const std::string& name, const Ledger& ledger) const {
  for (const auto& [key, input] : graph_.stage(name).inputs)
    if (!ledger.identities.count(input))
      throw Error("stage '" + name + "' reads the results of stage '" + input + "', which has " +
                  (ledger.damaged.count(input) ? "a damaged one" : "none") + " in " + folder_.path().string() +
                  "; run it too (--only " + input + ") or the experiment without --only");
}

// A result of today's hash is reused only when intact and when its record
// says truly what made it: a hash edited to today's is not today's result.
bool Planner::reused(const std::string& name, YAML::Node record, const std::string& hash,
                     const std::map<std::string, FileRead>& files, Ledger& ledger) const {
  const std::string run = graph_.stage(name).node["run"].Scalar();
  const std::string result = records_.result_name(name);
  std::string why = provenance::damage(folder_.result(result), record["outputs"]);
  if (!why.empty()) why = "its result is damaged (" + why + ")";
  if (why.empty()) why = stage_hash::unfaithful(name, record, records_.uses(name, files));
  if (why.empty()) {
    if (world_.leader())
      log::info("stage ", name, " (", run, "): unchanged, reusing ", folder_.result(result).string());
    ledger.identities[name] = stage_hash::identity(hash, record["outputs"]);
    return true;
  }
  if (world_.leader()) log::warning("stage ", name, " (", run, "): ", why, "; recomputing");
  return false;
}

void Planner::adopt(const std::string& name, const YAML::Node& record, const std::string& hash,
                    const std::map<std::string, FileRead>& files, Ledger& ledger) const {
  const std::string run = graph_.stage(name).node["run"].Scalar();
  const std::string why = adoption_.adopt(name, record, hash, ledger.identities, files);
  if (why.empty()) {
    if (world_.leader())
      log::info("stage ", name, " (", run, "): adopted from ", record["hash"].as<std::string>(""),
                ", computed by an earlier build");
    ledger.identities[name] = stage_hash::identity(hash, record["outputs"]);
  } else {
    if (world_.leader()) log::warning("stage ", name, " (", run, "): not adopted: ", why);
    ledger.fail(name, "'" + name + "' not adopted: " + why);
  }
}

std::set<std::string> selected(const std::vector<std::string>& patterns, const std::vector<std::string>& stages) {
  std::set<std::string> out;
  for (const auto& pattern : patterns) {
    bool matched = false;
    for (const auto& name : stages)
      if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) out.insert(name), matched = true;
    if (!matched) {
      std::string near = closest(pattern, stages);
      throw Error("--only " + pattern + ": no such stage" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                  " (stages: " + list_text(stages) + ")");
    }
  }
  return out;
}

std::set<std::string> changed_from(const ExperimentGraph& now, const RecordStore& now_records,
                                   const ExperimentGraph& base, const RecordStore& base_records) {
  std::set<std::string> out;
  for (const auto& name : now.order()) {
    bool changed = !base.has_stage(name) || base_records.settings_text(name) != now_records.settings_text(name);
    for (const auto& [key, input] : now.stage(name).inputs) changed = changed || out.count(input) > 0;
    if (changed) out.insert(name);
  }
  return out;
}

}  // namespace assim
