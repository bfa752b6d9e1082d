// Decides what a run computes. Stages run level by level: a stage's level is
// one more than its inputs' highest, so the stages of one level are
// independent and run at once on different ranks, and every rank sees every
// result of a level before the next is planned. Of a level, a stage outside
// --only is read as it is; one whose input failed is skipped; one whose
// intact, faithful result has today's hash is reused; with --adopt one
// computed by an earlier build is adopted or reported; the others are due.
#pragma once

#include "plan.hpp"

#include <assim/framework/experiment.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace assim {

class Adoption;
class ExperimentGraph;
class Ranks;
class RecordStore;
class ResultFolder;

class Planner {
 public:
  Planner(const ExperimentGraph& graph, RecordStore& records, const ResultFolder& folder, const Ranks& world,
          const RunOptions& options, std::set<std::string> only, const Adoption& adoption);

  int levels() const { return levels_; }
  // The stages of `level` to compute, the same on every rank (they read the
  // same records); what it decides of the others goes to `ledger`.
  std::vector<Due> due(int level, Ledger& ledger);

 private:
  void plan(const std::string& name, Ledger& ledger, std::vector<Due>& due);
  void read_as_it_is(const std::string& name, Ledger& ledger);
  bool skipped(const std::string& name, Ledger& ledger) const;
  void require_inputs(const std::string& name, const Ledger& ledger) const;
  bool reused(const std::string& name, YAML::Node record, const std::string& hash,
              const std::map<std::string, FileRead>& files, Ledger& ledger) const;
  void adopt(const std::string& name, const YAML::Node& record, const std::string& hash,
             const std::map<std::string, FileRead>& files, Ledger& ledger) const;

  const ExperimentGraph& graph_;
  RecordStore& records_;
  const ResultFolder& folder_;
  const Ranks& world_;
  const RunOptions& options_;
  const std::set<std::string> only_;
  const Adoption& adoption_;
  std::map<std::string, int> level_;
  int levels_ = 0;
};

// --only: stage names or glob patterns ('soad_*'); each must select one of `stages`.
std::set<std::string> selected(const std::vector<std::string>& patterns, const std::vector<std::string>& stages);

// The stages of `now` whose resolved settings differ from those of `base`
// (the experiment without the overrides), directly, through a component or
// through an input: a top-level value such as `seed` changes every stage
// that takes it as its default.
std::set<std::string> changed_from(const ExperimentGraph& now, const RecordStore& now_records,
                                   const ExperimentGraph& base, const RecordStore& base_records);

}  // namespace assim
