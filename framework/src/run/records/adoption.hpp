// `assim run --adopt`: keeping a result an earlier build computed where
// nothing else changed. Beyond the hash it needs whether the settings a
// result was computed with are the settings of today, up to parameters
// added since at their defaults (which, by the rule that a new parameter's
// default keeps the old behaviour, compute the same).
#pragma once

#include <assim/parameters.hpp>

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace assim {

class ExperimentGraph;
class Ranks;
class RecordStore;
class ResultFolder;
struct FileRead;

// "" when `now` equals `then` once the keys `then` lacks are left out where
// `now` holds their declared default; else the first difference, as
// "stages.fit.epochs: 40 then, 8 now".
std::string settings_difference(const YAML::Node& now, const YAML::Node& then, const std::vector<Parameter>& declared,
                                const std::string& path);

class Adoption {
 public:
  // Recomputes the cheapest part of a stage with today's build and compares
  // it with its result: "" and what was compared in `checked`, or the
  // difference (Executor::recheck).
  using Recheck = std::function<std::string(const std::string& stage, std::string& checked)>;
  Adoption(const ExperimentGraph& graph, const RecordStore& records, const ResultFolder& folder, const Ranks& world,
           Recheck recheck);

  // Keeps a result an earlier build computed when that build is all that
  // differs: the record must reproduce its own hash from what it kept (so
  // it says truly what computed it), the settings be today's up to
  // parameters added since at their defaults, the plugins' names and
  // versions and the files read be the same, every input be up to date and
  // be the result the record read (or one adopted from it), the outputs be
  // intact, and today's build must recompute the stage's cheapest part
  // (recheck) with the same numbers, bit for bit. Then the record takes the
  // new hash, keeps the old builds (host, SDK, plugins) and the check under
  // `adopted`, and readers of the stage are as up to date as before. Every
  // rank calls it; rank 0 recomputes and writes. Returns why not, or "" once
  // adopted.
  std::string adopt(const std::string& name, const YAML::Node& record, const std::string& hash,
                    const std::map<std::string, std::string>& identities,
                    const std::map<std::string, FileRead>& files) const;

 private:
  std::string same_but_builds(const std::string& name, const YAML::Node& record,
                              const std::map<std::string, FileRead>& files, YAML::Node& builds) const;
  std::string inputs_read(const std::string& name, const YAML::Node& record,
                          const std::map<std::string, std::string>& identities) const;
  std::string recomputed(const std::string& name, std::string& checked) const;
  void restamp(const std::string& name, const YAML::Node& record, const std::string& hash,
               const std::map<std::string, std::string>& identities, const YAML::Node& builds,
               const std::string& checked) const;

  const ExperimentGraph& graph_;
  const RecordStore& records_;
  const ResultFolder& folder_;
  const Ranks& world_;
  Recheck recheck_;
};

}  // namespace assim
