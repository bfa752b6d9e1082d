// The items of a filter stage (stages/filter.cpp): what every repetition
// shares, what one gives, and what the leader makes of them
// (stages/filter_summary.cpp).
#pragma once

#include "products/filter_result.hpp"
#include "science/cycle.hpp"

#include <assim/config.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/model.hpp>
#include <assim/noise.hpp>
#include <assim/observation_operator.hpp>
#include <assim/sampler.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace assim::filter {

// One repetition as it crosses workers and ranks to the leader: its scores
// per cycle (NaN past a divergence), its status, its truth's std, its timings.
struct RepetitionOutcome {
  std::string status = "ok";
  double truth_std = NAN;
  std::vector<double> rmse_a, spread_a, rmse_f, spread_f;
  cycle::Seconds seconds;
  std::int64_t timed_cycles = 0;

  void pack(Packer& out) const {
    out.text(status).real(truth_std).reals(rmse_a).reals(spread_a).reals(rmse_f).reals(spread_f);
    out.real(seconds.forecast).real(seconds.analysis).integer(timed_cycles);
  }
  static RepetitionOutcome unpack(Unpacker& in) {
    RepetitionOutcome o;
    o.status = in.text();
    o.truth_std = in.real();
    for (auto* series : {&o.rmse_a, &o.spread_a, &o.rmse_f, &o.spread_f}) *series = in.reals();
    o.seconds.forecast = in.real();
    o.seconds.analysis = in.real();
    o.timed_cycles = in.integer();
    return o;
  }
};

// What every repetition shares, read once.
struct Repetitions {
  const Config& config;
  std::shared_ptr<Model> model;
  std::shared_ptr<Sampler> sampler;
  std::shared_ptr<const ObservationOperator> op;
  StateSpec spec;
  std::int64_t members, cycles, burn_in, steps, window;
  double sigma, factor;
  NoiseLaw law;
  Config observe;
  std::vector<std::int64_t> obs_shape, grid;
  std::uint64_t seed;
};

// What the leader makes of the repetitions: the product's series, each
// repetition's status ("ok" or why it diverged), and the product's summary:
// the time means after the burn-in over the repetitions that did not diverge,
// the statuses in one text, the count that diverged, the time per cycle.
struct Summary {
  products::FilterResult result;
  std::vector<std::string> status;
};

Summary summarise(const Repetitions& job, const std::vector<RepetitionOutcome>& outcomes);

}  // namespace assim::filter
