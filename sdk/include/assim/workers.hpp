// The workers of this process: threads that each solve items of work with
// their own intra-op tensor threads (one by default). A core that another
// process holds then slows one worker by its share, where a parallel region
// of several intra-op threads would stall at every barrier for the thread
// that lost its core (measured 20-50x on a small fit: bench/runner).
//
// The host sets their number (`assim run --workers`); the host's item stages
// (windows x seeds, repetitions, trajectories) and a plugin's own
// independent items (the shards of a training batch) share them through
// `each`. An item's result must depend on the item alone (its random streams
// seeded by its index, its reductions in a fixed order), never on the worker
// that solves it, so that a result is the same on any number of workers.
#pragma once

#include <assim/abi.hpp>

#include <cstdint>
#include <functional>

namespace assim::workers {

// How many workers `each` uses, and the intra-op threads each one computes with.
ASSIM_API int count();
ASSIM_API int threads();
// Set by the host before any work (both at least 1).
ASSIM_API void configure(int workers, int threads_per_worker);

// Calls solve(item) for every item in [0, items) on up to count() worker
// threads and returns when every call has returned. The calling thread only
// waits (and calls `waiting` after each item ends, with the number ended so
// far, for progress). A failure stops handing out items; once the running
// ones end, the failure of the lowest item is rethrown. Called on a worker,
// the items run there, one after another.
ASSIM_API void each(std::int64_t items, const std::function<void(std::int64_t item)>& solve,
                    const std::function<void(std::int64_t ended)>& waiting = nullptr);

// Whether this thread is one of the workers (a Progress made on one reports
// as nested: plain lines at most every 30 s).
ASSIM_API bool inside();

}  // namespace assim::workers
