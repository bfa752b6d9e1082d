#include "score_prior.hpp"

#include "network_fit.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/log.hpp>
#include <assim/memory.hpp>
#include <assim/shape.hpp>
#include <assim/team.hpp>
#include <assim/write_file.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <optional>
#include <random>

namespace assim::score_prior {

namespace fs = std::filesystem;

namespace {

constexpr const char* format = "assim.prior.score_unet";
// Validation draws at most this many windows (fixed across epochs, so that
// the curve compares like with like).
constexpr std::int64_t validation_samples = 256;

// `count` random L-frame windows, each from a random piece at a random start,
// rolled periodically by a random shift in y and x (reference, "Training").
at::Tensor draw_windows(const at::Tensor& pieces, std::int64_t count, std::int64_t frames, std::mt19937_64& rng) {
  using uniform = std::uniform_int_distribution<std::int64_t>;
  const std::int64_t n = pieces.size(0), last = pieces.size(1) - frames, h = pieces.size(3), w = pieces.size(4);
  std::vector<at::Tensor> windows;
  windows.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t p = uniform(0, n - 1)(rng), s = uniform(0, last)(rng);
    const std::int64_t dy = uniform(0, h - 1)(rng), dx = uniform(0, w - 1)(rng);
    windows.push_back(pieces[p].narrow(0, s, frames).roll({dy, dx}, {-2, -1}));
  }
  return at::stack(windows);
}

// The network's settings, each bound to the Architecture field it fills
// (whose initial value is the default); the state's shape, the window and
// the augmentation fill the prior itself.
assim::Fields<Architecture> fields() {
  assim::Fields<Architecture> p;
  p.unbound()
      .integers("state_shape", {2, 64, 64}, "", "one state frame [channels, y, x]; the training data and z_t must have it")
      .at_least(1);
  p.unbound().integer("window", 9, "frames", "L: frames per window the prior is trained on").at_least(1);
  add_network_fields(p);
  add_compute_fields(p.unbound());
  add_fit_fields(p.unbound());
  p.integer("frequencies", &Architecture::frequencies, "", "time features cos/sin(pi k t), k = 1..frequencies")
      .at_least(1);
  p.integer("embedding_hidden", &Architecture::hidden, "", "width of the time-embedding MLP").at_least(1);
  p.integer("embedding", &Architecture::embedding, "", "time-embedding size fed to every residual block").at_least(1);
  p.unbound()
      .component("augment_with", assim::Kind::ObservationOperator,
                 "H of SOAD's augmented state z = (x, H(x)): the prior then also carries H's output channels")
      .optional();
  return p;
}

}  // namespace

assim::Parameters ScorePrior::parameters() { return fields().parameters(); }

ScorePrior::ScorePrior(const assim::Config& config) : arch_(fields().read(config)), settings_(config.yaml()) {
  const auto state = config.get<std::vector<std::int64_t>>("state_shape");
  GridShape shape;
  try {
    shape = grid_shape(state);
  } catch (const std::invalid_argument& e) {
    config.fail("state_shape", e.what());
  }
  state_shape_ = state;
  state_channels_ = shape.channels;
  arch_.height = shape.height;
  arch_.width = shape.width;
  window_ = config.get<std::int64_t>("window");
  check_network(config, arch_);
  arch_.channels_in = state_channels_;
  if (config.has("augment_with")) {
    // z = (x, H(x)) stacked on the state's channels; a state without a
    // channel axis ([sites] or [y, x]) is one channel (assim::with_channel_axis).
    augment_ = config.component<assim::ObservationOperator>("augment_with");
    const auto frame = assim::with_channel_axis(state);
    const auto out = augment_->output_shape(state);
    const auto stacked = assim::with_channel_axis(out);
    if (out.size() > 3 || stacked.size() != frame.size() || !std::equal(frame.begin() + 1, frame.end(), stacked.begin() + 1)) {
      const std::vector<std::int64_t> grid(frame.begin() + 1, frame.end());
      config.fail("augment_with", "its output on a state " + list_text(state) + " is " + list_text(out) +
                                      "; the augmented prior needs [channels, " + list_text(grid).substr(1) +
                                      " to stack it on the state's channels");
    }
    arch_.channels_in += stacked[0];
  }
  // float32 weights; training adds their gradients and AdamW's two moments.
  const double weights = arch_.parameter_estimate();
  assim::check_memory(config, "channels", 16 * weights,
                      "a U-Net of " + assim::number_text(weights) + " parameters with its training state");
  compute_ = read_compute(config);
  shards_ = read_shards(config);
  net_ = UNet(arch_, compute_);
}

at::Tensor ScorePrior::augment(const at::Tensor& x) const {
  if (!augment_) return x;
  // x: (b, l, C, h, w) as the network sees it; H takes frames of the state's own shape.
  const std::int64_t b = x.size(0), l = x.size(1);
  std::vector<std::int64_t> state_frames{b * l};
  state_frames.insert(state_frames.end(), state_shape_.begin(), state_shape_.end());
  const auto hx = augment_->apply(x.reshape(state_frames)).to(x.scalar_type());
  const auto frames = x.reshape({b * l, state_channels_, x.size(3), x.size(4)});
  return at::cat({frames, hx.reshape({b * l, -1, x.size(3), x.size(4)})}, 1)
      .reshape({b, l, arch_.channels_in, x.size(3), x.size(4)});
}

std::vector<std::int64_t> ScorePrior::z_shape() const {
  if (!augment_) return state_shape_;
  std::vector<std::int64_t> z = assim::with_channel_axis(state_shape_);
  z[0] = arch_.channels_in;
  return z;
}

at::Tensor ScorePrior::denoise(const at::Tensor& z_t, const at::Tensor& t) const {
  const std::vector<std::int64_t> frame = z_shape();
  if (z_t.dim() != static_cast<std::int64_t>(2 + frame.size()) || z_t.sizes().slice(2).vec() != frame)
    throw assim::Error("prior.score_unet: z_t must have shape " + windows_text("batch", frame) + ", got " +
                       assim::shape_text(z_t.sizes()));
  const std::int64_t b = z_t.size(0);
  if (t.numel() != b)
    throw assim::Error("prior.score_unet: t must have shape (batch) = (" + std::to_string(b) + "), got " +
                       assim::shape_text(t.sizes()));
  // Samplers that guide with a likelihood gradient pass z_t with
  // requires_grad and differentiate through the network; the others should
  // not pay for a graph.
  const bool graph = at::GradMode::is_enabled() && (z_t.requires_grad() || t.requires_grad());
  std::optional<torch::NoGradGuard> no_grad;
  if (!graph) no_grad.emplace();
  UNet net = net_;
  const at::Tensor z = z_t.reshape({b, z_t.size(1), arch_.channels_in, arch_.height, arch_.width});
  const auto out = net->forward(z.to(device_, torch::kFloat), t.reshape({b}).to(device_, torch::kFloat));
  return out.to(z_t.device(), z_t.scalar_type()).reshape(z_t.sizes());
}

void ScorePrior::check_data(const at::Tensor& pieces, const std::string& what) const {
  if (pieces.dim() != static_cast<std::int64_t>(2 + state_shape_.size()) || pieces.sizes().slice(2).vec() != state_shape_)
    throw assim::Error("prior.score_unet: " + what + " data must have shape " + windows_text("pieces", state_shape_) +
                       " (state_shape), got " + assim::shape_text(pieces.sizes()));
  if (pieces.size(0) > 0 && pieces.size(1) < window_)
    throw assim::Error("prior.score_unet: " + what + " pieces have " + std::to_string(pieces.size(1)) +
                       " frames, fewer than the window of " + std::to_string(window_));
}

void ScorePrior::fit(const assim::TrainingData& data, const assim::TrainingOptions& options) {
  check_data(data.train, "training");
  if (data.train.size(0) == 0) throw assim::Error("prior.score_unet: no training pieces");
  const bool validate = data.validation.defined() && data.validation.numel() > 0;
  if (validate) check_data(data.validation, "validation");
  device_ = training_device(options.device, "prior.score_unet");
  scale_ = data.scale.defined() ? data.scale.to(torch::kFloat).cpu() : torch::ones({state_channels_});

  // Pieces as the network sees them: (pieces, frames, channels, y, x).
  auto grid = [&](const at::Tensor& pieces) {
    return pieces.to(torch::kFloat).reshape({pieces.size(0), pieces.size(1), state_channels_, arch_.height, arch_.width});
  };
  const at::Tensor train = grid(data.train);
  FitPlan plan;
  plan.who = "prior.score_unet";
  plan.format = format;
  plan.architecture = arch_;
  plan.scale = scale_;
  // One epoch draws as many windows as there are distinct ones (before rolls).
  plan.per_epoch = train.size(0) * (train.size(1) - window_ + 1);
  plan.shards = shards_;
  // precision: auto times the network at a shard of the fit's batch (what
  // one call computes, on whichever worker) and window; the sampling batch is
  // not known here, the shard stands for it (a window's cost changed by 1-10 %
  // between batches 1 and 8, bench/score_prior).
  const std::int64_t batch = shard_batch(std::min(options.batch_size, plan.per_epoch), shards_);
  const FitCompute chosen = fit_compute(arch_, compute_, {true, batch, window_}, {false, batch, window_},
                                        options.checkpoints, device_);
  assim::log::info(plan.who, ": fits in ", chosen.fit.text());
  assim::log::info(plan.who, ": samples in ", chosen.sampling.text());
  plan.compute = chosen.fit.compute;
  plan.settings = settings_with_choice(settings_, chosen);
  const torch::Device device = device_;
  // On the workers, several shards at once: reads train, augment_ and schedule_ only.
  plan.batch_loss = [&](UNet& net, std::int64_t count, std::mt19937_64& rng, at::Generator& gen) {
    at::Tensor z;
    {
      torch::NoGradGuard no_grad;
      z = augment(draw_windows(train, count, window_, rng));
    }
    const at::Tensor t = torch::rand({count}, gen), eps = torch::randn(z.sizes(), gen);
    const at::Tensor z_t = schedule_.noise(z, eps, t).to(device);
    return (net->forward(z_t, t.to(device)) - eps.to(device)).square().mean();
  };
  // Fixed validation draws: the same windows, times and noise every epoch.
  at::Tensor val_z, val_t, val_eps;
  if (validate) {
    auto rng = generator(options.seed, 0, 1);
    const at::Tensor val = grid(data.validation);
    const std::int64_t n = std::min(validation_samples, val.size(0) * (val.size(1) - window_ + 1));
    torch::NoGradGuard no_grad;
    val_z = augment(draw_windows(val, n, window_, rng));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(rng());
    val_t = torch::rand({n}, gen);
    val_eps = torch::randn(val_z.sizes(), gen);
    plan.validation_size = n;
    plan.validation_loss = [&](UNet& net, std::int64_t first, std::int64_t count) {
      const at::Tensor t = val_t.narrow(0, first, count), eps = val_eps.narrow(0, first, count);
      const at::Tensor z_t = schedule_.noise(val_z.narrow(0, first, count), eps, t).to(device);
      return (net->forward(z_t, t.to(device)) - eps.to(device)).square().mean().item<double>();
    };
  }
  // Sampled as a network loaded from the files would be (load).
  net_ = computing_as(fit_network(plan, options, device_), chosen.sampling.compute);
  if (assim::team::writes()) assim::write_file(options.output / "precision.txt", chosen.record);
}

void ScorePrior::load(const fs::path& folder) {
  at::Tensor scale;
  // The file checked first (load_network), then the choice its fit stored read from it.
  const UNet stored = load_network(folder, arch_, compute_, format, &scale);
  net_ = computing_as(stored, loaded_compute(compute_, folder, "prior.score_unet"));
  device_ = torch::Device(torch::kCPU);
  scale_ = scale;
}

}  // namespace assim::score_prior
