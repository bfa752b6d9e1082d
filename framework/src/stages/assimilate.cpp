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

// What the sampler takes besides the observations, in words, for the tables.
// On one-frame windows a variational sampler (3D-Var) or a filter analyses
// the background alone: it integrates no model and differentiates none.
std::string needs_text(const SamplerNeeds& needs, bool learned, bool learned_prior, std::int64_t frames) {
  std::vector<std::string> parts;
  if (frames == 1 && (needs.differentiable_model || needs.forecast)) {
    parts.push_back("background (one-frame window: no model)");
  } else {
    if (needs.differentiable_model) parts.push_back("model + adjoint");
    if (needs.forecast) parts.push_back("model (forecasts)");
  }
  if (needs.climatology) parts.push_back("climatology");
  if (needs.prior) parts.push_back(learned_prior ? "trained prior" : "prior");
  if (learned) parts.push_back("training pairs");
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : ", ") + p;
  return text.empty() ? "observations only" : text;
}

const char* needs_background =
    "a filter cycled through the window starts from the background: give the observe stage a background: {sigma: ...}";

// A filter through the window: the background ensemble analysed at frame 0,
// then forecast and analysed frame by frame. (members, L, state...)
at::Tensor cycled(const Model& model, const Sampler& filter, const AssimilationProblem& window,
                         std::int64_t members, std::uint64_t seed, const products::Normalisation& normalisation,
                         std::int64_t frame_steps, Evaluations& evaluations, const Ranks& team) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::int64_t> shape = window.background->sizes().vec();
  shape.insert(shape.begin(), members);
  at::Tensor ensemble = window.background->unsqueeze(0) +
                        window.background_sigma * at::randn(shape, generator, at::TensorOptions().dtype(at::kDouble));
  std::vector<at::Tensor> analyses;
  cycle::Seconds seconds;
  for (std::int64_t f = 0; f < window.observations.size(0); ++f) {
    AssimilationProblem frame = window;
    frame.observations = window.observations.slice(0, f, f + 1);
    frame.mask = window.mask.slice(0, f, f + 1);
    if (f > 0) evaluations.model_steps += members * frame_steps;
    ensemble = cycle::advance(model, filter, ensemble, f > 0 ? frame_steps : 0, frame,
                              cycle::analysis_seed(seed, f), &normalisation, seconds, team)
                   .analysis;
    analyses.push_back(ensemble);
  }
  return at::stack(analyses, 1);
}

// What one window and seed gave, as it crosses workers and ranks to the
// leader: its scores and fields, or why it diverged; and what it cost.
struct WindowOutcome {
  std::string diverged;  // empty: scored
  double seconds = 0;
  at::Tensor mean, spread, rmse, rmse_sample, ranks, ensemble_spread, crps, samples;
  std::vector<double> cost, gradient_norm;
  std::int64_t model_steps = 0, network = 0;

  void pack(Packer& out) const {
    out.text(diverged).real(seconds);
    for (const at::Tensor* t : {&mean, &spread, &rmse, &rmse_sample, &ranks, &ensemble_spread, &crps, &samples})
      out.tensor(*t);
    out.reals(cost).reals(gradient_norm).integer(model_steps).integer(network);
  }
  static WindowOutcome unpack(Unpacker& in) {
    WindowOutcome o;
    o.diverged = in.text();
    o.seconds = in.real();
    for (at::Tensor* t : {&o.mean, &o.spread, &o.rmse, &o.rmse_sample, &o.ranks, &o.ensemble_spread, &o.crps,
                          &o.samples})
      *t = in.tensor();
    o.cost = in.reals();
    o.gradient_norm = in.reals();
    o.model_steps = in.integer();
    o.network = in.integer();
    return o;
  }
};

// What every window and seed shares: read once, only read by the items.
struct Windows {
  const products::ObservationSet& set;
  std::shared_ptr<const ObservationOperator> op;
  std::shared_ptr<const Sampler> sampler;
  std::shared_ptr<const Prior> prior;
  std::shared_ptr<Model> model;
  const products::Normalisation& normalisation;
  const std::optional<at::Tensor>& climatology;
  at::Tensor mask;  // (L, obs...)
  std::int64_t members, seeds;
  std::uint64_t seed;
  bool cycle_filter;  // a filter cycled through the window with the model; 4D-Var integrates it itself
  double divergence_factor;
  bool keep_samples;
};

// The posterior samples of window w, seed s, scored against the truth; a
// window whose sampler diverges is an outcome, not a failure.
WindowOutcome solve(const Windows& job, std::int64_t w, std::int64_t s, const Ranks& team, const Ranks& ranks) {
  // Over several ranks each says what it works on: a rank that dies is then found at its window.
  if (ranks.size() > 1) log::info("assimilate: window ", w, ", seed ", s);
  // The cost of this window and seed, counted through the model and prior the sampler is handed.
  auto evaluations = std::make_shared<Evaluations>();
  const products::ObservationSet& set = job.set;
  AssimilationProblem problem;
  problem.state = set.state;
  problem.observation_operator = job.op;
  problem.observations = set.observations[w];
  problem.mask = job.mask;
  problem.observation_sigma = set.sigma;
  problem.observation_law = noise_law(set.noise_law);
  if (set.background) {
    problem.background = (*set.background)[w];
    problem.background_sigma = set.background_sigma;
  }
  if (job.prior) problem.prior = counted::prior(job.prior, evaluations);
  problem.climatology = job.climatology;
  problem.evaluations = evaluations;
  StateSpec units = set.state;
  if (set.normalised) units.units = "1";
  if (job.model && !job.cycle_filter) {
    problem.model = products::in_units(counted::model(job.model, evaluations), job.normalisation, units);
    problem.frame_steps = set.frame_steps;
  }
  const std::uint64_t seed = job.seed + static_cast<std::uint64_t>(s) * 1000003ull + static_cast<std::uint64_t>(w);
  WindowOutcome out;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    at::Tensor samples = job.cycle_filter ? cycled(*job.model, *job.sampler, problem, job.members, seed,
                                                   job.normalisation, set.frame_steps, *evaluations, team)
                                          : job.sampler->sample(problem, job.members, seed).to(at::kDouble);
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
    if (job.keep_samples) out.samples = samples.to(at::kFloat);
    out.cost = evaluations->cost;
    out.gradient_norm = evaluations->gradient_norm;
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
  out.model_steps = evaluations->model_steps;
  out.network = evaluations->network;
  return out;
}

// The result's fields and scores, every window and seed in place (NaN where
// one diverged), and a minimiser's iterations, in window and seed order.
products::AssimilationResult assemble(const Windows& job, const std::vector<WindowOutcome>& outcomes,
                                      std::int64_t windows) {
  const products::ObservationSet& set = job.set;
  products::AssimilationResult result;
  result.state = set.state;
  if (set.normalised) result.state.units = "1";
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
  result.ranks = at::full({windows, seeds, job.members + 1}, NAN, at::kDouble);
  result.truth = set.truth.slice(0, 0, windows);
  if (job.keep_samples) {
    std::vector<std::int64_t> kept = {windows, seeds, job.members, frames};
    kept.insert(kept.end(), state_sizes.begin(), state_sizes.end());
    result.samples = at::full(kept, NAN, at::kFloat);
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
    if (result.samples.defined()) result.samples[w][s] = o.samples;
    for (std::size_t i = 0; i < o.cost.size(); ++i) {
      result.cost[w][s][static_cast<std::int64_t>(i)] = o.cost[i];
      result.gradient_norm[w][s][static_cast<std::int64_t>(i)] = o.gradient_norm[i];
    }
  }
  return result;
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
    const Config& observe = inputs.at("observations");
    same_operator(config, observe);
    // Routed by what the sampler declares it needs.
    const SamplerNeeds needs = config.component<Sampler>("sampler")->needs();
    const std::string sampler = "sampler '" + config.reference("sampler") + "'";
    if (needs.prior && !config.has("prior"))
      config.fail("sampler", sampler + " samples from a prior: give prior: $name (and trained_by: $stage when it is learned)");
    if (!needs.prior && config.has("prior")) config.fail("prior", sampler + " uses no prior");
    if (needs.forecast && !config.has("model"))
      config.fail("sampler", sampler + " analyses a forecast ensemble: give model: $name, the model it is cycled "
                             "with through the window");
    if (needs.differentiable_model && !config.has("model"))
      config.fail("sampler", sampler + " integrates the window through the model: give model: $name");
    cycle::check_differentiable(config, needs);
    if (!needs.forecast && !needs.differentiable_model && config.has("model"))
      config.fail("model", sampler + " samples the whole window from its prior; it uses no model");
    if (needs.climatology && !config.has("climatology"))
      config.fail("sampler", sampler + " takes B from a climatology: give climatology: $stage, a generate stage "
                             "of climatological states (the training data)");
    if (!needs.climatology && config.has("climatology"))
      config.fail("climatology", sampler + " takes no climatology");
    if (needs.deterministic && config.get<std::int64_t>("members") != 1)
      config.fail("members", sampler + " is deterministic (one estimate per window): give members: 1");
    if (config.component<Sampler>("sampler")->learned()) {
      if (!config.has("trained_by"))
        config.fail("sampler", sampler + " is learned: name the train stage that fitted it with trained_by: $stage");
      const Config& trainer = inputs.at("trained_by");
      if (!trainer.has("sampler") || trainer.reference("sampler") != config.reference("sampler"))
        config.fail("trained_by", "stage '" + config.reference("trained_by") + "' fitted " +
                                      (trainer.has("sampler") ? "$" + trainer.reference("sampler")
                                                              : "prior $" + trainer.reference("prior")) +
                                      ", not $" + config.reference("sampler"));
      if (inputs.count("trained_by.design")) same_design(config, inputs);
    } else if (config.has("trained_by") && !config.has("prior")) {
      config.fail("trained_by", sampler + " learns nothing and uses no learned prior: leave trained_by out");
    }
    if (config.get<std::int64_t>("members") < needs.min_members)
      config.fail("members", sampler + " needs at least " + std::to_string(needs.min_members) + " members");
    if (needs.forecast && !observe.section("background").has("sigma")) config.fail("model", needs_background);
    if (needs.differentiable_model && !observe.section("background").has("sigma"))
      config.fail("sampler", sampler + " minimises from a background of frame 0: give the observe stage "
                             "background: {sigma: ...}");
    if (inputs.count("trained_by")) same_scale(config, observe, inputs.at("trained_by"));
    const Config& data = inputs.at("observations.data");
    const StateSpec state = products::generated_spec(data);
    if (config.has("prior")) {
      const std::vector<std::int64_t> prior_window = config.component<Prior>("prior")->window_shape();
      std::vector<std::int64_t> observed = {products::window_frames(observe, data)};
      for (auto n : state.shape()) observed.push_back(n);
      if (!prior_window.empty() && prior_window != observed)
        config.fail("prior", "prior '" + config.reference("prior") + "' is over windows " + shape_text(prior_window) +
                                 "; stage '" + config.reference("observations") + "' observes windows " +
                                 shape_text(observed) + " (frames, state dims)");
    }
    if (needs.observation_channels > 0) {
      // The sampler's own reading: the first of several observation dims is the channel.
      std::vector<std::int64_t> out;
      bool observable = true;
      try {
        out = observe.component<ObservationOperator>("operator")->output_shape(state.shape());
      } catch (const std::exception&) {
        observable = false;  // the observe stage refuses the operator, with its reason
      }
      if (observable && (out.size() < 2 || out[0] != needs.observation_channels))
        config.fail("sampler", sampler + " has a setting per observation channel (channel_gamma) for " +
                                   std::to_string(needs.observation_channels) + " channels; stage '" +
                                   config.reference("observations") + "' observes " + shape_text(out) +
                                   (out.size() < 2 ? ", one channel" : ", " + std::to_string(out[0]) + " channels"));
    }
    if (needs.climatology && config.has("climatology")) {
      const Config& climate = inputs.at("climatology");
      const std::int64_t states = climate.get<std::int64_t>("trajectories") * climate.get<std::int64_t>("frames") *
                                  climate.get<std::int64_t>("pieces");
      if (states < 2)
        config.fail("climatology", "stage '" + config.reference("climatology") + "' holds " + std::to_string(states) +
                                       " state (trajectories x frames x pieces); a covariance takes at least 2");
    }
  }

  bool spreads() const override { return true; }
  // Every window's and seed's random streams are its own, so the first
  // window's first seed alone is the same numbers as in the whole run.
  Part cheapest_part() const override { return {{{"windows", 1}, {"seeds", 1}}, {"window", "seed"}}; }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    const StageInput& source = context.input("observations");
    auto op = observation_operator(config, source);
    auto sampler = config.component<Sampler>("sampler");
    if (sampler->learned()) sampler->load(context.input("trained_by").folder);
    const products::ObservationSet set = products::read_observations(source);
    std::shared_ptr<Prior> prior = prior_of(context);

    const at::Tensor mask = set.full_mask();  // (L, obs...)
    const at::Tensor& truth = set.truth;       // (W, L, state...)
    std::shared_ptr<Model> model;
    if (config.has("model")) {
      model = config.component<Model>("model");
      if (!set.background) config.fail("model", needs_background);
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
    {
      double per_state = 1;
      for (auto n : state_sizes) per_state *= static_cast<double>(n);
      const double window_states = static_cast<double>(frames) * per_state;
      // Mean and spread of every window and seed (float64), the samples kept
      // (float32), and the members of each window in flight (one per worker)
      // as the sampler works on them.
      const double in_flight = static_cast<double>(std::min<std::int64_t>(workers::count(), windows * seeds));
      double bytes = 2 * 8.0 * windows * seeds * window_states + 8.0 * 4 * members * window_states * in_flight;
      if (config.get<bool>("keep_samples")) bytes += 4.0 * windows * seeds * members * window_states;
      check_memory(config, "members", bytes,
                   std::to_string(windows) + " windows x " + std::to_string(seeds) + " seeds x " +
                       std::to_string(members) + " members of " + std::to_string(frames) + " frames " +
                       shape_text(state_sizes) + ", " + std::to_string(static_cast<int>(in_flight)) +
                       " window(s) in flight (--workers)");
    }

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

    // The result, on the leader only.
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
      evaluations.model_steps += o.model_steps;
      evaluations.network += o.network;
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
    result.attributes.add("model_steps_per_window", static_cast<double>(evaluations.model_steps) / attempts);
    result.attributes.add("network_evaluations_per_window", static_cast<double>(evaluations.network) / attempts);
    result.attributes.add("needs", needs_text(sampler->needs(), sampler->learned(), prior && prior->learned(), frames));
    result.attributes.add("training_seconds",
                          config.has("trained_by") ? std::max(0.0, context.input("trained_by").seconds) : 0.0);
    for (const auto& s : status) result.status = (result.status == "ok" ? "" : result.status + "; ") + s;
    for (const auto& [key, value] : context.settings_of("sampler")) result.attributes.setting("sampler_" + key, value);
    // The observation design travels with the result, for tables and figures over settings.
    for (const auto& [key, value] : set.operator_settings.text)
      if (key == "operator_type") result.attributes.add(key, value);
    result.attributes.add("noise_law", set.noise_law);
    result.attributes.add("normalised", set.normalised ? "true" : "false");
    result.attributes.add("mask_design", set.mask_design);
    result.attributes.add("observation_sigma", set.sigma);
    result.attributes.add("every", static_cast<double>(set.every));
    result.attributes.add("mask_fraction", set.mask_fraction);
    if (set.background) result.attributes.add("background_sigma", set.background_sigma);
    result.attributes.add("observations_stage", source.name);
    products::write_assimilation(context.output() / config.get<std::string>("out"), result);
    log::info("assimilated ", windows, " windows x ", seeds, " seeds: RMSE per sample ",
              at::nanmean(result.rmse_sample).item<double>(), ", of the mean ", at::nanmean(result.rmse).item<double>(),
              ", spread ", at::nanmean(result.ensemble_spread).item<double>(), ", CRPS ",
              at::nanmean(result.crps).item<double>(), ", ", result.seconds_per_window, " s per window; ",
              result.diverged, " diverged");
  }

 private:
  // The operator the observe stage used; one named here must be that very component.
  static void same_operator(const Config& config, const Config& observe) {
    if (config.has("operator") && config.reference("operator") != observe.reference("operator"))
      config.fail("operator", "component '" + config.reference("operator") + "' is not the operator stage '" +
                                  config.reference("observations") + "' observed with ('" +
                                  observe.reference("operator") + "'); leave operator out to take the observe stage's");
  }
  static std::shared_ptr<const ObservationOperator> observation_operator(const Config& config,
                                                                         const StageInput& source) {
    same_operator(config, source.settings);
    return source.settings.component<ObservationOperator>("operator");
  }

  // A learned estimator takes the observations, their mask and the background
  // as they came through the design it was trained on: another operator or a
  // missing background it cannot use at all, and states of another shape do
  // not fit its network. Another noise or window length it can still be
  // applied to, out of the distribution it learned (a robustness test is a
  // meaningful experiment), so that is said, not refused.
  static void same_design(const Config& config, const std::map<std::string, Config>& inputs) {
    const Config& observe = inputs.at("observations");
    const Config& design = inputs.at("trained_by.design");
    const SamplerNeeds needs = config.component<Sampler>("sampler")->needs();
    const std::string estimator = "sampler '" + config.reference("sampler") + "'";
    const std::string trained =
        estimator + " was trained through stage '" + inputs.at("trained_by").reference("design") + "'";
    if (design.reference("operator") != observe.reference("operator"))
      config.fail("observations", trained + ", which observes through '" + design.reference("operator") +
                                      "'; stage '" + config.reference("observations") + "' observes through '" +
                                      observe.reference("operator") + "'");
    if (needs.background && !observe.section("background").has("sigma"))
      config.fail("observations", estimator + " takes a background of frame 0 as an input, but stage '" +
                                      config.reference("observations") + "' draws none: give it background: "
                                      "{sigma: ...}");
    const std::vector<std::int64_t> shape = products::generated_spec(inputs.at("observations.data")).shape();
    if (!needs.state_shape.empty() && needs.state_shape != shape)
      config.fail("sampler", estimator + " has state_shape " + shape_text(needs.state_shape) + ", but stage '" +
                                 config.reference("observations") + "' observes states " + shape_text(shape));
    const auto noise = [](const Config& stage) {
      const Config n = stage.section("noise");
      return n.get<std::string>("law") + " noise sigma " + number_text(n.get<double>("sigma"));
    };
    const auto window = [](const Config& stage, const Config& data) {
      return "windows of " + std::to_string(products::window_frames(stage, data)) + " frames observed every " +
             std::to_string(stage.get<std::int64_t>("every"));
    };
    const std::string learned = noise(design) + ", " + window(design, inputs.at("trained_by.design.data"));
    const std::string applied = noise(observe) + ", " + window(observe, inputs.at("observations.data"));
    if (learned != applied)
      log::warning(config.where("observations"), ": ", config.path("observations"), ": ", trained, " (", learned,
                   ") and is applied to stage '", config.reference("observations"), "' (", applied,
                   "): out of the distribution it learned");
  }

  // A learned prior or estimator knows the units of its training data only:
  // the train stage divides the states by that data's per-channel std, so the
  // observations must be normalised by the same std (observe's scale_from),
  // or the sampler's y, background and H(x) channels disagree with what it
  // learned by the ratio of the two (a few per cent move arctan's and sin's argument).
  static void same_scale(const Config& config, const Config& observe, const Config& trainer) {
    const std::string trained_on = trainer.reference("data");
    const std::string fix = "give the observe stage '" + config.reference("observations") +
                            "' normalise: true, scale_from: $" + trained_on;
    if (!observe.get<bool>("normalise"))
      config.fail("trained_by", "stage '" + config.reference("trained_by") + "' trained on states divided by the std "
                                    "of stage '" + trained_on + "', but the observations are not normalised: " + fix);
    const std::string scaled_by = observe.has("scale_from") ? observe.reference("scale_from") : observe.reference("data");
    if (scaled_by != trained_on)
      config.fail("trained_by", "stage '" + config.reference("trained_by") + "' trained on states divided by the std "
                                    "of stage '" + trained_on + "', but the observations are divided by that of stage '" +
                                    scaled_by + "': " + fix);
  }

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
