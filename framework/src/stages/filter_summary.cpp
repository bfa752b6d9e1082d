#include "stages/filter.hpp"

#include "science/scores.hpp"

#include <algorithm>
#include <utility>

namespace assim::filter {

Summary summarise(const Repetitions& job, const std::vector<RepetitionOutcome>& outcomes) {
  Summary out;
  products::FilterResult& r = out.result;
  r.spec = job.spec;
  for (std::int64_t c = 0; c < job.cycles; ++c)
    r.times.push_back(static_cast<double>((c + 1) * job.steps) * job.spec.time_step);
  cycle::Seconds seconds;
  std::int64_t timed_cycles = 0;
  std::vector<double> kept;
  for (const auto& o : outcomes) {
    for (auto [to, from] : {std::pair{&r.rmse_analysis, &o.rmse_a}, {&r.spread_analysis, &o.spread_a},
                            {&r.rmse_forecast, &o.rmse_f}, {&r.spread_forecast, &o.spread_f}})
      to->insert(to->end(), from->begin(), from->end());
    r.truth_std.push_back(o.truth_std);
    r.rmse_a_repetition.push_back(scores::after_burn_in(o.rmse_a, job.burn_in));
    out.status.push_back(o.status);
    r.status += (r.status.empty() ? "" : "; ") + std::to_string(out.status.size() - 1) + ": " + o.status;
    if (o.status == "ok")
      kept.push_back(r.rmse_a_repetition.back());
    else
      ++r.diverged_repetitions;
    seconds.forecast += o.seconds.forecast;
    seconds.analysis += o.seconds.analysis;
    timed_cycles += o.timed_cycles;
  }
  // The standard error of the repetitions' mean rmse.a: how far another set of seeds may move it.
  r.rmse_a_standard_error = scores::standard_error(kept);
  const auto time_mean = [&](const std::vector<double>& series) {
    double sum = 0;
    std::int64_t n = 0;
    for (std::int64_t k = 0; k < r.repetitions(); ++k) {
      if (out.status[k] != "ok") continue;
      for (std::int64_t c = job.burn_in; c < job.cycles; ++c, ++n) sum += series[k * job.cycles + c];
    }
    return n ? sum / static_cast<double>(n) : NAN;
  };
  r.rmse_a = time_mean(r.rmse_analysis);
  r.spread_a = time_mean(r.spread_analysis);
  r.rmse_f = time_mean(r.rmse_forecast);
  r.spread_f = time_mean(r.spread_forecast);
  const double timed = static_cast<double>(std::max<std::int64_t>(1, timed_cycles));
  r.forecast_seconds_per_cycle = seconds.forecast / timed;
  r.analysis_seconds_per_cycle = seconds.analysis / timed;
  return out;
}

}  // namespace assim::filter
