// What a run decides and learns, level by level: the stages due to run of a
// level (the planner's), and what the run knows so far (the planner's and
// the executor's).
#pragma once

#include "run/records/record_store.hpp"

#include <assim/config.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace assim {

// A stage to compute, with what its hash was made of.
struct Due {
  std::string name;
  Config config;
  std::map<std::string, FileRead> files;
  std::string hash;
};

// What the run knows so far, the same on every rank.
struct Ledger {
  // The identity (hash and output bytes) of every stage whose result can be read.
  std::map<std::string, std::string> identities;
  std::vector<std::string> failures;  // for the report at the end
  std::set<std::string> failed, damaged;

  void fail(const std::string& name, const std::string& failure) {
    failures.push_back(failure);
    failed.insert(name);
  }
};

}  // namespace assim
