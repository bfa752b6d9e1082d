// `run: train`: fits a learned prior to the pieces of a generated dataset.
// States are divided by the per-channel std stored by generate (the papers'
// normalisation, no mean removed); the last samples are held out for
// validation. The prior keeps its checkpoints in the stage's resume folder,
// so a run killed half-way continues where it stopped.
#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/prior.hpp>

#include "tensor_io.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace assim {

namespace {

class Train : public Stage {
 public:
  std::string name() const override { return "train"; }
  std::string doc() const override { return "fit a learned prior to the pieces of a generated dataset"; }
  Parameters parameters() const override {
    Parameters p;
    p.component("prior", Kind::Prior, "the prior to fit (a learned one, such as prior.score_unet)");
    p.stage("data", "the generate stage whose pieces are the training data").one_of({"generate"});
    p.integer("epochs", 10, "", "passes over the training pieces").at_least(1);
    p.integer("batch_size", 8, "windows", "windows per optimiser step").at_least(1);
    p.real("learning_rate", 2e-4, "", "AdamW learning rate at the start, decayed linearly to 0").above(0);
    p.real("weight_decay", 1e-5, "", "AdamW weight decay").at_least(0);
    p.real("validation", 0.1, "", "fraction of the samples held out for the validation loss").at_least(0).below(1);
    p.string("device", "cpu", "", "where to train").one_of({"cpu", "cuda"});
    return p;
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto prior = config.component<Prior>("prior");
    if (!prior->learned())
      config.fail("prior", "component '" + config.reference("prior") + "' is an analytic prior: it has nothing to fit");
    auto data = netcdf::File::open(context.input("data") / "data.nc");
    std::string variable = data.text_attribute("", "state_variable");
    auto file_shape = data.shape(variable);
    std::vector<std::int64_t> shape(file_shape.begin(), file_shape.end());
    if (shape.size() != 5)
      config.fail("data", "expects states (sample, time, channel, y, x); stage '" + config.reference("data") +
                              "' holds " + std::to_string(shape.size()) + "-dimensional " + variable);
    at::Tensor scale = read_tensor(data, variable + "_std").reshape({-1});
    if (scale.numel() != shape[2]) scale = scale.expand({shape[2]}).contiguous();
    at::Tensor states = read_tensor(data, variable).div(scale.view({1, 1, -1, 1, 1}));

    const std::int64_t samples = shape[0];
    std::int64_t held_out = static_cast<std::int64_t>(std::ceil(config.get<double>("validation") * samples));
    if (held_out >= samples)
      config.fail("validation", "holds out all " + std::to_string(samples) + " samples; nothing is left to train on");
    TrainingData training;
    training.train = states.slice(0, 0, samples - held_out).to(at::kFloat).contiguous();
    training.validation = states.slice(0, samples - held_out, samples).to(at::kFloat).contiguous();
    training.scale = scale;

    TrainingOptions options;
    options.epochs = config.get<std::int64_t>("epochs");
    options.batch_size = config.get<std::int64_t>("batch_size");
    options.learning_rate = config.get<double>("learning_rate");
    options.weight_decay = config.get<double>("weight_decay");
    options.device = config.get<std::string>("device");
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
