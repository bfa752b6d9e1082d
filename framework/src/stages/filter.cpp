// `run: filter`: a cycling twin experiment. A truth run is observed every
// cycle; an ensemble is forecast with the model (all members in one batch)
// and analysed by the sampler; RMSE and spread of forecast and analysis are
// recorded per cycle. rmse.a follows DAPPER's convention: the time mean,
// after the burn-in, of the spatial RMS of (ensemble mean - truth). A run
// whose ensemble stops being finite, or whose model diverges, is reported as
// diverged with its cycle and left out of the means; so is one whose rmse.a
// exceeds divergence_factor x the truth's std (a collapsed filter, no better
// than the climatology).
#include <assim/error.hpp>
#include <assim/framework/duration.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/observation_design.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/workers.hpp>
#include <assim/memory.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/progress.hpp>
#include <assim/sampler.hpp>
#include <assim/shape.hpp>

#include "stages/filter.hpp"
#include "run/items.hpp"
#include "science/cycle.hpp"
#include "products/filter_result.hpp"
#include "products/products.hpp"
#include "science/scores.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace assim {

namespace {

using filter::RepetitionOutcome;
using filter::Repetitions;
using filter::Summary;
using filter::summarise;

class Filter : public Stage {
 public:
  std::string name() const override { return "filter"; }
  std::string doc() const override {
    return "cycle forecast and analysis against a truth run; RMSE and spread per cycle";
  }
  Parameters parameters() const override {
    Parameters observe;
    observe.string("law", "gaussian", "", "distribution of the observation noise (all zero-mean with std sigma); "
                   "an EnKF's analysis assumes Gaussian noise of that std, sampler.particle weighs by the law itself").one_of(noise_law_names());
    observe.real("sigma", 1.0, "state units", "std of the observation noise (R = sigma^2 I)").above(0);
    observe.real("random", 1.0, "", "fraction of points observed, drawn once").above(0).at_most(1);
    observe.integer("stride", 1, "grid points", "observe every stride-th point along each spatial dim").at_least(1);
    Parameters p;
    p.component("model", Kind::Model, "the model of the truth and of the forecasts");
    p.component("sampler", Kind::Sampler, "the analysis (sampler.enkf)");
    p.component("operator", Kind::ObservationOperator, "the observation operator H");
    p.integer("members", 20, "", "ensemble size (the sampler says how few it takes: 2 for an EnKF, 1 for 4D-Var)")
        .at_least(1);
    p.integer("window", 0, "observation times",
              "a sliding 4D-Var window (DAPPER's Lag): each analysis controls the state `window` observation times "
              "back and fits the newest observation through the model (the older ones are already in that state), "
              "then the window slides by one observation time; rmse.a is taken at its end; 0 = analyse each "
              "observation time from the forecast (EnKF, 3D-Var)")
        .at_least(0);
    p.integer("climatology_samples", 10000, "states",
              "for a sampler whose B comes from the climatology: states of an independent free run of the model, "
              "one per cycle after burn_in cycles of spin-up (successive states are correlated: on Lorenz-96, "
              "3D-Var's rmse.a over 5 x 5,000 cycles was 0.424 with 2,000, 0.412 with 10,000)")
        .at_least(2);
    p.integer("cycles", 1000, "", "analysis cycles").at_least(1);
    p.string("cycle_length", "1 step", "duration", "time between analyses ('1 step', '1 day')");
    p.integer("burn_in", 0, "cycles", "cycles left out of the time means").at_least(0);
    p.integer("repetitions", 1, "", "independent runs, with seeds seed, seed + 1, ...").at_least(1);
    p.real("divergence_factor", 1, "",
           "a repetition whose rmse.a exceeds this multiple of the truth's standard deviation over the same cycles "
           "(the climatology: its mean scores about 1, a climatological draw about 1.4) is reported as diverged, "
           "not averaged")
        .above(0);
    p.section("observations", "how the truth is observed each cycle", observe);
    p.string("out", "filter.nc", "", "file name of the result").output_name();
    return p;
  }

  // The cycle length in steps and the observation shape, checked.
  struct Plan {
    std::int64_t steps;
    std::vector<std::int64_t> obs_shape;
  };
  Plan plan(const Config& config) const {
    auto model = config.component<Model>("model");
    auto op = config.component<ObservationOperator>("operator");
    StateSpec spec = model->state_spec();
    if (config.get<std::int64_t>("burn_in") >= config.get<std::int64_t>("cycles"))
      config.fail("burn_in", "leaves no cycle to average over");
    Plan out{};
    try {
      out.steps = steps_in(config.get<std::string>("cycle_length"), spec.time_step, spec.time_units);
    } catch (const Error& e) {
      config.fail("cycle_length", e.what());
    }
    if (out.steps < 1) config.fail("cycle_length", "must be at least one time step");
    try {
      out.obs_shape = op->output_shape(spec.shape());
    } catch (const std::exception& e) {
      config.fail("operator", std::string("cannot observe the model's states: ") + e.what());
    }
    return out;
  }

  // The observed grid: the trailing dims of an observation, one per spatial dim of the state.
  static std::vector<std::int64_t> grid_of(const Config& config, const Plan& plan) {
    const StateSpec spec = config.component<Model>("model")->state_spec();
    const std::size_t spatial = std::min(products::grid_rank(spec), plan.obs_shape.size());
    return std::vector<std::int64_t>(plan.obs_shape.end() - static_cast<std::ptrdiff_t>(spatial), plan.obs_shape.end());
  }

  void check(const Config& config, const std::map<std::string, Config>&) const override {
    const Plan checked = plan(config);
    design::check_stride(config.section("observations"), grid_of(config, checked));
    const SamplerNeeds needs = config.component<Sampler>("sampler")->needs();
    const std::string sampler = "sampler '" + config.reference("sampler") + "'";
    if (needs.prior)
      config.fail("sampler", sampler + " samples from a learned prior over windows; a filter cycles a forecast "
                             "ensemble (sampler.enkf) or a variational analysis (sampler.var4d)");
    if (!needs.forecast && !needs.differentiable_model)
      config.fail("sampler", sampler + " analyses neither a forecast ensemble (sampler.enkf) nor a window through "
                             "the model (sampler.var4d)");
    cycle::check_differentiable(config, needs);
    if (config.get<std::int64_t>("window") > 0 && !needs.differentiable_model)
      config.fail("window", sampler + " analyses one observation time from the forecast; a window takes a "
                            "variational sampler (sampler.var4d)");
    const StateSpec spec = config.component<Model>("model")->state_spec();
    const std::size_t spatial = products::grid_rank(spec);
    if (needs.local && (spatial == 0 || spatial > 2))
      config.fail("sampler", sampler + " localises on the grid, but model '" + config.reference("model") +
                                 "' has " + std::to_string(spatial) + " spatial dims (it needs 1 or 2): use method: etkf");
    // A filter draws no background of its own: B comes from the free run of
    // climatology_samples or from the sampler's own sigma_b.
    if (needs.background_sigma)
      config.fail("sampler", sampler + " takes B from the background's sigma (background_covariance: scalar), which a "
                             "filter has none of: give it its own (background_sigma: ..., B = background_scale x "
                             "background_sigma^2 I) or background_covariance: climatology (B from "
                             "climatology_samples states of a free run), diagonal or spectral");
    // Each cycle holds the ensemble a few times over (forecast, analysis, the
    // model's working copies: QG keeps about ten), once per repetition in
    // flight (one per worker), and a B from the climatology holds its free
    // run's states.
    double state_bytes = 8;
    for (auto n : spec.shape()) state_bytes *= static_cast<double>(n);
    const auto members = config.get<std::int64_t>("members");
    const auto in_flight = std::min<std::int64_t>(workers::count(), config.get<std::int64_t>("repetitions"));
    check_memory(config, "members", 16 * static_cast<double>(members * in_flight) * state_bytes,
                 std::to_string(members) + " members of states " + shape_text(spec.shape()) + ", " +
                     std::to_string(in_flight) + " repetition(s) in flight (--workers)");
    if (needs.climatology) {
      const auto samples = config.get<std::int64_t>("climatology_samples");
      check_memory(config, "climatology_samples", 2 * static_cast<double>(samples) * state_bytes,
                   std::to_string(samples) + " climatological states " + shape_text(spec.shape()));
    }
    if (config.get<std::int64_t>("members") < needs.min_members)
      config.fail("members", "sampler '" + config.reference("sampler") + "' needs at least " +
                                 std::to_string(needs.min_members) + " members");
  }

  // States of an independent free run (its own seed), one per cycle after
  // burn_in cycles of spin-up, for a B taken from the climatology.
  static at::Tensor climatology(const Model& model, const Config& config, std::int64_t steps, std::uint64_t seed) {
    const auto samples = config.get<std::int64_t>("climatology_samples");
    auto run = model.start(model.initial_state(1, 2 * seed + 1000003ull));
    run->advance(steps * std::max<std::int64_t>(1, config.get<std::int64_t>("burn_in")));
    std::vector<at::Tensor> states;
    for (std::int64_t i = 0; i < samples; ++i) {
      run->advance(steps);
      states.push_back(run->state().squeeze(0).clone());
    }
    return at::stack(states, 0);
  }

  // One repetition's twin experiment: a truth run observed every cycle, an
  // ensemble forecast and analysed; a divergence is its outcome, not a failure.
  RepetitionOutcome repetition(const Repetitions& job, std::int64_t r, const Ranks& team) const {
    const std::uint64_t seed = job.seed + static_cast<std::uint64_t>(r);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const Model& model = *job.model;
    at::Tensor mask = design::mask(job.grid, job.observe.get<double>("random"), job.observe.get<std::int64_t>("stride"),
                                   generator);
    design::check_observes(mask, job.observe, "random");
    std::vector<std::int64_t> view(job.obs_shape.size() - job.grid.size(), 1);
    view.insert(view.end(), job.grid.begin(), job.grid.end());
    const at::Tensor obs_mask = mask.to(at::kDouble).view(view).expand(job.obs_shape).unsqueeze(0).contiguous();

    // Truth and ensemble start from independent draws of the model's initial distribution.
    auto truth = model.start(model.initial_state(1, 2 * seed));
    at::Tensor ensemble = model.initial_state(job.members, 2 * seed + 1);
    AssimilationProblem base;
    base.set_state(job.spec)
        .set_observation_operator(job.op)
        .set_observation_sigma(job.sigma)
        .set_observation_law(job.law)
        .set_model(job.model)
        .set_frame_steps(job.steps);
    if (job.sampler->needs().climatology) base.set_climatology(climatology(model, job.config, job.steps, seed));
    cycle::Sliding sliding(model, *job.sampler, job.window, job.steps);
    scores::Climatology truth_after_burn_in;
    RepetitionOutcome out;
    for (auto* series : {&out.rmse_a, &out.spread_a, &out.rmse_f, &out.spread_f}) series->assign(job.cycles, NAN);
    Progress progress("filter repetition " + std::to_string(r), job.cycles, "cycle");
    try {
      for (std::int64_t c = 0; c < job.cycles; ++c) {
        truth->advance(job.steps);
        const at::Tensor x_true = truth->state().squeeze(0);
        if (c >= job.burn_in) truth_after_burn_in.add(x_true);
        const at::Tensor y =
            (job.op->apply(x_true.unsqueeze(0)) + noise(job.law, job.sigma, obs_mask.sizes(), generator)) * obs_mask;
        AssimilationProblem problem = base;
        problem.set_observations(y.contiguous()).set_mask(obs_mask);
        cycle::Step step;
        if (job.window == 0) {
          step = cycle::advance(model, *job.sampler, ensemble, job.steps, problem, cycle::analysis_seed(seed, c),
                                nullptr, out.seconds, team);
          ensemble = step.analysis;
        } else {
          step = sliding.analyse(ensemble, std::move(problem), obs_mask, c, seed, out.seconds);
        }
        ++out.timed_cycles;
        // The mean's RMSE and the spread only: the pair sums of the CRPS and
        // energy score, unused here, would cost O(M^2) a cycle.
        const auto frame = [&](const at::Tensor& members_of) {
          return scores::of_mean(members_of.unsqueeze(1), x_true.unsqueeze(0));
        };
        const scores::MeanScores f = frame(step.forecast), a = frame(step.analysis);
        out.rmse_f[c] = f.rmse.item<double>();
        out.spread_f[c] = f.spread.item<double>();
        out.rmse_a[c] = a.rmse.item<double>();
        out.spread_a[c] = a.spread.item<double>();
        progress.advance();
        if (!std::isfinite(out.rmse_a[c])) {
          out.status = "diverged at cycle " + std::to_string(c) + " (analysis RMSE " + std::to_string(out.rmse_a[c]) + ")";
          break;
        }
      }
    } catch (const DivergenceError& e) {
      out.status = std::string("diverged: ") + e.what();
    }
    out.truth_std = truth_after_burn_in.std();
    const double limit = truth_after_burn_in.divergence_limit(job.factor);
    const double mean = scores::after_burn_in(out.rmse_a, job.burn_in);
    if (out.status == "ok" && mean > limit)
      out.status = "diverged: rmse.a " + number_text(mean) + " over cycles " + std::to_string(job.burn_in) + ".." +
                   std::to_string(job.cycles) + " is above divergence_factor x the truth's std (" +
                   number_text(limit) + ")";
    if (team.leader() && out.status != "ok") log::warning("filter repetition ", r, " (seed ", seed, ") ", out.status);
    return out;
  }

  bool spreads() const override { return true; }
  // Every repetition's random streams are its own: the first alone is the
  // same numbers as in the whole run.
  Part cheapest_part() const override { return {{{"repetitions", 1}}, {"repetition"}}; }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto model = config.component<Model>("model");
    auto sampler = config.component<Sampler>("sampler");
    auto op = std::shared_ptr<const ObservationOperator>(config.component<ObservationOperator>("operator"));
    StateSpec spec = model->state_spec();
    const auto members = config.get<std::int64_t>("members");
    const auto cycles = config.get<std::int64_t>("cycles");
    const auto burn_in = config.get<std::int64_t>("burn_in");
    const auto repetitions = config.get<std::int64_t>("repetitions");
    const double factor = config.get<double>("divergence_factor");
    const Plan checked = plan(config);
    const std::int64_t steps = checked.steps;
    Config observe = config.section("observations");
    const double sigma = observe.get<double>("sigma");
    auto state_shape = spec.shape();
    const std::vector<std::int64_t>& obs_shape = checked.obs_shape;
    const std::vector<std::int64_t> grid = grid_of(config, checked);

    const std::int64_t window = config.get<std::int64_t>("window");
    // A window longer than the run never fills: it is as long as the cycles.
    const std::int64_t window_used = std::min(window, cycles);
    if (window_used < window)
      log::warning(config.where("window"), ": ", config.path("window"), ": a window of ", window,
                   " observation times never fills in ", cycles, " cycles; it is clamped to ", window_used,
                   " (recorded as window_used)");
    const Repetitions job{config, model, sampler, op, spec, members, cycles, burn_in, steps, window,
                          sigma,  factor, noise_law(observe.get<std::string>("law")), observe, obs_shape, grid,
                          context.seed()};
    // Every repetition draws from its own seed, so the result is the same on
    // any number of workers and ranks; with fewer repetitions than ranks a
    // team of ranks shares each forecast's members out. The leader writes.
    const std::vector<RepetitionOutcome> outcomes = items::map<RepetitionOutcome>(
        context.ranks(), {"filter", "repetition", repetitions, true},
        [&](std::int64_t r, const Ranks& team) { return repetition(job, r, team); });
    if (!context.ranks().leader()) return;
    Summary summary = summarise(job, outcomes);
    products::FilterResult& result = summary.result;
    for (std::int64_t r = 0; r < repetitions; ++r)
      log::info("filter repetition ", r, ": rmse.a ", number_text(result.rmse_a_repetition[r]), ", truth's std ",
                number_text(result.truth_std[r]), summary.status[r] == "ok" ? "" : " (diverged)");
    result.burn_in_cycles = burn_in;
    result.members = members;
    result.window = window;
    result.window_used = window_used;
    result.design.sigma = sigma;
    result.design.noise_law = observe.get<std::string>("law");
    result.design.seed = context.seed();
    for (const auto& [key, value] : context.settings_of("sampler")) result.settings.add("sampler_" + key, value);
    for (const auto& [key, value] : context.settings_of("model")) result.settings.add("model_" + key, value);
    products::write_filter(context.output() / config.get<std::string>("out"), result);
    log::info("rmse.a = ", result.rmse_a,
              std::isnan(result.rmse_a_standard_error)
                  ? ""
                  : " +- " + number_text(result.rmse_a_standard_error) + " (standard error)",
              ", spread.a = ", result.spread_a, " over cycles ", burn_in, "..", cycles, " of ",
              repetitions - result.diverged_repetitions, " repetition(s); ", result.diverged_repetitions,
              " diverged; per cycle ", result.forecast_seconds_per_cycle, " s forecast, ",
              result.analysis_seconds_per_cycle, " s analysis");
    if (result.diverged_repetitions == repetitions)
      throw DivergenceError(cycles, "every repetition diverged: " + result.status);
  }
};

}  // namespace

std::unique_ptr<Stage> make_filter_stage() { return std::make_unique<Filter>(); }

}  // namespace assim
