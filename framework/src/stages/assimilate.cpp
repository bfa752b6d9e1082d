// `run: assimilate`: solves the assimilation problems of an observe stage
// with a sampler: for each window and seed an ensemble of posterior samples,
// scored against the truth frame by frame (the papers' RMSE of the ensemble
// mean in normalised units, the ensemble spread, the CRPS). A learned prior
// is loaded from the train stage that fitted it. A window whose sampler
// diverges is recorded as diverged with its step, not scored.
#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>
#include <assim/progress.hpp>
#include <assim/sampler.hpp>

#include "tensor_io.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>

namespace assim {

namespace {

// Per-frame scores of samples (members, L, ...) against truth (L, ...).
struct FrameScores {
  at::Tensor rmse, spread, crps;  // (L)
};

FrameScores score(const at::Tensor& samples, const at::Tensor& truth) {
  const std::int64_t frames = truth.size(0);
  at::Tensor mean = samples.mean(0);
  FrameScores s;
  s.rmse = (mean - truth).pow(2).reshape({frames, -1}).mean(1).sqrt();
  s.spread = samples.var(0, /*unbiased=*/true).reshape({frames, -1}).mean(1).sqrt();
  // Ensemble CRPS per point: E|X - y| - E|X - X'| / 2, averaged over the frame.
  at::Tensor skill = (samples - truth.unsqueeze(0)).abs().mean(0);
  at::Tensor pairs = (samples.unsqueeze(0) - samples.unsqueeze(1)).abs().mean(at::IntArrayRef{0, 1});
  s.crps = (skill - 0.5 * pairs).reshape({frames, -1}).mean(1);
  return s;
}

// A filter through the window: forecast with the model, analyse observed frames.
at::Tensor cycle(const Model& model, const Sampler& filter, const AssimilationProblem& window, std::int64_t members,
                 std::uint64_t seed, const at::Tensor& scale, std::int64_t frame_steps) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const std::int64_t frames = window.observations.size(0);
  std::vector<std::int64_t> per_channel(window.background->dim(), 1);
  per_channel[0] = scale.numel();
  const at::Tensor physical = scale.reshape(per_channel).unsqueeze(0);
  at::Tensor ensemble = window.background->unsqueeze(0) +
                        window.background_sigma *
                            at::randn(at::IntArrayRef([&] {
                                        auto s = window.background->sizes().vec();
                                        s.insert(s.begin(), members);
                                        return s;
                                      }()),
                                      generator, at::TensorOptions().dtype(at::kDouble));
  std::vector<at::Tensor> analyses;
  for (std::int64_t f = 0; f < frames; ++f) {
    if (f > 0) {
      auto trajectory = model.start((ensemble * physical).contiguous());
      trajectory->advance(frame_steps);
      ensemble = trajectory->state() / physical;
    }
    AssimilationProblem frame = window;
    frame.observations = window.observations.slice(0, f, f + 1);
    frame.mask = window.mask.slice(0, f, f + 1);
    frame.forecast = ensemble.contiguous();
    if (frame.mask.sum().item<double>() > 0)
      ensemble = filter.sample(frame, members, seed * 7919ull + static_cast<std::uint64_t>(f)).select(1, 0);
    analyses.push_back(ensemble);
  }
  return at::stack(analyses, 1);
}

const char* needs_background =
    "a filter cycled through the window starts from the background: give the observe stage a background: {sigma: ...}";

class Assimilate : public Stage {
 public:
  std::string name() const override { return "assimilate"; }
  std::string doc() const override {
    return "sample the posterior of every window of an observe stage and score it against the truth";
  }
  Parameters parameters() const override {
    Parameters p;
    p.stage("observations", "the observe stage whose windows are assimilated").one_of({"observe"});
    p.component("operator", Kind::ObservationOperator, "H: the operator the observe stage used");
    p.component("sampler", Kind::Sampler, "the posterior sampler (sampler.sda, sampler.soad, ...)");
    p.component("prior", Kind::Prior, "the prior score-based samplers use").optional();
    p.stage("trained_by", "the train stage that fitted a learned prior").one_of({"train"}).optional();
    p.component("model", Kind::Model, "forecast model for a filter cycled through the window (sampler.enkf); "
                "its grid must be the observations' grid").optional();
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
    if (config.has("model") && !inputs.at("observations").section("background").has("sigma"))
      config.fail("model", needs_background);
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto op = std::shared_ptr<const ObservationOperator>(config.component<ObservationOperator>("operator"));
    auto sampler = config.component<Sampler>("sampler");
    auto source = context.input("observations");
    auto file = netcdf::File::open(source / "observations.nc");

    // The operator must be the one the observations were made with.
    for (const auto& [key, value] : context.settings_of("operator")) {
      std::string attribute = "operator_" + key;
      if (!file.has_attribute("", attribute) || file.text_attribute("", attribute) != value)
        config.fail("operator", "component '" + config.reference("operator") + "' (" + key + " = " + value +
                                    ") is not the operator stage '" + config.reference("observations") +
                                    "' observed with (" + key + " = " +
                                    (file.has_attribute("", attribute) ? file.text_attribute("", attribute) : "?") + ")");
    }

    std::shared_ptr<Prior> prior;
    if (config.has("prior")) {
      prior = config.component<Prior>("prior");
      if (prior->learned()) {
        if (!config.has("trained_by"))
          config.fail("prior", "prior '" + config.reference("prior") +
                                   "' is learned: name the train stage that fitted it with trained_by: $stage");
        auto folder = context.input("trained_by");
        auto record = YAML::LoadFile((folder / stage_record_file).string());
        std::string fitted = record["config"]["prior"].as<std::string>("");
        if (fitted != "$" + config.reference("prior"))
          config.fail("trained_by", "stage '" + config.reference("trained_by") + "' fitted " + fitted + ", not $" +
                                        config.reference("prior"));
        prior->load(folder);
      }
    } else if (config.has("trained_by")) {
      config.fail("trained_by", "names a train stage but no prior is given");
    }

    at::Tensor observations = read_tensor(file, "observation");  // (W, L, obs...)
    at::Tensor truth = read_tensor(file, "truth");               // (W, L, state...)
    at::Tensor time_mask = read_tensor(file, "mask");            // (L, grid...)
    std::vector<std::int64_t> mask_view = {time_mask.size(0)};
    for (std::int64_t d = 1; d + time_mask.dim() - 1 < observations.dim() - 1; ++d) mask_view.push_back(1);
    for (std::int64_t d = 1; d < time_mask.dim(); ++d) mask_view.push_back(time_mask.size(d));
    at::Tensor mask = time_mask.view(mask_view).expand(observations.sizes().slice(1)).contiguous();
    std::optional<at::Tensor> background;
    double background_sigma = 0;
    if (file.has_variable("background")) {
      background = read_tensor(file, "background");
      background_sigma = file.number_attribute("", "background_sigma")[0];
    }
    const double sigma = file.number_attribute("", "observation_sigma")[0];
    std::shared_ptr<Model> model;
    if (config.has("model")) {
      model = config.component<Model>("model");
      if (!background) config.fail("model", needs_background);
      if (model->state_spec().shape() != truth.sizes().slice(2).vec())
        config.fail("model", "the model's states do not have the shape of the observed states");
    }
    const at::Tensor scale = read_tensor(file, "scale");
    const auto frame_steps = static_cast<std::int64_t>(file.number_attribute("", "frame_steps")[0]);

    const std::int64_t available = observations.size(0);
    const std::int64_t windows = config.get<std::int64_t>("windows") == 0
                                     ? available
                                     : std::min(available, config.get<std::int64_t>("windows"));
    const auto members = config.get<std::int64_t>("members");
    const auto seeds = config.get<std::int64_t>("seeds");
    const std::int64_t frames = truth.size(1);
    auto state_sizes = truth.sizes().slice(2).vec();

    StateSpec spec;
    spec.variable = file.text_attribute("", "state_variable");
    auto truth_dims = file.dimensions_of("truth");
    for (std::size_t d = 2; d < truth_dims.size(); ++d)
      spec.dims.push_back({truth_dims[d], state_sizes[d - 2], "", file.has_variable(truth_dims[d]) ? 1.0 : 0.0});

    {
      double per_state = 1;
      for (auto n : state_sizes) per_state *= static_cast<double>(n);
      const double window_states = static_cast<double>(frames) * per_state;
      // Mean and spread of every window and seed (float64), the samples kept
      // (float32), and one window's members as the sampler works on them.
      double bytes = 2 * 8.0 * windows * seeds * window_states + 8.0 * 4 * members * window_states;
      if (config.get<bool>("keep_samples")) bytes += 4.0 * windows * seeds * members * window_states;
      check_memory(config, "members", bytes,
                   std::to_string(windows) + " windows x " + std::to_string(seeds) + " seeds x " +
                       std::to_string(members) + " members of " + std::to_string(frames) + " frames " +
                       shape_text(state_sizes));
    }
    std::vector<std::int64_t> result_shape = {windows, seeds, frames};
    result_shape.insert(result_shape.end(), state_sizes.begin(), state_sizes.end());
    at::Tensor mean = at::full(result_shape, NAN, at::kDouble), spread = at::full(result_shape, NAN, at::kDouble);
    at::Tensor rmse = at::full({windows, seeds, frames}, NAN, at::kDouble), spread_score = rmse.clone(),
               crps = rmse.clone();
    at::Tensor samples_kept;
    if (config.get<bool>("keep_samples")) {
      std::vector<std::int64_t> s = {windows, seeds, members, frames};
      s.insert(s.end(), state_sizes.begin(), state_sizes.end());
      samples_kept = at::full(s, NAN, at::kFloat);
    }
    std::vector<std::string> status;
    std::int64_t diverged = 0;
    double seconds = 0;
    Progress progress("assimilate", windows * seeds, "window");
    for (std::int64_t w = 0; w < windows; ++w) {
      AssimilationProblem problem;
      problem.state = spec;
      problem.observation_operator = op;
      problem.observations = observations[w];
      problem.mask = mask;
      problem.observation_sigma = sigma;
      if (background) {
        problem.background = (*background)[w];
        problem.background_sigma = background_sigma;
      }
      problem.prior = prior;
      for (std::int64_t s = 0; s < seeds; ++s) {
        const std::uint64_t seed = context.seed() + static_cast<std::uint64_t>(s) * 1000003ull + static_cast<std::uint64_t>(w);
        auto t0 = std::chrono::steady_clock::now();
        try {
          at::Tensor samples = model ? cycle(*model, *sampler, problem, members, seed, scale, frame_steps)
                                     : sampler->sample(problem, members, seed).to(at::kDouble);
          seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (!at::isfinite(samples).all().item<bool>())
            throw DivergenceError(0, "the sampler returned non-finite samples");
          FrameScores f = score(samples, truth[w]);
          const double limit = config.get<double>("divergence_factor") * truth[w].std().item<double>();
          at::Tensor beyond = (f.rmse > limit).nonzero();
          if (beyond.size(0) > 0) {
            const auto frame = beyond[0][0].item<std::int64_t>();
            throw DivergenceError(frame, "RMSE " + std::to_string(f.rmse[frame].item<double>()) + " in frame " +
                                             std::to_string(frame) + " is above divergence_factor x the truth's std (" +
                                             std::to_string(limit) + ")");
          }
          mean[w][s] = samples.mean(0);
          spread[w][s] = samples.std(0, /*unbiased=*/true);
          rmse[w][s] = f.rmse;
          spread_score[w][s] = f.spread;
          crps[w][s] = f.crps;
          if (samples_kept.defined()) samples_kept[w][s] = samples.to(at::kFloat);
        } catch (const DivergenceError& e) {
          ++diverged;
          status.push_back("window " + std::to_string(w) + " seed " + std::to_string(s) + ": " + e.what());
          log::warning("assimilate: window ", w, ", seed ", s, ": ", e.what());
        }
        progress.advance();
        progress.note("rmse " + std::to_string(at::nanmean(rmse).item<double>()));
      }
    }
    progress.finish();
    // Nothing to score: a stage failure, not one more divergence (which would
    // name a step that no longer means anything across windows).
    if (diverged == windows * seeds)
      throw Error("all " + std::to_string(diverged) + " assimilations (windows x seeds) diverged; first: " +
                  status.front());

    auto path = context.output() / config.get<std::string>("out");
    auto out = netcdf::File::create(path);
    out.dimension("window", windows);
    out.dimension("seed", seeds);
    out.dimension("time", frames);
    if (samples_kept.defined()) out.dimension("member", members);
    std::vector<std::string> state_dims(truth_dims.begin() + 2, truth_dims.end());
    for (std::size_t d = 0; d < state_dims.size(); ++d) out.dimension(state_dims[d], state_sizes[d]);
    std::vector<std::string> field = {"window", "seed", "time"}, per_frame = field;
    field.insert(field.end(), state_dims.begin(), state_dims.end());
    std::vector<std::string> truth_field = {"window", "time"};
    truth_field.insert(truth_field.end(), state_dims.begin(), state_dims.end());
    out.variable("mean", "double", field);
    out.attribute("mean", "long_name", "posterior ensemble mean (normalised units)");
    out.variable("spread", "double", field);
    out.attribute("spread", "long_name", "posterior ensemble standard deviation (normalised units)");
    out.variable("truth", "double", truth_field);
    out.attribute("truth", "long_name", "true states (normalised units)");
    out.variable("rmse", "double", per_frame);
    out.attribute("rmse", "long_name", "RMSE of the ensemble mean per frame, over channels and grid");
    out.variable("ensemble_spread", "double", per_frame);
    out.attribute("ensemble_spread", "long_name", "RMS of the ensemble std per frame");
    out.variable("crps", "double", per_frame);
    out.attribute("crps", "long_name", "ensemble CRPS per frame, averaged over channels and grid");
    if (samples_kept.defined()) {
      std::vector<std::string> sample_dims = {"window", "seed", "member", "time"};
      sample_dims.insert(sample_dims.end(), state_dims.begin(), state_dims.end());
      out.variable("samples", "float", sample_dims);
    }
    out.attribute("", "Conventions", "CF-1.8");
    out.attribute("", "source", "assim " ASSIM_SDK_VERSION " assimilate stage");
    out.attribute("", "observations_stage", config.reference("observations"));
    out.attribute("", "members", static_cast<double>(members));
    out.attribute("", "seconds_per_window", seconds / std::max<std::int64_t>(1, windows * seeds - diverged));
    out.attribute("", "diverged", static_cast<double>(diverged));
    std::string all_status;
    for (const auto& s : status) all_status += (all_status.empty() ? "" : "; ") + s;
    out.attribute("", "status", all_status.empty() ? std::string("ok") : all_status);
    for (const auto& [key, value] : context.settings_of("sampler")) out.attribute("", "sampler_" + key, value);
    // The observation design travels with the result, for tables and figures over settings.
    for (const char* name : {"operator_type", "noise_law", "normalised", "mask_design"})
      if (file.has_attribute("", name)) out.attribute("", name, file.text_attribute("", name));
    for (const char* name : {"observation_sigma", "every", "mask_fraction", "background_sigma"})
      if (file.has_attribute("", name)) out.attribute("", name, file.number_attribute("", name));
    out.end_definitions();
    write_tensor(out, "mean", mean);
    write_tensor(out, "spread", spread);
    write_tensor(out, "truth", truth.slice(0, 0, windows));
    write_tensor(out, "rmse", rmse);
    write_tensor(out, "ensemble_spread", spread_score);
    write_tensor(out, "crps", crps);
    if (samples_kept.defined()) write_tensor<float>(out, "samples", samples_kept);
    out.close();
    log::info("assimilated ", windows, " windows x ", seeds, " seeds: mean RMSE ", at::nanmean(rmse).item<double>(),
              ", spread ", at::nanmean(spread_score).item<double>(), ", CRPS ", at::nanmean(crps).item<double>(),
              ", ", seconds / std::max<std::int64_t>(1, windows * seeds - diverged), " s per window; ", diverged,
              " diverged");
  }
};

}  // namespace

std::unique_ptr<Stage> make_assimilate_stage() { return std::make_unique<Assimilate>(); }

}  // namespace assim
