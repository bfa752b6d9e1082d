#include "estimator.hpp"

#include "network_fit.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/log.hpp>
#include <assim/memory.hpp>
#include <assim/shape.hpp>
#include <assim/team.hpp>
#include <assim/write_file.hpp>

#include <algorithm>
#include <functional>
#include <numeric>

namespace assim::score_prior {

namespace {

constexpr const char* format = "assim.sampler.estimator";
constexpr const char* who = "sampler.estimator";

std::int64_t product(const std::vector<std::int64_t>& v, std::size_t first, std::size_t last) {
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(first), v.begin() + static_cast<std::ptrdiff_t>(last),
                         std::int64_t{1}, std::multiplies<>());
}

assim::Fields<Architecture> fields() {
  assim::Fields<Architecture> p;
  p.unbound()
      .integers("state_shape", {2, 64, 64}, "",
                "one state frame: [channels, y, x], [y, x] or [sites] (a 1-D grid such as Lorenz-96's)")
      .at_least(1);
  p.unbound().component("operator", assim::Kind::ObservationOperator,
                        "H of the observations it is trained on and applied to (fixes the input channels)");
  p.unbound().boolean("background", true,
                      "take the background of frame 0 as an input (setting I); false: the observations alone "
                      "(setting II)");
  p.unbound().boolean("per_frame", false,
                      "eq. 21's F_w(y_t): the network maps one frame's observations and mask (and, with background: "
                      "true, the background on frame 0 alone) to that frame's state, frame by frame, trained on the "
                      "window's frames as single-frame pairs; false: one network over the whole window, which sees "
                      "every frame at once and so learns the dynamics between them");
  p.unbound()
      .real("weight_penalty", 0, "", "lambda of the Gaussian weight prior, lambda |w|^2 added to the mean squared "
            "error (eq. 21's |w - w~|^2 / c with w~ = 0); > 0: the fit's AdamW then decays no weights (the train "
            "stage's weight_decay is not applied), so that the loss is eq. 21's alone; 0: none")
      .at_least(0);
  add_network_fields(p);
  add_compute_fields(p.unbound());
  add_fit_fields(p.unbound());
  return p;
}

}  // namespace

assim::Parameters Estimator::parameters() { return fields().parameters(); }

Estimator::Estimator(const assim::Config& config)
    : arch_(fields().read(config)),
      state_shape_(config.get<std::vector<std::int64_t>>("state_shape")),
      background_(config.get<bool>("background")),
      per_frame_(config.get<bool>("per_frame")),
      weight_penalty_(config.get<double>("weight_penalty")),
      settings_(config.yaml()) {
  GridShape shape;
  try {
    shape = grid_shape(state_shape_);
  } catch (const std::invalid_argument& e) {
    config.fail("state_shape", e.what());
  }
  const std::size_t grid = state_shape_.size() == 1 ? 1 : 2;
  state_channels_ = shape.channels;
  arch_.height = shape.height;
  arch_.width = shape.width;
  check_network(config, arch_);
  auto op = config.component<assim::ObservationOperator>("operator");
  operator_ = op;
  try {
    observation_shape_ = op->output_shape(state_shape_);
  } catch (const std::exception& e) {
    config.fail("operator", std::string("cannot observe states ") + list_text(state_shape_) + ": " + e.what());
  }
  if (observation_shape_.size() < grid ||
      !std::equal(observation_shape_.end() - static_cast<std::ptrdiff_t>(grid), observation_shape_.end(),
                  state_shape_.end() - static_cast<std::ptrdiff_t>(grid)))
    config.fail("operator", "its output " + list_text(observation_shape_) + " does not keep the state's grid " +
                                list_text(state_shape_));
  observation_channels_ = product(observation_shape_, 0, observation_shape_.size() - grid);
  arch_.timed = false;
  // Per frame, the background comes with a channel saying on which frame it is given, as the mask does for y.
  arch_.channels_in = 2 * observation_channels_ + (background_ ? state_channels_ + (per_frame_ ? 1 : 0) : 0);
  arch_.channels_out = state_channels_;
  const double weights = arch_.parameter_estimate();
  assim::check_memory(config, "channels", 16 * weights,
                      "a U-Net of " + assim::number_text(weights) + " parameters with its training state");
  compute_ = read_compute(config);
  shards_ = read_shards(config);
  net_ = UNet(arch_, compute_);
}

assim::SamplerNeeds Estimator::needs() const {
  assim::SamplerNeeds needs;
  needs.deterministic = true;
  needs.background = background_;
  needs.state_shape = state_shape_;
  return needs;
}

at::Tensor Estimator::inputs(const at::Tensor& observations, const at::Tensor& mask,
                             const at::Tensor& background) const {
  std::vector<std::int64_t> expected = {observations.size(0), observations.dim() > 1 ? observations.size(1) : 0};
  expected.insert(expected.end(), observation_shape_.begin(), observation_shape_.end());
  if (observations.sizes().vec() != expected || mask.sizes() != observations.sizes())
    throw assim::Error(std::string(who) + ": observations and mask must have shape " +
                       windows_text("batch", observation_shape_) + ", got " + assim::shape_text(observations.sizes()) +
                       " and " + assim::shape_text(mask.sizes()));
  const std::int64_t b = observations.size(0), l = observations.size(1), h = arch_.height, w = arch_.width;
  std::vector<at::Tensor> parts = {observations.reshape({b, l, observation_channels_, h, w}),
                                   mask.reshape({b, l, observation_channels_, h, w})};
  if (background_) {
    if (!background.defined())
      throw assim::Error(std::string(who) + ": trained with background: true, but the problem has no background "
                                            "(give the observe stage background: {sigma: ...}, or use an estimator "
                                            "with background: false)");
    std::vector<std::int64_t> shape = {b};
    shape.insert(shape.end(), state_shape_.begin(), state_shape_.end());
    if (background.sizes().vec() != shape)
      throw assim::Error(std::string(who) + ": the background must have shape " + assim::shape_text(shape) +
                         ", got " + assim::shape_text(background.sizes()));
    const at::Tensor first = background.reshape({b, 1, state_channels_, h, w});
    if (!per_frame_) {
      parts.push_back(first.expand({b, l, state_channels_, h, w}));
    } else {
      // The background observes frame 0 only: F_w(y_0, x_b) there, F_w(y_t) elsewhere.
      parts.push_back(at::cat({first, at::zeros({b, l - 1, state_channels_, h, w}, first.options())}, 1));
      at::Tensor given = at::zeros({b, l, 1, h, w}, first.options());
      given.select(1, 0).fill_(1);
      parts.push_back(given);
    }
  }
  return at::cat(parts, 2).to(torch::kFloat);
}

at::Tensor Estimator::estimate(const at::Tensor& observations, const at::Tensor& mask,
                               const at::Tensor& background) const {
  return estimate(net_, observations, mask, background);
}

at::Tensor Estimator::estimate(UNet net, const at::Tensor& observations, const at::Tensor& mask,
                               const at::Tensor& background) const {
  at::Tensor x = inputs(observations, mask, background);
  std::vector<std::int64_t> shape = {x.size(0), x.size(1)};
  shape.insert(shape.end(), state_shape_.begin(), state_shape_.end());
  // Per frame (eq. 21's x_t = F_w(y_t)), each frame is a window of one: the
  // temporal blocks then see no other frame.
  if (per_frame_) x = x.reshape({x.size(0) * x.size(1), 1, x.size(2), x.size(3), x.size(4)});
  return net->forward(x, torch::Tensor()).reshape(shape);
}

void Estimator::check_operator(const std::shared_ptr<const assim::ObservationOperator>& op,
                               const std::string& where) const {
  if (op && op != operator_)
    throw assim::Error(std::string(who) + ": " + where + " come through another observation operator than the "
                       "estimator's `operator`; give it the operator the observe stage used");
}

at::Tensor Estimator::penalty(const UNet& net) const {
  at::Tensor sum = torch::zeros({});
  for (const auto& p : net->parameters()) sum = sum + p.square().sum();
  return sum;
}

at::Tensor Estimator::sample(const assim::AssimilationProblem& problem, std::int64_t members, std::uint64_t) const {
  if (members != 1)
    throw assim::Error(std::string(who) + ": a deterministic estimator gives one state per window; asked for " +
                       std::to_string(members) + " members (use members: 1)");
  if (!fitted_) throw assim::Error(std::string(who) + ": not trained: fit it with a train stage, or load its weights");
  check_operator(problem.observation_operator(), "the problem's observations");
  torch::InferenceMode inference;
  if (problem.evaluations()) problem.evaluations()->add_network(1);
  const at::Tensor background = problem.background() ? problem.background()->unsqueeze(0) : at::Tensor();
  return estimate(problem.observations().unsqueeze(0), problem.mask().unsqueeze(0).to(problem.observations().dtype()),
                  background)
      .to(at::kDouble);
}

void Estimator::fit(const assim::EstimatorData& data, const assim::TrainingOptions& options) {
  if (data.state().shape() != state_shape_)
    throw assim::Error(std::string(who) + ": trained on states " + assim::shape_text(data.state().shape()) +
                       ", but its state_shape is " + list_text(state_shape_));
  if (!data.draw()) throw assim::Error(std::string(who) + ": no training pairs to draw");
  check_operator(data.observation_operator(), "the training pairs");
  const torch::Device device = training_device(options.device, who);
  if (!device.is_cpu()) throw assim::Error(std::string(who) + ": trains on the CPU only so far; use device: cpu");
  // Eq. 21 exactly: with weight_penalty > 0 the penalty is the Gaussian weight
  // prior, and AdamW's decoupled decay would be a second one on top of it.
  assim::TrainingOptions fit_options = options;
  if (weight_penalty_ > 0) {
    if (options.weight_decay > 0)
      assim::log::info(who, ": AdamW decays no weights (the train stage's weight_decay ", options.weight_decay,
                       " is not applied): weight_penalty ", weight_penalty_, " is eq. 21's weight prior");
    fit_options.weight_decay = 0;
  }
  FitPlan plan;
  plan.who = who;
  plan.format = format;
  plan.architecture = arch_;
  plan.per_epoch = data.pairs_per_epoch();
  plan.shards = shards_;
  // precision: auto times the network at a shard of the fit's batch (what
  // one call computes, on whichever worker) and window, and sampling as
  // sample() runs it: one window at a time. The held-out pairs give the
  // window, else a batch drawn aside (draw is a function of its arguments:
  // the fit's own draws are unchanged).
  const std::int64_t batch = shard_batch(std::min(options.batch_size, plan.per_epoch), shards_);
  const std::int64_t frames = data.validation().observations.defined() && data.validation().observations.dim() > 1
                                  ? data.validation().observations.size(1)
                                  : data.draw()(batch, 0).observations.size(1);
  // Per frame, the network runs on windows of one frame, `frames` of them per window.
  const Workload training = per_frame_ ? Workload{true, batch * frames, 1} : Workload{true, batch, frames};
  const Workload sampling = per_frame_ ? Workload{false, frames, 1} : Workload{false, 1, frames};
  const FitCompute chosen = fit_compute(arch_, compute_, training, sampling, options.checkpoints, device);
  assim::log::info(who, ": fits in ", chosen.fit.text());
  assim::log::info(who, ": samples in ", chosen.sampling.text());
  plan.compute = chosen.fit.compute;
  plan.settings = settings_with_choice(settings_, chosen);
  // On the workers, several shards at once: the network is the argument,
  // never net_ (no member is written while the shards run).
  plan.batch_loss = [&](UNet& net, std::int64_t count, std::mt19937_64& rng, at::Generator&) {
    const assim::TrainingPairs pairs = data.draw()(count, rng());
    const at::Tensor error = (estimate(net, pairs.observations, pairs.mask, pairs.background) -
                              pairs.states.to(torch::kFloat)).square().mean();
    return weight_penalty_ > 0 ? error + weight_penalty_ * penalty(net) : error;
  };
  const assim::TrainingPairs& held_out = data.validation();
  if (held_out.states.defined() && held_out.states.size(0) > 0) {
    plan.validation_size = held_out.states.size(0);
    plan.validation_loss = [&](UNet& net, std::int64_t first, std::int64_t count) {
      const at::Tensor bg = held_out.background.defined() ? held_out.background.narrow(0, first, count) : at::Tensor();
      return (estimate(net, held_out.observations.narrow(0, first, count), held_out.mask.narrow(0, first, count), bg) -
              held_out.states.narrow(0, first, count).to(torch::kFloat))
          .square()
          .mean()
          .item<double>();
    };
  }
  // Sampled as a network loaded from the files would be (load).
  net_ = computing_as(fit_network(plan, fit_options, device), chosen.sampling.compute);
  if (assim::team::writes()) assim::write_file(options.output / "precision.txt", chosen.record);
  fitted_ = true;
}

void Estimator::load(const std::filesystem::path& folder) {
  // The file checked first (load_network), then the choice its fit stored read from it.
  const UNet stored = load_network(folder, arch_, compute_, format);
  net_ = computing_as(stored, loaded_compute(compute_, folder, who));
  fitted_ = true;
}

}  // namespace assim::score_prior
