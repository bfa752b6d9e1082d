// A stage that spreads is a map over items (windows x seeds, repetitions,
// trajectories): it says how many items it has and solves one, science
// only; this is the one path that shares the items among the run's ranks and
// each rank's workers, shows progress, and gathers every item's result, in
// item order, on the leader, which assembles and writes the product. An
// item's random streams depend on its index and the seed alone, so the
// result is the same on any number of workers and ranks (e2e.ranks).
#pragma once

#include <assim/framework/ranks.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace assim::items {

struct Spread {
  std::string label;       // the progress line's label: the stage kind
  std::string unit;        // what an item is: "window", "repetition", "trajectory"
  std::int64_t count = 0;  // items
  // With fewer items than ranks, the spare ranks join a team that solves one
  // item together (a cycled filter shares its members' forecasts out among
  // them); otherwise every item is solved by one rank's worker.
  bool teams = false;
};

// Solves every item (`team`: the ranks solving it together, one unless
// spread.teams) and returns each one's bytes in item order on the leader of
// `ranks`, nothing elsewhere.
std::vector<std::string> map_bytes(const Ranks& ranks, const Spread& spread,
                                   const std::function<std::string(std::int64_t item, const Ranks& team)>& solve);

// The same, for a Result written once on its type:
//   void pack(Packer&) const;  static Result unpack(Unpacker&);
template <class Result>
std::vector<Result> map(const Ranks& ranks, const Spread& spread,
                        const std::function<Result(std::int64_t item, const Ranks& team)>& solve) {
  const std::vector<std::string> bytes = map_bytes(ranks, spread, [&](std::int64_t item, const Ranks& team) {
    Packer out;
    solve(item, team).pack(out);
    return out.bytes();
  });
  std::vector<Result> results;
  results.reserve(bytes.size());
  for (const auto& b : bytes) {
    Unpacker in(b);
    results.push_back(Result::unpack(in));
  }
  return results;
}

}  // namespace assim::items
