// `run: train`: fits a learned component to the pieces of a generated
// dataset. A prior (prior.score_unet) learns windows of states divided by the
// per-channel std stored by generate (the papers' normalisation, no mean
// removed). A learned estimator (sampler.estimator) learns pairs of
// observations and states, drawn from the pieces through the design of an
// observe stage (its operator, observed frames, mask law, noise and
// background) in that stage's units, fresh every epoch. The last samples are
// held out for validation. Checkpoints go to the stage's resume folder, so a
// run killed half-way continues where it stopped.
#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/memory.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>
#include <assim/shape.hpp>

#include "products/products.hpp"
#include "stages/estimator_pairs.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>

namespace assim {

namespace {

// Validation pairs of an estimator: at most this many, drawn once.
constexpr std::int64_t validation_pairs = 256;

class Train : public Stage {
 public:
  std::string name() const override { return "train"; }
  std::string doc() const override {
    return "fit a learned prior, or a learned estimator through an observe stage's design, to a generated dataset";
  }
  Parameters parameters() const override { return fields().parameters(); }
  // A fit differentiates its batches' shards on the workers of every rank
  // that runs it (the learned components of score_prior do; sdk team.hpp).
  bool spreads() const override { return true; }

  // The fit's settings are TrainingOptions' fields, defaults included.
  static Fields<TrainingOptions> fields() {
    Fields<TrainingOptions> f;
    f.unbound()
        .component("prior", Kind::Prior, "the prior to fit (a learned one, such as prior.score_unet)")
        .optional();
    f.unbound()
        .component("sampler", Kind::Sampler, "the learned estimator to fit instead of a prior (sampler.estimator)")
        .optional();
    f.unbound().stage("data", "the generate stage whose pieces are the training data").one_of({"generate"});
    f.unbound()
        .stage("design", "for an estimator: the observe stage whose design (operator, frames, mask, noise, "
               "background, units) makes the training pairs from the pieces")
        .one_of({"observe"})
        .optional();
    f.unbound()
        .integer("pairs", 0, "pairs", "for an estimator: 0 draws new windows, masks (when the design's mask is "
                 "random) and noise for every batch; N > 0 draws N pairs once and trains on them only")
        .at_least(0);
    f.unbound()
        .reals("masks", {}, "", "for an estimator: fractions of the design's points observed; each pair draws one of "
               "them and a fresh random mask of it (1: every point), so that one network learns several densities; "
               "empty: the design's mask")
        .above(0)
        .at_most(1);
    f.integer("epochs", &TrainingOptions::epochs, "", "passes over the training pieces").at_least(1);
    f.integer("batch_size", &TrainingOptions::batch_size, "windows", "windows per optimiser step").at_least(1);
    f.real("learning_rate", &TrainingOptions::learning_rate, "", "AdamW learning rate at the start, decayed linearly to 0")
        .above(0);
    f.real("weight_decay", &TrainingOptions::weight_decay, "",
           "AdamW weight decay (an estimator with weight_penalty > 0 decays nothing: its penalty is eq. 21's weight "
           "prior)")
        .at_least(0);
    f.real("ema", &TrainingOptions::ema, "",
           "decay of an exponential moving average of the weights, updated every optimiser step (warmed up as "
           "min(ema, (1 + step) / (10 + step))); the average is validated, selected and written; 0: none")
        .at_least(0)
        .below(1);
    f.real("gradient_clip", &TrainingOptions::gradient_clip, "",
           "largest norm of the gradient over all weights an optimiser step takes (a larger one is scaled down to "
           "it, against the loss spikes of long fits); 0: no clipping")
        .at_least(0);
    f.unbound()
        .real("validation", 0.1, "", "fraction of the samples held out for the validation loss")
        .at_least(0)
        .below(1);
    f.string("device", &TrainingOptions::device, "", "where to train").one_of({"cpu", "cuda"});
    return f;
  }

  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    if (config.has("prior") == config.has("sampler"))
      config.fail(config.has("prior") ? "sampler" : "prior",
                  "give exactly one of prior: (a learned prior) and sampler: (a learned estimator)");
    if (config.has("prior")) {
      if (!config.component<Prior>("prior")->learned())
        config.fail("prior", "component '" + config.reference("prior") + "' is an analytic prior: it has nothing to fit");
      if (config.has("design")) config.fail("design", "a prior learns states, not observations: leave design out");
      if (!config.get<std::vector<double>>("masks").empty())
        config.fail("masks", "a prior learns states, not observations: leave masks out");
      return;
    }
    if (!config.component<Sampler>("sampler")->learned())
      config.fail("sampler", "component '" + config.reference("sampler") + "' has nothing to learn");
    if (!config.has("design"))
      config.fail("sampler", "an estimator learns pairs of observations and states: name the observe stage whose "
                             "design draws them with design: $stage");
    const Config& observe = inputs.at("design");
    if (!observe.get<std::string>("file").empty())
      config.fail("design", "stage '" + config.reference("design") + "' reads its observations from file " +
                                observe.get<std::string>("file") + "; a design draws new pairs through an operator, "
                                "a mask and noise: name an observe stage that draws its observations");
    const SamplerNeeds needs = config.component<Sampler>("sampler")->needs();
    const std::string estimator = "sampler '" + config.reference("sampler") + "'";
    if (needs.background && !observe.section("background").has("sigma"))
      config.fail("design", estimator + " takes a background of frame 0 as an input, but stage '" +
                                config.reference("design") + "' draws none: give it background: {sigma: ...}, or "
                                "give the estimator background: false");
    const std::vector<std::int64_t> data_shape = products::generated_spec(inputs.at("data")).shape();
    // A fixed pool of pairs is held whole: its windows of states, their
    // observations and masks (as large again with an identity-like H), and
    // the backgrounds, in float64.
    if (const auto pool = config.get<std::int64_t>("pairs"); pool > 0) {
      double window_bytes = 8 * static_cast<double>(products::window_frames(observe, inputs.at("design.data")));
      for (auto n : data_shape) window_bytes *= static_cast<double>(n);
      check_memory(config, "pairs", 4 * static_cast<double>(pool) * window_bytes,
                   std::to_string(pool) + " training pairs of windows of states " + shape_text(data_shape));
    }
    if (!needs.state_shape.empty() && needs.state_shape != data_shape)
      config.fail("sampler", estimator + " has state_shape " + shape_text(needs.state_shape) + ", but stage '" +
                                 config.reference("data") + "' holds states " + shape_text(data_shape));
    if (!config.get<std::vector<double>>("masks").empty() && !observe.section("mask").get<std::string>("file").empty())
      config.fail("masks", "stage '" + config.reference("design") + "' reads its mask from a file; masks draws random "
                           "masks of the design's points instead: give it an observe stage with a random mask");
    // Each pair draws a fresh random mask of a fraction of the points on the
    // design's stride: one that observes less than a point on average leaves
    // most pairs with nothing to estimate from.
    if (observe.section("mask").get<std::string>("file").empty()) {
      const auto stride = observe.section("mask").get<std::int64_t>("stride");
      double points = 1;
      for (auto n : products::grid_of(products::generated_spec(inputs.at("data"))))
        points *= static_cast<double>((n + stride - 1) / stride);
      for (double fraction : config.get<std::vector<double>>("masks"))
        if (fraction * points < 1)
          config.fail("masks", "a fraction " + number_text(fraction) + " of the " + number_text(points) +
                                   " points on stage '" + config.reference("design") + "''s stride observes " +
                                   number_text(fraction * points) + " point on average: most pairs would observe "
                                   "nothing");
    }
    // The pairs must be in the units of the problems the estimator will see.
    if (observe.get<bool>("normalise")) {
      const std::string scaled_by = observe.has("scale_from") ? observe.reference("scale_from") : observe.reference("data");
      if (scaled_by != config.reference("data"))
        config.fail("design", "stage '" + config.reference("design") + "' divides its states by the std of stage '" +
                                  scaled_by + "'; the pairs are drawn from stage '" + config.reference("data") +
                                  "' and must be in the same units: give that observe stage scale_from: $" +
                                  config.reference("data"));
    }
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    const products::Dataset data = products::read_dataset(context.input("data"));
    const std::vector<std::int64_t> shape = data.shape();
    const std::int64_t samples = shape[0];
    std::int64_t held_out = static_cast<std::int64_t>(std::ceil(config.get<double>("validation") * samples));
    if (held_out >= samples)
      config.fail("validation", "holds out all " + std::to_string(samples) + " samples; nothing is left to train on");
    TrainingOptions options = fields().read(config);
    options.seed = context.seed();
    options.checkpoints = context.resume();
    options.output = context.output();
    log::info("training on ", samples - held_out, " pieces of ", shape[1], " frames, validating on ", held_out);
    if (config.has("prior"))
      fit_prior(config, data, held_out, options);
    else
      fit_estimator(context, data, held_out, options);
  }

 private:
  static void fit_prior(const Config& config, const products::Dataset& data, std::int64_t held_out,
                        const TrainingOptions& options) {
    auto prior = config.component<Prior>("prior");
    const std::vector<std::int64_t> shape = data.shape();
    const products::Normalisation normalisation(data.std, data.spec);
    const at::Tensor states = normalisation.normalise(data.states(), 2);
    const std::int64_t samples = shape[0];
    TrainingData training;
    training.train = states.slice(0, 0, samples - held_out).to(at::kFloat).contiguous();
    training.validation = states.slice(0, samples - held_out, samples).to(at::kFloat).contiguous();
    training.scale = normalisation.scale();
    prior->fit(training, options);
  }

  // A learned estimator fits pairs drawn through the observe stage's design
  // (stages/estimator_pairs): fresh for every batch, or from one fixed pool.
  static void fit_estimator(const StageContext& context, const products::Dataset& data, std::int64_t held_out,
                            const TrainingOptions& options) {
    const Config& config = context.config();
    auto estimator = config.component<Sampler>("sampler");
    auto design = std::make_shared<const EstimatorPairs>(context, data);
    const std::int64_t train_pieces = data.shape()[0] - held_out;
    const auto fixed = config.get<std::int64_t>("pairs");
    EstimatorData pairs;
    pairs.set_state(data.spec).set_observation_operator(design->observation_operator());
    if (fixed == 0) {
      pairs.set_pairs_per_epoch(train_pieces * design->windows_per_piece());
      pairs.set_draw([=](std::int64_t count, std::uint64_t seed) { return design->draw(0, train_pieces, count, seed); });
    } else {
      pairs.set_pairs_per_epoch(fixed);
      pairs.set_draw(from_pool(design->draw(0, train_pieces, fixed, context.seed() * 7919 + 1)));
    }
    if (held_out > 0)
      pairs.set_validation(design->draw(train_pieces, held_out,
                                        std::min(validation_pairs, held_out * design->windows_per_piece()),
                                        context.seed() * 7919 + 2));
    log::info("estimator pairs ", design->description(),
              fixed == 0 ? ", fresh for every batch" : ", a fixed pool of " + std::to_string(fixed));
    estimator->fit(pairs, options);
  }

  // Batches that pick from one pool, drawn once.
  static std::function<TrainingPairs(std::int64_t, std::uint64_t)> from_pool(TrainingPairs pool) {
    return [pool = std::move(pool)](std::int64_t count, std::uint64_t seed) {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
      const at::Tensor pick = at::randint(pool.states.size(0), {count}, generator, at::TensorOptions().dtype(at::kLong));
      TrainingPairs batch;
      batch.states = pool.states.index_select(0, pick);
      batch.mask = pool.mask.index_select(0, pick);
      batch.observations = pool.observations.index_select(0, pick);
      if (pool.background.defined()) batch.background = pool.background.index_select(0, pick);
      return batch;
    };
  }
};

}  // namespace

std::unique_ptr<Stage> make_train_stage() { return std::make_unique<Train>(); }

}  // namespace assim
