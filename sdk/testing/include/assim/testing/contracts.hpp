// The contract every implementation of an interface must keep, as checks a
// plugin's own tests run (as OOPS's test/interface does for JEDI): shapes,
// dtypes, seeded determinism, finiteness, members that do not interact,
// autograd through operators, and `linear()` against a numerical test.
//
// Each check returns the broken promises in words; an empty list passes.
// A plugin's test (sdk/examples/model/contract_test.cpp):
//
// ```cpp-from sdk/examples/model/contract_test.cpp
// const assim::testing::Failures failures = assim::testing::check_model(model, 10);
// return failures.empty() ? 0 : 1;
// ```
//
// Link AssimSDK::testing (installed with the SDK).
#pragma once

#include <assim/abi.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace assim::testing {

struct ASSIM_API Failures {
  std::vector<std::string> list;
  bool empty() const { return list.empty(); }
  std::string text() const;  // one failure per line
  void add(std::string what) { list.push_back(std::move(what)); }
};

// A Model: a sane state spec (variable, units, dims of positive size, a
// positive time step); initial_state of shape (members, dims...), float64,
// finite, equal for a seed and different for another; start() keeping the
// states it was given, advance(`steps`) keeping shape and finiteness and
// counting steps, members advanced in one batch equal to each alone, and two
// trajectories advanced on two workers at once equal to one alone.
// A differentiable() model also: differentiable_trajectory equal to
// start/advance to 1e-12 relative, and its autograd derivative equal to a
// central finite difference along a random direction.
ASSIM_API Failures check_model(const Model& model, std::int64_t steps = 3);

// An ObservationOperator on float64 states of `state_shape` drawn from
// N(0, scale^2) with `seed`: output_shape agrees with apply on batches of
// (2, frames, state...) and (state...), finite outputs, apply does not
// change its input, autograd gives a finite gradient equal to a central
// finite difference along a random direction, and linear() is true exactly
// when apply(a x + b x') = a apply(x) + b apply(x') holds.
ASSIM_API Failures check_observation_operator(const ObservationOperator& op, const std::vector<std::int64_t>& state_shape,
                                              double scale = 1.0, std::uint64_t seed = 1);

// A Prior on windows z of `window_shape` (frames, channels, y, x): denoise
// returns eps of z's shape and dtype, finite, the same on a second call,
// each member's eps depends on that member alone, and two calls on two
// workers at once give what one gives alone.
ASSIM_API Failures check_prior(const Prior& prior, const std::vector<std::int64_t>& window_shape);

// A Sampler on a problem the caller builds (with the prior, forecast or
// background, model or climatology the sampler's needs() declares): samples of shape (members, L,
// state...), finite, equal for a seed and when two workers call it at once; a problem lacking what needs()
// declares is refused with an exception; a deterministic one is checked with
// 1 member, gives the same estimate for every seed and refuses 2 members.
ASSIM_API Failures check_sampler(const Sampler& sampler, const AssimilationProblem& problem, std::int64_t members);

}  // namespace assim::testing
