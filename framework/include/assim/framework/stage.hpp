// A stage is one step of an experiment (generate, observe, ...): a pure
// function of its settings, the components it names and the results of the
// stages it reads, writing its results into a folder.
#pragma once

#include <assim/config.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/parameters.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace assim {

// A stage this stage reads, as the runner knows it: a stage finds its input
// through the producing stage's declaration, never by guessing a file name
// or parsing another stage's record.
struct StageInput {
  std::string name;               // the stage's name in the experiment
  std::string run;                // its kind, the `run:` value
  std::filesystem::path folder;   // its result folder
  std::filesystem::path product;  // folder / the file its first output_name() parameter names; empty if none
  Config settings;                // its resolved settings; references resolve to this run's components
  std::map<std::string, std::shared_ptr<const StageInput>> inputs;  // the stages it reads, by key ("of[0]")
  double seconds = -1;            // how long its run took (its record's), -1 when unknown
  // The input named by `key`, or the error every stage would otherwise word alike.
  const StageInput& input(const std::string& key) const;
};

class StageContext {
 public:
  StageContext(Config config, std::filesystem::path output,
               std::map<std::string, std::shared_ptr<const StageInput>> inputs,
               std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)> settings,
               std::filesystem::path experiment_folder, std::filesystem::path resume,
               Ranks ranks = Ranks::self());

  const Config& config() const { return config_; }
  // The folder to write into: a temporary folder the runner renames into
  // place when the stage succeeds.
  const std::filesystem::path& output() const { return output_; }
  // The stage a Stage-typed parameter refers to.
  const StageInput& input(const std::string& key) const;
  // The stages a Stages-typed parameter lists, in order.
  std::vector<const StageInput*> inputs(const std::string& key) const;
  // A folder that survives an interrupted run of this very stage (same
  // settings and inputs): long work keeps checkpoints here to resume from.
  // Made on first use; removed when the stage succeeds.
  const std::filesystem::path& resume() const;
  std::uint64_t seed() const { return config_.get<std::uint64_t>("seed"); }
  // The resolved settings (name, YAML scalar text) of the component a
  // Component-typed parameter refers to, type first: for provenance attributes.
  std::vector<std::pair<std::string, std::string>> settings_of(const std::string& key) const;
  // A path from the experiment file, relative to the file's folder.
  std::filesystem::path resolve(const std::filesystem::path& path) const;
  // The ranks running this stage: one, unless the stage spreads() and the
  // runner gave it several. Only the leader writes into output().
  const Ranks& ranks() const { return ranks_; }

 private:
  Config config_;
  std::filesystem::path output_;
  std::map<std::string, std::shared_ptr<const StageInput>> inputs_;
  std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)> settings_;
  std::filesystem::path experiment_folder_;
  std::filesystem::path resume_;
  Ranks ranks_;
};

class Stage {
 public:
  virtual ~Stage();
  virtual std::string name() const = 0;  // the `run:` value
  virtual std::string doc() const = 0;
  virtual Parameters parameters() const = 0;
  // Refuses what the stage would refuse on its settings and those of the
  // stages it reads (durations, a window longer than the pieces), so that
  // `validate` catches it before any stage runs. `inputs` holds the settings
  // of each input stage by the key that names it ("data", "of[0]"), and of
  // the stages those read, by the path of keys ("of[0].observations", "trained_by.design"); the
  // components are built; no result is read.
  virtual void check(const Config& config, const std::map<std::string, Config>& inputs) const;
  virtual void run(StageContext& context) const = 0;
  // Whether run() spreads its work over the ranks of context.ranks() (every
  // rank calls it, the leader gathers and writes) and over the workers of
  // each. A stage that does not runs on one rank, side by side with the
  // other such stages of its level, one per worker, and the runner gives the
  // other ranks other stages.
  virtual bool spreads() const;
  // Files the stage reads besides those its input_file() parameters name
  // (the arrays a meta.json lists), by a key for the record; relative paths
  // are taken from `experiment_folder`. Their bytes are in the stage's hash.
  virtual std::map<std::string, std::filesystem::path> files_read(const Config& config,
                                                                  const std::filesystem::path& experiment_folder) const;
  // What `run --adopt` recomputes before it keeps a result an earlier build
  // made: the settings that shrink the stage to its cheapest part that still
  // shows whether today's build computes the same (assimilate: its first
  // window, one seed) and the dims of the product they shrink, whose slices
  // are compared bit for bit. The default is the whole stage, every variable.
  struct Part {
    std::map<std::string, std::int64_t> settings;
    std::vector<std::string> dims;
  };
  virtual Part cheapest_part() const;
};

// The stages this host provides, by `run:` name.
const std::map<std::string, std::unique_ptr<Stage>>& stages();

}  // namespace assim
