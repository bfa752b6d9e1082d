#include "stages/assimilate_checks.hpp"

#include "products/observation_file.hpp"
#include "products/products.hpp"
#include "science/cycle.hpp"
#include "science/off_grid.hpp"

#include <assim/log.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>
#include <assim/shape.hpp>

namespace assim::assimilate_checks {

const char* const needs_background =
    "a filter cycled through the window starts from the background: give the observe stage a background: {sigma: ...}";

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

// The operator the observe stage used; one named here must be that very component.
void same_operator(const Config& config, const Config& observe) {
  if (config.has("operator") && config.reference("operator") != observe.reference("operator"))
    config.fail("operator", "component '" + config.reference("operator") + "' is not the operator stage '" +
                                config.reference("observations") + "' observed with ('" +
                                observe.reference("operator") + "'); leave operator out to take the observe stage's");
}

std::shared_ptr<const ObservationOperator> operator_of(const Config& config, const StageInput& observe,
                                                       const products::ObservationSet& set) {
  same_operator(config, observe.settings);
  auto op = observe.settings.component<ObservationOperator>("operator");
  if (!set.places.defined()) return op;
  return std::make_shared<off_grid::AtPlaces>(op, set.places_in_grid_units());
}

namespace {

// A learned estimator takes the observations, their mask and the background
// as they came through the design it was trained on: another operator or a
// missing background it cannot use at all, and states of another shape do
// not fit its network. Another noise or window length it can still be
// applied to, out of the distribution it learned (a robustness test is a
// meaningful experiment), so that is said, not refused.
void same_design(const Config& config, const std::map<std::string, Config>& inputs) {
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
    if (!stage.get<std::string>("file").empty()) return "the errors of file " + stage.get<std::string>("file");
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
void same_scale(const Config& config, const Config& observe, const Config& trainer) {
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

// The components and stages the sampler needs, given, and those it does not
// take, refused.
void routed(const Config& config, const std::map<std::string, Config>& inputs) {
  const Config& observe = inputs.at("observations");
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
}

// The prior's window, the sampler's observation channels and the
// climatology against what the observe stage observes.
void shapes(const Config& config, const std::map<std::string, Config>& inputs) {
  const Config& observe = inputs.at("observations");
  const SamplerNeeds needs = config.component<Sampler>("sampler")->needs();
  const std::string sampler = "sampler '" + config.reference("sampler") + "'";
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

// A sampler that cannot take observations between grid points, refused with
// the stage, the sampler and why: one whose prior is over (x, H(x)) with H
// on the grid, fixed when it was trained (SOAD), or a learned estimator
// F_w(y) trained on observations on the grid.
void takes_places(const Config& config, const std::map<std::string, Config>& inputs) {
  const Config& observe = inputs.at("observations");
  if (observe.get<std::string>("file").empty()) return;
  at::Tensor places;
  try {
    places = products::read_observation_file(observe.file("file"),
                                             products::places_of(observe, inputs.at("observations.data")))
                 .places;
  } catch (const std::exception&) {
    return;  // the observe stage refuses the file, with its reason
  }
  if (!places.defined()) return;
  const auto sampler = config.component<Sampler>("sampler");
  std::string why;
  if (config.has("prior") && config.component<Prior>("prior")->augmentation())
    why = "its prior '" + config.reference("prior") + "' is over (x, H(x)) with H on the grid, fixed when it was "
          "trained, and these observations are H of the state interpolated between grid points";
  else if (sampler->learned())
    why = "it is a learned estimator F_w(y), trained on observations on the grid, and these lie between grid points";
  if (why.empty()) return;
  config.fail("sampler", "stage '" + config.reference("observations") + "' reads " + std::to_string(places.size(0)) +
                             " places between grid points from " + observe.get<std::string>("file") + "; sampler '" +
                             config.reference("sampler") + "' cannot take them: " + why +
                             ". The samplers that take them: sampler.enkf, sampler.var4d, sampler.sda, sampler.particle");
}

}  // namespace

void check(const Config& config, const std::map<std::string, Config>& inputs) {
  same_operator(config, inputs.at("observations"));
  takes_places(config, inputs);
  routed(config, inputs);
  shapes(config, inputs);
}

}  // namespace assim::assimilate_checks
