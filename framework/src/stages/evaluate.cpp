// `run: evaluate`: puts assimilation runs side by side. For each run, in the
// units the runs were scored in: the papers' RMSE of one posterior sample
// (sqrt of the mean over channels and grid of the squared error), averaged
// over samples, frames, windows and seeds, and apart for frame 0 (pinned by a
// background) and the later frames; the RMSE of the ensemble mean and its
// spread over seeds; the ensemble spread and the spread-skill ratio with the
// (M + 1) / M factor (1: calibrated); the fair CRPS and energy score; the
// climatology sqrt(mean truth^2) (~1 for states divided by their std); the
// power spectrum of the analysis mean and of one sample over the truth's
// (science/spectrum.hpp: smoothed small scales show below 1); and the
// observation-space diagnostics (science/observation_space.hpp) of each run
// against the observations it assimilated, through its observe stage's
// operator, mask, assumed noise and units; and, given `forecast`, free
// forecasts from each run's analysis scored against the truth's
// continuation per lead (science/forecast.hpp). Written as NetCDF and as a
// plain table.
#include <assim/error.hpp>
#include <assim/framework/duration.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/memory.hpp>
#include <assim/shape.hpp>
#include <assim/write_file.hpp>

#include "products/evaluation.hpp"
#include "products/products.hpp"
#include "products/schema.hpp"
#include "science/forecast.hpp"
#include "science/observation_space.hpp"
#include "science/scores.hpp"
#include "science/spectrum.hpp"
#include "stages/assimilate_checks.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace assim {

namespace {

using products::Evaluation;

// Each score's standard error over windows and seeds, run by run, by the
// score's name (those with Score::with_error).
using Errors = std::map<std::string, std::vector<double>>;

// The standard error of a score's mean over windows and seeds: the standard
// deviation of its per-(window, seed) means over the frames, over the square
// root of their number; NaN with fewer than two.
double standard_error(const at::Tensor& values) {  // (window, seed, time)
  const at::Tensor cells = at::nanmean(values, 2).flatten();
  const at::Tensor kept = cells.masked_select(~at::isnan(cells));
  if (kept.numel() < 2) return NAN;
  return kept.std().item<double>() / std::sqrt(static_cast<double>(kept.numel()));
}

// `values` (leading..., observation dims...) as (leading..., channel, point):
// the operator's channel dims and the grid's each flattened.
at::Tensor by_channel(const at::Tensor& values, std::int64_t leading, std::int64_t channels) {
  std::vector<std::int64_t> shape(values.sizes().begin(), values.sizes().begin() + leading);
  shape.push_back(channels);
  shape.push_back(-1);
  return values.reshape(shape);
}

// A run's observation-space diagnostics: its analysis (and forecast, for a
// filter cycled through the window; else the observe stage's background at
// frame 0) through the operator its assimilate stage applied, against the
// observations it assimilated.
observation_space::Diagnostics observation_diagnostics_of(const StageInput& run,
                                                          const products::AssimilationResult& result,
                                                          const products::ObservationSet& set,
                                                          at::Generator& generator) {
  const auto op = assimilate_checks::operator_of(run.settings, run.input("observations"), set);
  const std::int64_t frames = set.observations.size(1);
  const auto observation_rank = static_cast<std::int64_t>(set.observation_dims.size());
  const auto grid = static_cast<std::int64_t>(set.point_dims().size());
  std::int64_t channels = 1;
  for (std::int64_t d = 0; d + grid < observation_rank; ++d) channels *= set.observations.size(2 + d);
  const auto observed = [&](const at::Tensor& states, std::int64_t leading) {
    return by_channel(op->apply(states.to(at::kDouble).contiguous()), leading, channels);
  };
  observation_space::Accumulator sums(channels, frames, result.members, result.design.sigma,
                                      noise_law(result.design.noise_law));
  const std::int64_t windows = result.mean.size(0), seeds = result.mean.size(1);
  for (std::int64_t w = 0; w < windows; ++w)
    for (std::int64_t s = 0; s < seeds; ++s) {
      observation_space::Departures d;
      d.observations = by_channel(set.observations[w], 1, channels);
      d.mask = by_channel(set.full_mask(w) > 0, 1, channels);
      if (set.sigma.defined()) d.sigma = by_channel(set.sigma[w], 1, channels);
      d.analysis = observed(result.mean[w][s], 1);
      if (result.samples.defined()) d.analysis_members = observed(result.samples[w][s], 2);
      if (result.forecast.defined()) {
        d.background = observed(result.forecast[w][s], 1);
        if (result.forecast_samples.defined()) d.background_members = observed(result.forecast_samples[w][s], 2);
      } else if (set.background.defined()) {
        // The observe stage's background is at frame 0: no background at the later frames.
        d.background = at::full_like(d.analysis, NAN);
        d.background[0] = observed(set.background[w].unsqueeze(0), 1)[0];
      }
      sums.add(d, generator);
    }
  return sums.result();
}

// The diagnostics of every run, each (run, ...) tensor padded with NaN past
// a run's own channels or ranks.
void put_observation_diagnostics(Evaluation& ev, const std::vector<observation_space::Diagnostics>& runs) {
  const auto stacked = [&](auto field) {
    std::int64_t width = 0;
    for (const auto& d : runs) width = std::max(width, (d.*field).size(0));
    at::Tensor out = at::full({static_cast<std::int64_t>(runs.size()), width}, NAN, at::kDouble);
    for (std::size_t r = 0; r < runs.size(); ++r)
      out[static_cast<std::int64_t>(r)].slice(0, 0, (runs[r].*field).size(0)).copy_(runs[r].*field);
    return out;
  };
  using D = observation_space::Diagnostics;
  ev.count_oa = stacked(&D::count_oa);
  ev.oma_bias = stacked(&D::oma_bias);
  ev.oma_rms = stacked(&D::oma_rms);
  ev.oma_rms_member = stacked(&D::oma_rms_member);
  ev.count_ob = stacked(&D::count_ob);
  ev.omb_bias = stacked(&D::omb_bias);
  ev.omb_rms = stacked(&D::omb_rms);
  ev.desroziers_r = stacked(&D::desroziers_r);
  ev.desroziers_b = stacked(&D::desroziers_b);
  ev.chi2 = stacked(&D::chi2);
  ev.dfs = stacked(&D::dfs);
  ev.dfs_fraction = stacked(&D::dfs_fraction);
  ev.oma_rms_per_frame = stacked(&D::oma_rms_frame);
  ev.omb_rms_per_frame = stacked(&D::omb_rms_frame);
  ev.obs_rank_histogram_a = stacked(&D::ranks_a);
  ev.obs_rank_histogram_b = stacked(&D::ranks_b);
  for (const auto& d : runs) {
    ev.obs_spread_a.push_back(d.spread_a);
    ev.obs_rmse_a.push_back(d.rmse_a);
    ev.obs_calibration_a.push_back(d.calibration_a);
    ev.obs_spread_b.push_back(d.spread_b);
    ev.obs_rmse_b.push_back(d.rmse_b);
    ev.obs_calibration_b.push_back(d.calibration_b);
  }
}

// The free forecasts of evaluate's `forecast` (science/forecast.hpp): its
// model, seen in the units the runs were scored in, and the lead in frames of
// the truth.
struct Forecasting {
  std::shared_ptr<const Model> model;
  forecast::Lead lead;
};

// The lead of `forecast` over the truth a run's observe stage read; refused,
// naming forecast.lead, where the model's time or steps do not fit the
// truth's frames.
forecast::Lead lead_over(const Config& forecast, const Model& model, const StateSpec& truth, std::int64_t frame_steps) {
  try {
    return forecast::lead_of(forecast.get<std::string>("lead"), model.state_spec(),
                             static_cast<double>(frame_steps) * truth.time_step, truth.time_units);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    forecast.fail("lead", e.what());
  }
}

// Refuses, naming forecast.lead, a lead that runs past the truth: the
// window ending at frame `last` of its sample (of `frames`) of run `run`
// would need frames up to last + lead.
void check_truth_extends(const Config& forecast, const forecast::Lead& lead, std::int64_t last, std::int64_t frames,
                         const std::string& run, const std::string& truth) {
  if (last + lead.frames < frames) return;
  forecast.fail("lead", "a forecast of " + std::to_string(lead.frames) + " frames from the end of a window of run '" +
                            run + "' (frame " + std::to_string(last) + " of its sample) needs " +
                            std::to_string(last + lead.frames + 1) + " frames per sample of the truth, and stage '" +
                            truth + "' has " + std::to_string(frames) +
                            ": give it more frames, assimilate fewer windows, or forecast a shorter lead");
}

// A run's forecast scores against lead: every member of the analysis at each
// window's last frame (its mean where the samples were not kept) integrated
// by the forecast model and scored as the analyses are (science/scores) on
// the truth's frames that follow the window in its sample, where the
// observe stage cut it (window_sample, window_start). (window, seed, lead)
// each, NaN for a diverged window or forecast.
struct ForecastScores {
  at::Tensor rmse, crps;
  std::int64_t members = 1;
};

ForecastScores forecast_scores_of(const Config& forecast, const Forecasting& forecasting, const StageInput& run,
                                  const products::AssimilationResult& result, const products::ObservationSet& set) {
  const StageInput& data = run.input("observations").input("data");
  const products::Dataset truth = products::read_dataset(data);
  const products::Normalisation normalisation(set.scale, set.state);
  check_memory(forecast, "model", 8.0 * static_cast<double>(c10::multiply_integers(truth.shape())),
               "reading the truth of stage '" + data.name + "', " + shape_text(truth.shape()) + " float64 values");
  const at::Tensor states = truth.states();  // (sample, time, state...)
  const std::int64_t windows = result.mean.size(0), seeds = result.mean.size(1), frames = result.mean.size(2);
  const forecast::Lead& lead = forecasting.lead;
  ForecastScores out;
  out.members = result.samples.defined() ? result.samples.size(2) : 1;
  out.rmse = at::full({windows, seeds, lead.frames + 1}, NAN, at::kDouble);
  out.crps = out.rmse.clone();
  for (std::int64_t w = 0; w < windows; ++w) {
    const std::int64_t last = set.window_start[static_cast<std::size_t>(w)] + frames - 1;
    check_truth_extends(forecast, lead, last, truth.frames, run.name, data.name);
    const std::int64_t sample = set.window_sample[static_cast<std::size_t>(w)];
    const at::Tensor continuation = normalisation.normalise(states[sample].slice(0, last, last + lead.frames + 1), 1);
    // The window as the run scored it is where the continuation starts.
    if (!at::allclose(continuation[0], result.truth[w][frames - 1], 1e-6, 1e-9))
      throw Error("internal: the truth's frame " + std::to_string(last) + " of sample " + std::to_string(sample) +
                  " of stage '" + data.name +
                  "' is not the last frame of window " + std::to_string(w) + " of run '" + run.name + "'");
    for (std::int64_t s = 0; s < seeds; ++s) {
      const at::Tensor start = result.samples.defined() ? result.samples[w][s].select(1, frames - 1)
                                                        : result.mean[w][s][frames - 1].unsqueeze(0);
      if (!at::isfinite(start).all().item<bool>()) continue;  // a diverged window
      try {
        const scores::FrameScores scored =
            scores::of_frames(forecast::free_forecast(*forecasting.model, start, lead), continuation);
        out.rmse[w][s] = scored.rmse;
        out.crps[w][s] = scored.crps;
      } catch (const DivergenceError& e) {
        log::warning("evaluate: the forecast from window ", w, ", seed ", s, " of run '", run.name, "' diverged (",
                     e.what(), "): not scored");
      }
    }
  }
  return out;
}

// A run's power per wavenumber against the truth's, over the windows and
// seeds it scored (a diverged one's mean is NaN) and their frames: the
// truth's power, the analysis mean's and one member's (NaN without the
// samples).
struct Spectra {
  at::Tensor truth, mean, sample;  // (wavenumber)
};

Spectra spectra_of(const products::AssimilationResult& result) {
  const at::Tensor truth = result.truth.unsqueeze(1).expand_as(result.mean).flatten(0, 2);
  const at::Tensor mean = result.mean.flatten(0, 2);  // (window x seed x time, state...)
  const at::Tensor scored = ~at::isnan(mean.flatten(1)).any(1);
  Spectra s;
  s.truth = spectrum::power(truth.index({scored}), result.state);
  s.mean = spectrum::power(mean.index({scored}), result.state);
  s.sample = result.samples.defined()
                 ? spectrum::power(result.samples.select(2, 0).flatten(0, 2).index({scored}), result.state)
                 : at::full_like(s.truth, NAN);
  return s;
}

// Every run's scores, read from its result; runs of other window lengths or
// units are refused.
Evaluation gather(const StageContext& context, Errors& errors) {
  const Config& config = context.config();
  const auto inputs = context.inputs("of");
  const auto runs = static_cast<std::int64_t>(inputs.size());
  Evaluation ev;
  std::vector<at::Tensor> per_frame, sample_per_frame;
  std::vector<observation_space::Diagnostics> observation_diagnostics;
  std::vector<at::Tensor> power_truth, spectral_ratio, spectral_ratio_sample, forecast_rmse, forecast_crps;
  const Config forecast = config.section("forecast");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(context.seed());
  std::int64_t frames = -1;
  for (std::int64_t r = 0; r < runs; ++r) {
    const products::AssimilationResult result = products::read_assimilation_fields(*inputs[r]);
    ev.runs.push_back(inputs[r]->name);
    ev.samplers.push_back(result.sampler.type);
    const at::Tensor& e = result.rmse;  // (window, seed, time)
    if (frames >= 0 && e.size(2) != frames)
      config.fail("of", "runs have windows of different lengths (" + std::to_string(frames) + " and " +
                            std::to_string(e.size(2)) + " frames)");
    if (r > 0 && result.state.units != ev.units)
      config.fail("of", "runs are scored in different units ('" + ev.units + "' and '" + result.state.units +
                            "'): observe all of them with the same normalise setting");
    frames = e.size(2);
    ev.units = result.state.units;
    const at::Tensor& sample = result.rmse_sample;
    ev.rmse_sample.push_back(at::nanmean(sample).item<double>());
    ev.rmse_sample_frame0.push_back(at::nanmean(sample.select(2, 0)).item<double>());
    ev.rmse_sample_later.push_back(frames > 1 ? at::nanmean(sample.slice(2, 1)).item<double>() : NAN);
    const at::Tensor by_seed = at::nanmean(e, at::IntArrayRef{0, 2});
    ev.rmse.push_back(by_seed.mean().item<double>());
    // A spread over seeds needs two seeds: with one it is absent, not 0.
    ev.rmse_seed_std.push_back(by_seed.numel() > 1 ? by_seed.std().item<double>() : NAN);
    per_frame.push_back(at::nanmean(e, at::IntArrayRef{0, 1}));
    sample_per_frame.push_back(at::nanmean(sample, at::IntArrayRef{0, 1}));
    const double spread = at::nanmean(result.ensemble_spread).item<double>();
    ev.spread.push_back(spread);
    ev.calibration.push_back(scores::calibration(spread, ev.rmse.back(), static_cast<double>(result.members)));
    ev.crps.push_back(at::nanmean(result.crps).item<double>());
    const at::Tensor energy = result.energy.defined() ? result.energy : at::full_like(result.crps, NAN);
    ev.energy_score.push_back(at::nanmean(energy).item<double>());
    ev.climatology.push_back(result.truth.pow(2).mean().sqrt().item<double>());
    ev.seconds_per_window.push_back(result.seconds_per_window);
    ev.diverged.push_back(static_cast<double>(result.diverged));
    ev.model_steps_per_window.push_back(result.model_steps_per_window);
    ev.network_evaluations_per_window.push_back(result.network_evaluations_per_window);
    ev.training_seconds.push_back(result.training_seconds);
    ev.needs.push_back(result.needs);
    // Per window, seed and frame, by the score each is the mean of.
    const std::map<std::string, const at::Tensor*> series = {
        {"rmse_sample", &sample}, {"rmse", &e}, {"spread", &result.ensemble_spread}, {"crps", &result.crps}, {"energy_score", &energy}};
    for (const auto& score : products::evaluation_scores(ev))
      if (score.with_error) {
        const auto it = series.find(score.variable.name);
        if (it == series.end()) throw Error("internal: evaluate has no series of " + score.variable.name);
        errors[score.variable.name].push_back(standard_error(*it->second));
      }
    const products::ObservationSet set = products::read_observations(inputs[r]->input("observations"));
    observation_diagnostics.push_back(observation_diagnostics_of(*inputs[r], result, set, generator));
    if (forecast.has("model")) {
      const products::Normalisation normalisation(set.scale, set.state);
      const Forecasting forecasting{products::in_units(forecast.component<Model>("model"), normalisation, result.state),
                                    lead_over(forecast, *forecast.component<Model>("model"), set.state, set.frame_steps)};
      const ForecastScores scored = forecast_scores_of(forecast, forecasting, *inputs[r], result, set);
      forecast_rmse.push_back(at::nanmean(scored.rmse, at::IntArrayRef{0, 1}));
      forecast_crps.push_back(at::nanmean(scored.crps, at::IntArrayRef{0, 1}));
      ev.forecast_members.push_back(static_cast<double>(scored.members));
      if (r == 0) {
        for (std::int64_t k = 0; k <= forecasting.lead.frames; ++k)
          ev.lead.push_back(static_cast<double>(k * set.frame_steps) * set.state.time_step);
        ev.lead_units = set.state.time_units;
      }
    }
    // Runs on grids of different sizes (a resolution sweep) have their
    // spectra padded with NaN past their own highest wavenumber.
    if (spectrum::defined_for(result.state)) {
      const Spectra s = spectra_of(result);
      power_truth.push_back(s.truth);
      spectral_ratio.push_back(spectrum::ratio(s.mean, s.truth));
      spectral_ratio_sample.push_back(spectrum::ratio(s.sample, s.truth));
      if (const at::Tensor k = spectrum::wavenumbers(result.state);
          k.numel() > static_cast<std::int64_t>(ev.wavenumber.size()))
        ev.wavenumber.assign(k.data_ptr<double>(), k.data_ptr<double>() + k.numel());
      ev.spectral_ratio_small.push_back(spectrum::small_scale_ratio(s.mean, s.truth));
      ev.spectral_ratio_small_sample.push_back(spectrum::small_scale_ratio(s.sample, s.truth));
    } else {
      for (auto* spectra : {&power_truth, &spectral_ratio, &spectral_ratio_sample}) spectra->emplace_back();
      ev.spectral_ratio_small.push_back(NAN);
      ev.spectral_ratio_small_sample.push_back(NAN);
    }
  }
  put_observation_diagnostics(ev, observation_diagnostics);
  if (!ev.wavenumber.empty()) {
    const auto stacked = [&](const std::vector<at::Tensor>& spectra) {
      at::Tensor out = at::full({runs, static_cast<std::int64_t>(ev.wavenumber.size())}, NAN, at::kDouble);
      for (std::int64_t r = 0; r < runs; ++r)
        if (spectra[static_cast<std::size_t>(r)].defined())
          out[r].slice(0, 0, spectra[static_cast<std::size_t>(r)].size(0)).copy_(spectra[static_cast<std::size_t>(r)]);
      return out;
    };
    ev.power_truth = stacked(power_truth);
    ev.spectral_ratio = stacked(spectral_ratio);
    ev.spectral_ratio_sample = stacked(spectral_ratio_sample);
  }
  if (!forecast_rmse.empty()) {
    ev.forecast_rmse = at::stack(forecast_rmse);
    ev.forecast_crps = at::stack(forecast_crps);
  }
  ev.rmse_per_frame = at::stack(per_frame);
  ev.rmse_sample_per_frame = at::stack(sample_per_frame);
  return ev;
}

// A number in `format`, or "-" when it is absent (NaN: a deterministic
// method's spread, a one-frame window's later frames, the spread over one
// seed) or not a number to read (a diverged run's infinity).
std::string cell_text(double value, const char* format) {
  if (!std::isfinite(value)) return "-";
  char cell[64];
  std::snprintf(cell, sizeof cell, format, value);
  return cell;
}

// Rows of cells as text, each column as wide as its widest cell, so that a
// long run or sampler name does not shift the others: the first `names`
// columns left-aligned, the numbers right-aligned.
std::string aligned(const std::vector<std::vector<std::string>>& rows, std::size_t names) {
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string table;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].size(), ' ');
      table += (i == 0 ? "" : " ") + (i < names ? row[i] + pad : pad + row[i]);
    }
    while (!table.empty() && table.back() == ' ') table.pop_back();
    table += "\n";
  }
  return table;
}

// The observation-space diagnostics as plain tables: one row per run and
// channel, then the ensembles' spread-skill and rank histograms.
std::string observation_text(const Evaluation& ev) {
  const auto runs = static_cast<std::int64_t>(ev.runs.size());
  const auto diagnostics = products::observation_diagnostics(ev);
  std::vector<std::vector<std::string>> rows = {{"run", "channel"}};
  for (const auto& c : diagnostics) rows[0].push_back(c.header);
  const auto value = [](const products::Score& c, std::int64_t r, std::int64_t k) {
    return (*std::get<at::Tensor*>(c.variable.field))[r][k].item<double>();
  };
  for (std::int64_t r = 0; r < runs; ++r)
    for (std::int64_t k = 0; k < ev.count_oa.size(1); ++k) {
      if (!(value(diagnostics[0], r, k) >= 0)) continue;  // past the run's channels
      std::vector<std::string> row = {ev.runs[static_cast<std::size_t>(r)], std::to_string(k)};
      for (const auto& c : diagnostics) row.push_back(cell_text(value(c, r, k), c.format.c_str()));
      rows.push_back(row);
    }
  std::string table = "\nIn observation space (d_oa = y - H(x_a), d_ob = y - H(x_b); R_ratio = E[d_oa d_ob] / "
                      "sigma_o^2, B_ratio = E[d_ab d_ob] / HBH^T, Desroziers et al. 2005: 1 when consistent):\n" +
                      aligned(rows, 2);
  const auto scores = products::observation_scores(ev);
  std::vector<std::vector<std::string>> spread = {{"run"}};
  for (const auto& c : scores) spread[0].push_back(c.header);
  for (std::int64_t r = 0; r < runs; ++r) {
    std::vector<std::string> row = {ev.runs[static_cast<std::size_t>(r)]};
    for (const auto& c : scores)
      row.push_back(cell_text((*std::get<std::vector<double>*>(c.variable.field))[static_cast<std::size_t>(r)],
                              c.format.c_str()));
    spread.push_back(row);
  }
  table += "\nSpread-skill against y of the members perturbed by the assumed noise (_a: analysis, _b: background):\n" +
           aligned(spread, 1);
  for (const auto& [title, histogram] : {std::pair{"analysis", &ev.obs_rank_histogram_a},
                                         std::pair{"background", &ev.obs_rank_histogram_b}}) {
    table += std::string("\nRank of y among the perturbed ") + title + " members (counts, ranks 0..M):\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += ev.runs[static_cast<std::size_t>(r)] + ":";
      for (std::int64_t k = 0; k < histogram->size(1); ++k)
        if (const double n = (*histogram)[r][k].item<double>(); !std::isnan(n) || k == 0)
          table += " " + cell_text(n, "%.0f");
      table += "\n";
    }
  }
  return table;
}

// The forecasts' scores against lead, one row per run and score; none
// without evaluate's forecast.
std::string forecast_text(const Evaluation& ev) {
  if (ev.lead.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{"run", "score", "members"}};
  for (const double lead : ev.lead) rows[0].push_back(cell_text(lead, "%.6g"));
  for (std::size_t r = 0; r < ev.runs.size(); ++r)
    for (const auto& [name, scores] : {std::pair{"rmse_mean", &ev.forecast_rmse}, std::pair{"crps", &ev.forecast_crps}}) {
      std::vector<std::string> row = {ev.runs[r], name, cell_text(ev.forecast_members[r], "%.0f")};
      for (std::int64_t k = 0; k < scores->size(1); ++k)
        row.push_back(cell_text((*scores)[static_cast<std::int64_t>(r)][k].item<double>(), "%.4g"));
      rows.push_back(row);
    }
  return "\nFree forecasts from each analysis at the window's last frame against the truth's continuation, by lead "
         "(in time units '" + ev.lead_units + "'; members: forecast per window, 1: the analysis mean), units " +
         ev.units + ":\n" +
         aligned(rows, 2);
}

// The evaluation as a plain table, with what each run takes, its RMSE per
// frame and its observation-space diagnostics.
std::string table_text(const Evaluation& ev) {
  const auto runs = static_cast<std::int64_t>(ev.runs.size());
  const std::int64_t frames = ev.rmse_per_frame.size(1);
  const auto scores = products::evaluation_scores(ev);
  std::vector<std::vector<std::string>> rows = {{"run", "sampler"}};
  for (const auto& c : scores) rows[0].push_back(c.header);
  for (std::int64_t r = 0; r < runs; ++r) {
    std::vector<std::string> row = {ev.runs[r], ev.samplers[r]};
    for (const auto& c : scores)
      row.push_back(cell_text((*std::get<std::vector<double>*>(c.variable.field))[static_cast<std::size_t>(r)],
                              c.format.c_str()));
    rows.push_back(row);
  }
  std::string table = aligned(rows, 2);
  table += "\nrmse: one sample's, the papers' metric; rmse_mean: the ensemble mean's; units " + ev.units + "\n";
  table += "\nWhat each takes besides the observations:\n";
  for (std::int64_t r = 0; r < runs; ++r) table += ev.runs[r] + ": " + ev.needs[static_cast<std::size_t>(r)] + "\n";
  for (const auto& [title, series] : {std::pair{"RMSE of one sample per frame:", &ev.rmse_sample_per_frame},
                                      std::pair{"RMSE of the mean per frame:", &ev.rmse_per_frame}}) {
    table += std::string("\n") + title + "\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += ev.runs[r] + ":";
      for (std::int64_t f = 0; f < frames; ++f) table += " " + cell_text((*series)[r][f].item<double>(), "%.4f");
      table += "\n";
    }
  }
  if (!ev.wavenumber.empty()) {
    table += "\nPower of the analysis mean over the truth's per wavenumber (1: the truth's energy; below 1: "
             "smoothed), wavenumbers";
    for (const double k : ev.wavenumber) table += " " + cell_text(k, "%.0f");
    table += ":\n";
    for (std::int64_t r = 0; r < runs; ++r) {
      table += ev.runs[r] + ":";
      for (std::int64_t k = 0; k < ev.spectral_ratio.size(1); ++k)
        table += " " + cell_text(ev.spectral_ratio[r][k].item<double>(), "%.3f");
      table += "\n";
    }
  }
  return table + forecast_text(ev) + observation_text(ev);
}

// A coordinate's text as a number, if it is one (the schema's reading of a number).
bool number_of(const std::string& text, double& value) { return products::schema::is_number(text, value); }

// The shortest text that reads back as `value`.
std::string shortest(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

// The sweep the runs of `of:` were made over: its dimensions, each run's
// coordinates (run by run; "" where a run was not made over a dimension),
// and the element of `of:` each was made from.
struct Sweep {
  std::vector<std::string> dims, values, templates;
  bool any() const { return !dims.empty(); }
  const std::string& at(std::size_t run, std::size_t dim) const { return values[run * dims.size() + dim]; }
  bool whole(std::size_t run) const {
    for (std::size_t d = 0; d < dims.size(); ++d)
      if (at(run, d).empty()) return false;
    return true;
  }
};

// The dimension of the element of `of:` a run was made from.
const std::string template_dim = "template";

Sweep sweep_of(const Config& config) {
  const Config section = config.section("sweep");
  Sweep sweep{section.get<std::vector<std::string>>("dims"), section.get<std::vector<std::string>>("values"),
              section.get<std::vector<std::string>>("templates")};
  sweep.templates.resize(sweep.values.size() / std::max<std::size_t>(1, sweep.dims.size()));
  // A dimension of numbers has each written alike (1, 1.0 and 1e0 are one value).
  for (std::size_t d = 0; d < sweep.dims.size(); ++d) {
    bool numbers = true;
    double value = 0;
    for (std::size_t r = 0; r < sweep.templates.size(); ++r)
      numbers = numbers && (sweep.at(r, d).empty() || number_of(sweep.at(r, d), value));
    for (std::size_t r = 0; numbers && r < sweep.templates.size(); ++r)
      if (!sweep.at(r, d).empty() && number_of(sweep.at(r, d), value))
        sweep.values[r * sweep.dims.size() + d] = shortest(value);
  }
  // Runs made from several elements at the same values ([$a_<r>, $b_<r>])
  // are told apart by a first dimension, the element each was made from.
  std::set<std::vector<std::string>> cells;
  bool shared = false;
  for (std::size_t r = 0; r < sweep.templates.size() && !shared; ++r)
    if (sweep.whole(r))
      shared = !cells
                    .emplace(sweep.values.begin() + static_cast<std::ptrdiff_t>(r * sweep.dims.size()),
                             sweep.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * sweep.dims.size()))
                    .second;
  std::set<std::string> templates(sweep.templates.begin(), sweep.templates.end());
  if (shared && templates.size() > 1) {
    std::vector<std::string> values;
    for (std::size_t r = 0; r < sweep.templates.size(); ++r) {
      values.push_back(sweep.whole(r) ? sweep.templates[r] : "");
      for (std::size_t d = 0; d < sweep.dims.size(); ++d) values.push_back(sweep.at(r, d));
    }
    sweep.dims.insert(sweep.dims.begin(), template_dim);
    sweep.values = std::move(values);
  }
  return sweep;
}

// The scores over the sweep's dimensions: each dimension's values as
// numbers in ascending order where all are numbers, else as labels in the
// order the runs list them (the order declared under sweeps:); a run
// without a value of every dimension is left out.
products::SweepEvaluation collect(const Evaluation& ev, const Errors& errors, const Sweep& sweep) {
  products::SweepEvaluation out;
  out.units = ev.units;
  const std::size_t runs = ev.runs.size();
  std::vector<std::vector<std::string>> seen(sweep.dims.size());
  for (std::size_t r = 0; r < runs; ++r) {
    if (!sweep.whole(r)) {
      std::string dims;
      for (const auto& d : sweep.dims) dims += (dims.empty() ? "" : ", ") + d;
      log::info("evaluate: run '", ev.runs[r], "' has no value of every dimension of the sweep (", dims,
                "): it is in evaluation.nc, not in the sweep's file");
      continue;
    }
    for (std::size_t d = 0; d < sweep.dims.size(); ++d)
      if (std::find(seen[d].begin(), seen[d].end(), sweep.at(r, d)) == seen[d].end())
        seen[d].push_back(sweep.at(r, d));
  }
  std::vector<std::int64_t> shape;
  for (std::size_t d = 0; d < sweep.dims.size(); ++d) {
    products::SweepDimension dim;
    dim.name = sweep.dims[d];
    double value = 0;
    const bool numbers =
        std::all_of(seen[d].begin(), seen[d].end(), [&](const auto& t) { return number_of(t, value); });
    if (numbers)
      std::stable_sort(seen[d].begin(), seen[d].end(), [](const std::string& a, const std::string& b) {
        double x = 0, y = 0;
        number_of(a, x);
        number_of(b, y);
        return x < y;
      });
    for (const auto& text : seen[d]) {
      if (numbers && number_of(text, value)) dim.numbers.push_back(value);
      else dim.labels.push_back(text);
    }
    shape.push_back(static_cast<std::int64_t>(seen[d].size()));
    out.dims.push_back(std::move(dim));
  }
  out.run_index = at::full(shape, -1, at::kInt);
  for (const auto& score : products::evaluation_scores(ev))
    out.scores[score.variable.name] = at::full(shape, NAN, at::kDouble);
  for (const auto& [name, values] : errors) out.errors[name] = at::full(shape, NAN, at::kDouble);
  for (std::size_t r = 0; r < runs; ++r) {
    if (!sweep.whole(r)) continue;
    std::vector<at::indexing::TensorIndex> cell;
    for (std::size_t d = 0; d < sweep.dims.size(); ++d)
      cell.emplace_back(static_cast<std::int64_t>(
          std::find(seen[d].begin(), seen[d].end(), sweep.at(r, d)) - seen[d].begin()));
    out.run_index.index_put_(cell, static_cast<int>(r));
    for (const auto& score : products::evaluation_scores(ev))
      out.scores[score.variable.name].index_put_(cell, (*std::get<std::vector<double>*>(score.variable.field))[r]);
    for (const auto& [name, values] : errors) out.errors[name].index_put_(cell, values[r]);
  }
  return out;
}

class Evaluate : public Stage {
 public:
  std::string name() const override { return "evaluate"; }
  std::string doc() const override {
    return "score assimilation runs side by side: RMSE, spread, calibration, CRPS, energy score, the analysis's power "
           "spectrum against the truth's, in observation space O-A, "
           "O-B, Desroziers's ratios, chi^2, DFS, and free forecasts from each analysis against lead";
  }
  Parameters parameters() const override {
    Parameters p;
    p.stages("of", "the assimilate stages to compare").one_of({"assimilate"});
    p.string("out", "evaluation.nc", "", "file name of the NetCDF result; the table goes beside it as .txt").output_name();
    Parameters sweep;
    sweep.strings("dims", {}, "the dimensions under sweeps: that the runs of `of:` were made over, in the order "
                  "declared; none: no sweep's file");
    sweep.strings("values", {}, "each run's value of each dimension, run by run (a number, or the label of a value "
                  "that is not one; empty: the run was not made over that dimension)");
    sweep.strings("templates", {}, "the element of `of:` each run was made from ($ left out); runs made from "
                  "several are told apart by a first dimension, 'template'");
    p.section("sweep", "the sweep the runs were made over; the sweep's expansion fills it from an `of:` element "
              "that names dimensions ($letkf_r<radius>)", sweep);
    Parameters forecast;
    forecast.component("model", Kind::Model, "the model that forecasts from each run's analysis at its windows' "
                       "last frame (every member kept, else the mean); absent: no forecasts").optional();
    forecast.string("lead", "0 steps", "duration", "how far to forecast, a whole number of the truth's frames "
                    "('3 days', '2', '40 steps'): the truth each run's observe stage cut its windows from must "
                    "extend that far past every window assimilated");
    p.section("forecast", "free forecasts from each run's analysis, scored against the truth's continuation "
              "(RMSE and CRPS against lead)", forecast);
    p.string("sweep_out", "sweep.nc", "", "file name of the scores over the sweep's dimensions (xarray-ready), "
             "written when the runs were made over a sweep").output_name();
    return p;
  }

  // A run's window length is a setting of its observe stage (`window`, or
  // all the frames of its data when 0): runs of different lengths, which
  // cannot be put side by side frame by frame, are refused before any of
  // them trains or samples.
  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    const Config given = config.section("sweep");
    const auto dims = given.get<std::vector<std::string>>("dims");
    if (!dims.empty()) {
      const std::size_t runs = config.count("of"), values = given.get<std::vector<std::string>>("values").size(),
                        templates = given.get<std::vector<std::string>>("templates").size();
      if (values != dims.size() * runs)
        config.fail("sweep", "values holds " + std::to_string(values) + " coordinates, where " +
                                 std::to_string(runs) + " runs over " + std::to_string(dims.size()) +
                                 " dimensions need " + std::to_string(runs * dims.size()));
      if (templates != 0 && templates != runs)
        config.fail("sweep", "templates names " + std::to_string(templates) + " elements for " +
                                 std::to_string(runs) + " runs");
      if (std::find(dims.begin(), dims.end(), template_dim) != dims.end())
        config.fail("sweep", "'" + template_dim + "' names the dimension of the element each run was made from; "
                             "name the sweep's dimension otherwise");
    }
    const Sweep sweep = sweep_of(config);
    if (sweep.any()) {
      const std::size_t runs = config.count("of");
      // One run per cell of the sweep's file.
      std::map<std::vector<std::string>, std::size_t> cells;
      for (std::size_t r = 0; r < runs; ++r) {
        if (!sweep.whole(r)) continue;
        std::vector<std::string> cell(sweep.values.begin() + static_cast<std::ptrdiff_t>(r * sweep.dims.size()),
                                      sweep.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * sweep.dims.size()));
        if (const auto [it, fresh] = cells.emplace(cell, r); !fresh) {
          std::string at;
          for (std::size_t d = 0; d < cell.size(); ++d) at += (d ? ", " : "") + sweep.dims[d] + " = " + cell[d];
          const auto name = [&](std::size_t i) {
            return inputs.at("of[" + std::to_string(i) + "]").path().substr(std::string("stages.").size());
          };
          config.fail("of", "runs '" + name(it->second) + "' and '" + name(r) + "' are both at " + at +
                                ": the sweep's file holds one run per cell (evaluate them in stages of their own)");
        }
      }
    }
    check_forecast(config, inputs);
    std::int64_t first_frames = 0;
    std::string first;
    for (std::size_t i = 0; i < config.count("of"); ++i) {
      const std::string run = "of[" + std::to_string(i) + "]";
      const Config& observe = inputs.at(run + ".observations");
      const bool whole = observe.get<std::int64_t>("window") == 0;
      const Config& source = whole ? inputs.at(run + ".observations.data") : observe;
      const std::string key = whole ? "frames" : "window";
      const std::int64_t frames = source.get<std::int64_t>(key);
      const std::string text = "'" + inputs.at(run).path().substr(std::string("stages.").size()) + "' has " +
                               std::to_string(frames) + " (" + source.where(key) + ": " + source.path(key) + ")";
      if (i == 0) {
        first_frames = frames;
        first = text;
      } else if (frames != first_frames) {
        config.fail("of", "runs have windows of different lengths, in frames: " + first + ", " + text);
      }
    }
  }

  // The forecast model must integrate the truth's states, its lead must be
  // whole frames of the truth, and the truth must extend past the last
  // frame of every window assimilated by the lead: refused before anything
  // runs. A window's place in its sample is the observe stage's cut
  // (observe.cpp): from frame 1 after a forecast background, else 0,
  // consecutive windows of `window` frames.
  static void check_forecast(const Config& config, const std::map<std::string, Config>& inputs) {
    const Config forecast = config.section("forecast");
    if (!forecast.has("model")) return;
    const auto model = forecast.component<Model>("model");
    std::int64_t first_lead = 0;
    for (std::size_t i = 0; i < config.count("of"); ++i) {
      const std::string run = "of[" + std::to_string(i) + "]";
      const Config& assimilate = inputs.at(run);
      const Config& observe = inputs.at(run + ".observations");
      const Config& generate = inputs.at(run + ".observations.data");
      const auto name = [](const Config& stage) { return stage.path().substr(std::string("stages.").size()); };
      const StateSpec truth = products::generated_spec(generate);
      if (model->state_spec().shape() != truth.shape())
        forecast.fail("model", "its states " + shape_text(model->state_spec().shape()) + " are not the truth's " +
                                   shape_text(truth.shape()) + " (stage '" + name(generate) + "', read by run '" +
                                   name(assimilate) + "')");
      std::int64_t frame_steps = 0;
      try {
        frame_steps = steps_in(generate.get<std::string>("sample_every"), truth.time_step, truth.time_units);
      } catch (const Error&) {
        return;  // generate's own check names its sample_every
      }
      const forecast::Lead lead = lead_over(forecast, *model, truth, frame_steps);
      // One lead coordinate for every run: their truths' frames the same time apart.
      if (i == 0) first_lead = lead.frames;
      else if (lead.frames != first_lead)
        forecast.fail("lead", "is " + std::to_string(first_lead) + " frames of the truth of run '" +
                                  inputs.at("of[0]").path().substr(std::string("stages.").size()) + "' and " +
                                  std::to_string(lead.frames) + " of run '" + name(assimilate) +
                                  "': evaluate runs whose truths' frames are as far apart");
      const std::int64_t frames = generate.get<std::int64_t>("frames");
      const std::int64_t window = products::window_frames(observe, generate);
      const std::int64_t offset = observe.section("background").has("model") ? 1 : 0;
      const std::int64_t per_sample = (frames - offset) / window;
      const std::int64_t assimilated = assimilate.get<std::int64_t>("windows");
      const std::int64_t last_in_sample = assimilated == 0 ? per_sample : std::min(per_sample, assimilated);
      check_truth_extends(forecast, lead, offset + last_in_sample * window - 1, frames, name(assimilate),
                          name(generate));
    }
  }

  void run(StageContext& context) const override {
    Errors errors;
    const Evaluation evaluation = gather(context, errors);
    const auto path = context.output() / context.config().get<std::string>("out");
    if (const Sweep sweep = sweep_of(context.config()); sweep.any())
      products::write_sweep(context.output() / context.config().get<std::string>("sweep_out"),
                            collect(evaluation, errors, sweep));
    products::write_evaluation(path, evaluation);
    const std::string table = table_text(evaluation);
    auto table_path = path;
    table_path.replace_extension(".txt");
    write_file(table_path, table);
    log::info("evaluation:\n", table);
  }
};

}  // namespace

std::unique_ptr<Stage> make_evaluate_stage() { return std::make_unique<Evaluate>(); }

}  // namespace assim
