// `run: assimilate`: solves the assimilation problems of an observe stage
// with a sampler: for each window and seed an ensemble of posterior samples,
// scored against the truth frame by frame in the observe stage's units (the
// papers' RMSE of one sample, averaged over the samples; the RMSE of the
// ensemble mean; the spread; the fair CRPS; the truth's rank histogram). A learned prior
// or a learned estimator is loaded from the train stage that fitted it. A window whose sampler
// diverges is recorded as diverged with its step, not scored.
#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>
#include <assim/progress.hpp>
#include <assim/sampler.hpp>
#include <assim/shape.hpp>
#include <assim/workers.hpp>

#include "stages/assimilate.hpp"
#include "stages/assimilate_checks.hpp"
#include "run/counted.hpp"
#include "run/items.hpp"
#include "science/cycle.hpp"
#include "products/products.hpp"
#include "science/scores.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <tuple>

namespace assim {

namespace {

using assimilate::WindowOutcome;
using assimilate::Windows;
using assimilate::write_result;

// The posterior samples of window w, seed s, scored against the truth; a
// window whose sampler diverges is an outcome, not a failure.
WindowOutcome solve(const Windows& job, std::int64_t w, std::int64_t s, const Ranks& team, const Ranks& ranks) {
  // Over several ranks each says what it works on: a rank that dies is then found at its window.
  if (ranks.size() > 1) log::info("assimilate: window ", w, ", seed ", s);
  // The cost of this window and seed, counted through the model and prior the sampler is handed.
  auto evaluations = std::make_shared<Evaluations>();
  const products::ObservationSet& set = job.set;
  AssimilationProblem problem;
  problem.set_state(set.state)
      .set_observation_operator(job.op)
      .set_observations(set.observations[w])
      .set_mask(set.window_mask.defined() ? set.full_mask(w) : job.mask)
      .set_observation_sigma(set.design.sigma)
      .set_observation_law(noise_law(set.design.noise_law))
      .set_climatology(job.climatology)
      .set_evaluations(evaluations);
  if (set.sigma.defined()) problem.set_observation_sigmas(set.sigma[w]);
  if (set.places.defined()) problem.set_observation_places(set.places_in_grid_units());
  if (set.background.defined())
    problem.set_background(set.background[w]).set_background_sigma(set.design.background_sigma);
  if (job.prior) problem.set_prior(counted::prior(job.prior, evaluations));
  StateSpec units = set.state;
  if (set.design.normalised) units.units = "1";
  if (job.model && !job.cycle_filter)
    problem.set_model(products::in_units(counted::model(job.model, evaluations), job.normalisation, units))
        .set_frame_steps(set.frame_steps);
  const std::uint64_t seed = job.seed + static_cast<std::uint64_t>(s) * 1000003ull + static_cast<std::uint64_t>(w);
  WindowOutcome out;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    at::Tensor samples, forecasts;
    if (job.cycle_filter) {
      cycle::Window cycled = cycle::through_window(*job.model, *job.sampler, problem, job.members, seed,
                                                   job.normalisation, set.frame_steps, *evaluations, team);
      samples = cycled.analyses;
      forecasts = cycled.forecasts;
    } else {
      samples = job.sampler->sample(problem, job.members, seed).to(at::kDouble);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!at::isfinite(samples).all().item<bool>()) throw DivergenceError(0, "the sampler returned non-finite samples");
    const at::Tensor truth = set.truth[w];
    scores::FrameScores f = scores::of_frames(samples, truth);
    scores::Climatology climatology_of_window;
    climatology_of_window.add(truth);
    const double limit = climatology_of_window.divergence_limit(job.divergence_factor);
    const at::Tensor beyond = (f.rmse > limit).nonzero();
    if (beyond.size(0) > 0) {
      const auto frame = beyond[0][0].item<std::int64_t>();
      throw DivergenceError(frame, "RMSE " + number_text(f.rmse[frame].item<double>()) + " in frame " +
                                       std::to_string(frame) + " is above divergence_factor x the truth's std (" +
                                       number_text(limit) + ")");
    }
    out.mean = samples.mean(0);
    out.spread = samples.std(0, /*unbiased=*/true);
    out.rmse = f.rmse;
    out.rmse_sample = f.rmse_sample;
    out.ranks = f.ranks;
    out.ensemble_spread = f.spread;
    out.crps = f.crps;
    out.energy = f.energy;
    if (job.keep_samples) out.samples = samples.to(at::kFloat);
    if (forecasts.defined()) {
      out.forecast = forecasts.mean(0);
      if (job.keep_samples) out.forecast_samples = forecasts.to(at::kFloat);
    }
    out.cost = evaluations->cost();
    out.gradient_norm = evaluations->gradient_norm();
  } catch (const DivergenceError& e) {
    if (team.leader()) log::warning("assimilate: window ", w, ", seed ", s, ": ", e.what());
    out = WindowOutcome{};
    out.diverged = e.what();
  } catch (const ConfigError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // Which window failed, whichever worker or rank solved it.
    throw Error("window " + std::to_string(w) + ", seed " + std::to_string(s) + ": " + without_backtrace(e.what()));
  }
  out.model_steps = evaluations->model_steps();
  out.network = evaluations->network();
  return out;
}

// The memory an assimilation holds, refused before it runs where the
// machine has less: mean and spread of every window and seed (float64), the
// samples kept (float32), a cycled filter's forecast mean and kept forecast
// members alike, and the members of each window in flight (one per worker)
// as the sampler works on them.
void check_windows_memory(const Config& config, std::int64_t windows, std::int64_t seeds, std::int64_t members,
                          std::int64_t frames, const std::vector<std::int64_t>& state_sizes, bool forecasts) {
  double per_state = 1;
  for (auto n : state_sizes) per_state *= static_cast<double>(n);
  const double window_states = static_cast<double>(frames) * per_state;
  const double in_flight = static_cast<double>(std::min<std::int64_t>(workers::count(), windows * seeds));
  const double copies = forecasts ? 2 : 1;
  double bytes = (2 + copies - 1) * 8.0 * windows * seeds * window_states +
                 8.0 * 4 * members * window_states * in_flight;
  if (config.get<bool>("keep_samples")) bytes += copies * 4.0 * windows * seeds * members * window_states;
  check_memory(config, "members", bytes,
               std::to_string(windows) + " windows x " + std::to_string(seeds) + " seeds x " +
                   std::to_string(members) + " members of " + std::to_string(frames) + " frames " +
                   shape_text(state_sizes) + ", " + std::to_string(static_cast<int>(in_flight)) +
                   " window(s) in flight (--workers)");
}

class Assimilate : public Stage {
 public:
  std::string name() const override { return "assimilate"; }
  std::string doc() const override {
    return "sample the posterior of every window of an observe stage and score it against the truth";
  }
  Parameters parameters() const override {
    Parameters p;
    p.stage("observations", "the observe stage whose windows are assimilated").one_of({"observe"});
    p.component("operator", Kind::ObservationOperator,
                "H: the operator the observe stage used, which is taken when this is left out").optional();
    p.component("sampler", Kind::Sampler, "the posterior sampler (sampler.sda, sampler.soad, ...)");
    p.component("prior", Kind::Prior, "the prior score-based samplers use").optional();
    p.stage("trained_by", "the train stage that fitted the learned prior or the learned sampler (sampler.estimator)")
        .one_of({"train"})
        .optional();
    p.component("model", Kind::Model, "the model of the window's dynamics, for a sampler that analyses a forecast "
                "ensemble (sampler.enkf, cycled through the window) or integrates the window itself (sampler.var4d); "
                "its grid must be the observations' grid").optional();
    p.stage("climatology", "for a sampler whose B comes from a climatology (sampler.var4d with a background_covariance "
            "other than scalar): the generate stage whose every frame is a climatological state, taken in the "
            "observations' units (the training data of the learned methods, for a like-for-like comparison)")
        .one_of({"generate"})
        .optional();
    p.integer("members", 8, "", "posterior samples per window").at_least(1);
    p.integer("windows", 0, "", "windows to assimilate, from the first; 0: all").at_least(0);
    p.integer("seeds", 1, "", "independent repetitions per window, seeds seed, seed + 1, ...").at_least(1);
    p.real("divergence_factor", 10, "",
           "a window whose RMSE in some frame exceeds this multiple of the truth's standard deviation over the "
           "window is recorded as diverged, not scored (a climatological guess scores about 1.4)")
        .above(0);
    p.boolean("keep_samples", false, "also write every sample (large), not only mean and spread");
    p.string("out", "assimilation.nc", "", "file name of the result").output_name();
    return p;
  }

  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    assimilate_checks::check(config, inputs);
  }

  bool spreads() const override { return true; }
  // Every window's and seed's random streams are its own, so the first
  // window's first seed alone is the same numbers as in the whole run.
  Part cheapest_part() const override { return {{{"windows", 1}, {"seeds", 1}}, {"window", "seed"}}; }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    const StageInput& source = context.input("observations");
    const products::ObservationSet set = products::read_observations(source);
    auto op = assimilate_checks::operator_of(config, source, set);
    auto sampler = config.component<Sampler>("sampler");
    if (sampler->learned()) sampler->load(context.input("trained_by").folder);
    if (set.sigma.defined() && !sampler->needs().observation_sigmas)
      config.fail("sampler", "stage '" + config.reference("observations") + "' holds observations whose errors differ "
                  "(ObsError of its file), and sampler '" + config.reference("sampler") + "' takes one sigma for all; "
                  "the samplers that take an error per observation: sampler.enkf, sampler.var4d");
    std::shared_ptr<Prior> prior = prior_of(context);

    const at::Tensor mask = set.full_mask();  // (L, obs...)
    const at::Tensor& truth = set.truth;       // (W, L, state...)
    std::shared_ptr<Model> model;
    if (config.has("model")) {
      model = config.component<Model>("model");
      if (!set.background.defined()) config.fail("model", assimilate_checks::needs_background);
      if (model->state_spec().shape() != set.state.shape())
        config.fail("model", "the model's states do not have the shape of the observed states");
    }
    const products::Normalisation normalisation(set.scale, set.state);
    std::optional<at::Tensor> climatology;
    if (config.has("climatology")) {
      const products::Dataset states = products::read_dataset(context.input("climatology"));
      if (states.spec.shape() != set.state.shape())
        config.fail("climatology", "stage '" + config.reference("climatology") + "' holds states " +
                                       shape_text(states.spec.shape()) + ", not the observed " +
                                       shape_text(set.state.shape()));
      std::vector<std::int64_t> flat = {states.samples * states.frames};
      for (auto n : set.state.shape()) flat.push_back(n);
      climatology = normalisation.normalise(states.states().reshape(flat), 1).contiguous();
      log::info("climatology: ", flat[0], " states of stage '", config.reference("climatology"), "'");
    }

    const std::int64_t available = set.observations.size(0);
    const std::int64_t windows = config.get<std::int64_t>("windows") == 0
                                     ? available
                                     : std::min(available, config.get<std::int64_t>("windows"));
    const auto members = config.get<std::int64_t>("members");
    // A filter is cycled through the window with the model; 4D-Var integrates it itself.
    const bool cycle_filter = model && sampler->needs().forecast;
    const auto seeds = config.get<std::int64_t>("seeds");
    const std::int64_t frames = truth.size(1);
    const auto state_sizes = set.state.shape();
    check_windows_memory(config, windows, seeds, members, frames, state_sizes, cycle_filter);

    const Windows job{set,         op,      sampler,   prior,   model, normalisation, climatology, mask, members,
                      seeds,       context.seed(), cycle_filter, config.get<double>("divergence_factor"),
                      config.get<bool>("keep_samples")};
    // Item k = w x seeds + s. A filter cycled through the window shares its
    // members' forecasts and local analyses out among a team of ranks when
    // there are fewer items than ranks; other samplers solve an item alone.
    const std::vector<WindowOutcome> outcomes = items::map<WindowOutcome>(
        context.ranks(), {"assimilate", "window", windows * seeds, cycle_filter},
        [&](std::int64_t k, const Ranks& team) { return solve(job, k / seeds, k % seeds, team, context.ranks()); });
    if (!context.ranks().leader()) return;

    write_result(context, job, outcomes, windows);
  }

 private:
  // The prior, loaded from the train stage that fitted it when it is learned.
  static std::shared_ptr<Prior> prior_of(const StageContext& context) {
    const Config& config = context.config();
    if (!config.has("prior")) return nullptr;
    auto prior = config.component<Prior>("prior");
    if (!prior->learned()) return prior;
    if (!config.has("trained_by"))
      config.fail("prior", "prior '" + config.reference("prior") +
                               "' is learned: name the train stage that fitted it with trained_by: $stage");
    const StageInput& trainer = context.input("trained_by");
    if (trainer.settings.reference("prior") != config.reference("prior"))
      config.fail("trained_by", "stage '" + trainer.name + "' fitted $" + trainer.settings.reference("prior") +
                                    ", not $" + config.reference("prior"));
    prior->load(trainer.folder);
    return prior;
  }
};

}  // namespace

std::unique_ptr<Stage> make_assimilate_stage() { return std::make_unique<Assimilate>(); }

}  // namespace assim
