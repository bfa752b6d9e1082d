// `run: train`: fits a learned prior to the pieces of a generated dataset.
// States are divided by the per-channel std stored by generate (the papers'
// normalisation, no mean removed); the last samples are held out for
// validation. The prior keeps its checkpoints in the stage's resume folder,
// so a run killed half-way continues where it stopped.
#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/prior.hpp>

#include "products.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace assim {

namespace {

class Train : public Stage {
 public:
  std::string name() const override { return "train"; }
  std::string doc() const override { return "fit a learned prior to the pieces of a generated dataset"; }
  Parameters parameters() const override { return fields().parameters(); }

  // The fit's settings are TrainingOptions' fields, defaults included.
  static Fields<TrainingOptions> fields() {
    Fields<TrainingOptions> f;
    f.unbound().component("prior", Kind::Prior, "the prior to fit (a learned one, such as prior.score_unet)");
    f.unbound().stage("data", "the generate stage whose pieces are the training data").one_of({"generate"});
    f.integer("epochs", &TrainingOptions::epochs, "", "passes over the training pieces").at_least(1);
    f.integer("batch_size", &TrainingOptions::batch_size, "windows", "windows per optimiser step").at_least(1);
    f.real("learning_rate", &TrainingOptions::learning_rate, "", "AdamW learning rate at the start, decayed linearly to 0")
        .above(0);
    f.real("weight_decay", &TrainingOptions::weight_decay, "", "AdamW weight decay").at_least(0);
    f.unbound()
        .real("validation", 0.1, "", "fraction of the samples held out for the validation loss")
        .at_least(0)
        .below(1);
    f.string("device", &TrainingOptions::device, "", "where to train").one_of({"cpu", "cuda"});
    return f;
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto prior = config.component<Prior>("prior");
    if (!prior->learned())
      config.fail("prior", "component '" + config.reference("prior") + "' is an analytic prior: it has nothing to fit");
    const products::Dataset data = products::read_dataset(context.input("data"));
    const std::vector<std::int64_t> shape = data.shape();
    if (shape.size() != 5)
      config.fail("data", "expects states (sample, time, channel, y, x); stage '" + config.reference("data") +
                              "' holds " + std::to_string(shape.size()) + "-dimensional " + data.spec.variable);
    const products::Normalisation normalisation(data.std, data.spec);
    const at::Tensor& scale = normalisation.scale();
    at::Tensor states = normalisation.normalise(data.states(), 2);

    const std::int64_t samples = shape[0];
    std::int64_t held_out = static_cast<std::int64_t>(std::ceil(config.get<double>("validation") * samples));
    if (held_out >= samples)
      config.fail("validation", "holds out all " + std::to_string(samples) + " samples; nothing is left to train on");
    TrainingData training;
    training.train = states.slice(0, 0, samples - held_out).to(at::kFloat).contiguous();
    training.validation = states.slice(0, samples - held_out, samples).to(at::kFloat).contiguous();
    training.scale = scale;

    TrainingOptions options = fields().read(config);
    options.seed = context.seed();
    options.checkpoints = context.resume();
    options.output = context.output();
    log::info("training on ", samples - held_out, " pieces of ", shape[1], " frames, validating on ", held_out);
    prior->fit(training, options);
  }
};

}  // namespace

std::unique_ptr<Stage> make_train_stage() { return std::make_unique<Train>(); }

}  // namespace assim
