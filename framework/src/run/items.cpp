#include "items.hpp"

#include <assim/progress.hpp>
#include <assim/workers.hpp>

#include <algorithm>

namespace assim::items {

std::vector<std::string> map_bytes(const Ranks& ranks, const Spread& spread,
                                   const std::function<std::string(std::int64_t, const Ranks&)>& solve) {
  // Item k goes to team k mod T: round robin, so that items of unequal cost
  // (a diverging window stops early) still share out evenly.
  const int teams =
      spread.teams ? static_cast<int>(std::clamp<std::int64_t>(spread.count, 1, ranks.size())) : ranks.size();
  const Ranks team = ranks.split(ranks.rank() % teams);
  std::vector<std::int64_t> mine;
  for (std::int64_t k = ranks.rank() % teams; k < spread.count; k += teams) mine.push_back(k);
  std::vector<std::string> solved(mine.size());
  Progress progress(spread.label, static_cast<std::int64_t>(mine.size()), spread.unit);
  std::int64_t shown = 0;
  const auto show = [&](std::int64_t ended) {
    progress.advance(ended - shown);
    shown = ended;
  };
  const auto one = [&](std::int64_t i) { solved[i] = solve(mine[i], team); };
  if (team.size() > 1) {
    // The ranks of a team meet in collectives: one item at a time, on the
    // thread that talks to MPI.
    for (std::size_t i = 0; i < mine.size(); ++i) {
      one(static_cast<std::int64_t>(i));
      show(static_cast<std::int64_t>(i) + 1);
    }
  } else {
    workers::each(static_cast<std::int64_t>(mine.size()), one, show);
  }
  progress.finish();
  // One report per item: its team leader's.
  Packer report;
  report.integer(team.leader() ? static_cast<std::int64_t>(mine.size()) : 0);
  for (std::size_t i = 0; team.leader() && i < mine.size(); ++i) report.integer(mine[i]).text(solved[i]);
  solved.clear();
  const std::vector<std::string> gathered = ranks.all_gather(report.bytes());
  if (!ranks.leader()) return {};
  std::vector<std::string> results(static_cast<std::size_t>(spread.count));
  for (const auto& bytes : gathered) {
    Unpacker in(bytes);
    for (std::int64_t n = in.integer(); n > 0; --n) {
      const std::int64_t k = in.integer();
      results[static_cast<std::size_t>(k)] = in.text();
    }
  }
  return results;
}

}  // namespace assim::items
