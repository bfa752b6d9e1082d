#include "stages/assimilate.hpp"

#include "stages/assimilate_checks.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/log.hpp>

#include <algorithm>
#include <cmath>

namespace assim::assimilate {

products::AssimilationResult assemble(const Windows& job, const std::vector<WindowOutcome>& outcomes,
                                      std::int64_t windows) {
  const products::ObservationSet& set = job.set;
  products::AssimilationResult result;
  result.state = set.state;
  if (set.design.normalised) result.state.units = "1";
  result.members = job.members;
  result.frame_steps = set.frame_steps;
  const std::int64_t seeds = job.seeds, frames = set.truth.size(1);
  const auto state_sizes = set.state.shape();
  std::vector<std::int64_t> shape = {windows, seeds, frames};
  shape.insert(shape.end(), state_sizes.begin(), state_sizes.end());
  result.mean = at::full(shape, NAN, at::kDouble);
  result.spread = at::full(shape, NAN, at::kDouble);
  result.rmse = at::full({windows, seeds, frames}, NAN, at::kDouble);
  result.rmse_sample = result.rmse.clone();
  result.ensemble_spread = result.rmse.clone();
  result.crps = result.rmse.clone();
  result.energy = result.rmse.clone();
  result.ranks = at::full({windows, seeds, job.members + 1}, NAN, at::kDouble);
  result.truth = set.truth.slice(0, 0, windows);
  std::vector<std::int64_t> kept = {windows, seeds, job.members, frames};
  kept.insert(kept.end(), state_sizes.begin(), state_sizes.end());
  if (job.keep_samples) result.samples = at::full(kept, NAN, at::kFloat);
  if (job.cycle_filter) {
    result.forecast = at::full(shape, NAN, at::kDouble);
    if (job.keep_samples) result.forecast_samples = at::full(kept, NAN, at::kFloat);
  }
  std::size_t longest = 0;
  for (const auto& o : outcomes) longest = std::max(longest, o.cost.size());
  if (longest > 0) {
    result.cost = at::full({windows, seeds, static_cast<std::int64_t>(longest)}, NAN, at::kDouble);
    result.gradient_norm = result.cost.clone();
  }
  for (std::int64_t k = 0; k < windows * seeds; ++k) {
    const WindowOutcome& o = outcomes[static_cast<std::size_t>(k)];
    if (!o.diverged.empty()) continue;
    const std::int64_t w = k / seeds, s = k % seeds;
    result.mean[w][s] = o.mean;
    result.spread[w][s] = o.spread;
    result.rmse[w][s] = o.rmse;
    result.rmse_sample[w][s] = o.rmse_sample;
    result.ranks[w][s] = o.ranks;
    result.ensemble_spread[w][s] = o.ensemble_spread;
    result.crps[w][s] = o.crps;
    result.energy[w][s] = o.energy;
    if (result.samples.defined()) result.samples[w][s] = o.samples;
    if (result.forecast.defined()) result.forecast[w][s] = o.forecast;
    if (result.forecast_samples.defined()) result.forecast_samples[w][s] = o.forecast_samples;
    for (std::size_t i = 0; i < o.cost.size(); ++i) {
      result.cost[w][s][static_cast<std::int64_t>(i)] = o.cost[i];
      result.gradient_norm[w][s][static_cast<std::int64_t>(i)] = o.gradient_norm[i];
    }
  }
  return result;
}

void write_result(StageContext& context, const Windows& job, const std::vector<WindowOutcome>& outcomes,
                  std::int64_t windows) {
  const Config& config = context.config();
  const StageInput& source = context.input("observations");
  const products::ObservationSet& set = job.set;
  const std::int64_t seeds = job.seeds, frames = set.truth.size(1);
  const auto& sampler = job.sampler;
  const auto& prior = job.prior;
  products::AssimilationResult result = assemble(job, outcomes, windows);
  result.observations_digest = file_digest(source.product);
  std::vector<std::string> status;
  Evaluations evaluations;
  double seconds = 0;
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    const WindowOutcome& o = outcomes[k];
    if (!o.diverged.empty())
      status.push_back("window " + std::to_string(k / seeds) + " seed " + std::to_string(k % seeds) + ": " +
                       o.diverged);
    seconds += o.seconds;
    evaluations.add_model_steps(o.model_steps);
    evaluations.add_network(o.network);
  }
  result.diverged = static_cast<std::int64_t>(status.size());
  // Nothing to score: a stage failure, not one more divergence (which would
  // name a step that no longer means anything across windows).
  if (result.diverged == windows * seeds)
    throw Error("all " + std::to_string(result.diverged) + " assimilations (windows x seeds) diverged; first: " +
                status.front());
  const auto scored = std::max<std::int64_t>(1, windows * seeds - result.diverged);
  result.seconds_per_window = seconds / static_cast<double>(scored);
  // What the method costs and takes, for the comparison tables (Li & Liu's two families side by side).
  const double attempts = static_cast<double>(windows * seeds);
  result.model_steps_per_window = static_cast<double>(evaluations.model_steps()) / attempts;
  result.network_evaluations_per_window = static_cast<double>(evaluations.network()) / attempts;
  result.needs = assimilate_checks::needs_text(sampler->needs(), sampler->learned(), prior && prior->learned(), frames);
  result.training_seconds = config.has("trained_by") ? std::max(0.0, context.input("trained_by").seconds) : 0.0;
  for (const auto& s : status) result.status = (result.status == "ok" ? "" : result.status + "; ") + s;
  for (const auto& [key, value] : context.settings_of("sampler")) result.settings.setting("sampler_" + key, value);
  result.design = set.design;
  result.observations_stage = source.name;
  products::write_assimilation(context.output() / config.get<std::string>("out"), result);
  log::info("assimilated ", windows, " windows x ", seeds, " seeds: RMSE per sample ",
            at::nanmean(result.rmse_sample).item<double>(), ", of the mean ", at::nanmean(result.rmse).item<double>(),
            ", spread ", at::nanmean(result.ensemble_spread).item<double>(), ", CRPS ",
            at::nanmean(result.crps).item<double>(), ", ", result.seconds_per_window, " s per window; ",
            result.diverged, " diverged");
}

}  // namespace assim::assimilate
