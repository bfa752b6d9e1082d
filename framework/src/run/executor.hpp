// Runs the stages the planner found due: who runs what on which ranks, each
// stage into a temporary folder committed with its record, and what failed,
// gathered so that every rank knows it (with --keep-going the stages that do
// not need a failed one still run).
#pragma once

#include "plan.hpp"

#include <assim/framework/stage.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace assim {

class ExperimentGraph;
class RecordStore;
class ResultFolder;

class Executor {
 public:
  Executor(const ExperimentGraph& graph, const RecordStore& records, const ResultFolder& folder, const Ranks& world,
           bool keep_going);

  // Runs a level's due stages, each on its ranks; adds what failed and the
  // identity of each result made to `ledger`. Without --keep-going the
  // first failure stops every rank.
  void run(const std::vector<Due>& due, Ledger& ledger) const;
  // Recomputes the cheapest part of stage `name` (Stage::cheapest_part) with
  // today's build into a scratch folder and compares it with the stage's
  // result: "" and what was compared in `checked`, or the difference.
  std::string recheck(const std::string& name, std::string& checked) const;
  // Every rank knows the failures; the leader reports them.
  void report(const Ledger& ledger) const;

 private:
  struct Share {
    std::vector<std::size_t> mine;  // the due stages this rank runs
    std::optional<Ranks> group;     // the ranks it runs them with, when it shares
  };
  Share share(const std::vector<Due>& due) const;
  struct Order {
    std::vector<std::vector<std::size_t>> side_by_side;  // batches, each on the workers at once
    std::vector<std::size_t> alone;                     // then each on every worker
  };
  Order order(const std::vector<Due>& due, const std::vector<std::size_t>& mine, const Ranks& runner) const;
  void gather(const std::string& outcomes, std::int64_t reported, Ledger& ledger) const;
  void run_stage(const Due& due, const std::map<std::string, std::string>& identities, const Ranks& group) const;
  [[noreturn]] void throw_failure(const std::string& name, const std::exception& e) const;
  std::map<std::string, std::shared_ptr<const StageInput>> inputs_of(const std::string& name) const;
  std::shared_ptr<const StageInput> stage_input(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> settings_of(const Config& config, const std::string& key) const;
  std::string involved(const std::string& name) const;

  const ExperimentGraph& graph_;
  const RecordStore& records_;
  const ResultFolder& folder_;
  const Ranks& world_;
  bool keep_going_;
};

}  // namespace assim
