// The ranks that run one stage together. A stage the host spreads over MPI
// ranks (a fit) runs on each of them; a plugin shares the independent items
// of its work among them (the shards of a training batch) through `share`,
// and only the leader writes the stage's files (`writes`). Plugins never see
// MPI: the host installs the team around the stage and removes it after.
#pragma once

#include <assim/abi.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace assim::team {

// Calls solve(item) for the items of this rank's block of [0, items) (on
// this rank's workers, as workers::each) and returns every item's tensors,
// those of the other ranks' blocks included, in item order: every rank then
// reduces the same tensors in the same order, so that a fit on several ranks
// takes the steps one rank would, bit for bit. Alone, it is workers::each.
// A failure of any item on any rank is thrown on every rank (the message
// of the lowest rank that failed), so that no rank waits for one that stopped. Every rank
// must call it the same number of times with the same `items`.
ASSIM_API std::vector<std::vector<at::Tensor>> share(
    std::int64_t items, const std::function<std::vector<at::Tensor>(std::int64_t item)>& solve);

// How many ranks run the stage, and which of them this process is (0: the
// leader, which writes).
ASSIM_API int size();
ASSIM_API int rank();

// Whether this process writes the running stage's files: false on the ranks
// that join a leader (they compute, share, and leave the files to it).
ASSIM_API bool writes();

// For the host: the team of the stage this thread runs, until the Scope ends.
// rank and size in the team; all_gather(bytes) returns every rank's bytes in
// rank order (the host's MPI group).
class ASSIM_API Scope {
 public:
  Scope(int rank, int size, std::function<std::vector<std::string>(const std::string&)> all_gather);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

}  // namespace assim::team
