#include "score_prior.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/log.hpp>
#include <assim/memory.hpp>
#include <assim/progress.hpp>
#include <assim/shape.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <regex>
#include <sstream>

namespace assim::score_prior {

namespace fs = std::filesystem;

namespace {

constexpr const char* checkpoint_format = "assim.prior.score_unet.checkpoint";
constexpr const char* model_format = "assim.prior.score_unet.model";
// Validation draws at most this many windows (fixed across epochs, so that
// the curve compares like with like).
constexpr std::int64_t validation_samples = 256;

std::string list_text(const std::vector<std::int64_t>& v) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  out << "]";
  return out.str();
}

// A generator for one epoch (stream 0) or for validation (stream 1): each
// epoch's draws depend only on (seed, epoch), so a fit resumed at an epoch
// boundary draws exactly what the uninterrupted fit would have.
std::mt19937_64 generator(std::uint64_t seed, std::uint64_t epoch, std::uint32_t stream) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(epoch >> 32), stream};
  return std::mt19937_64(seq);
}

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

void write_architecture(torch::serialize::OutputArchive& archive, const Architecture& a) {
  for (const auto& [name, values] : a.fields())
    archive.write("architecture/" + name, torch::tensor(values, torch::kLong));
}

fs::path digest_path(const fs::path& file) { return file.parent_path() / (file.filename().string() + ".digest"); }

[[noreturn]] void fail_file(const fs::path& file, const std::string& why) {
  throw assim::Error(file.string() + ": " + why);
}

void check_architecture(torch::serialize::InputArchive& archive, const Architecture& a, const fs::path& file) {
  for (const auto& [name, expected] : a.fields()) {
    torch::Tensor stored;
    if (!archive.try_read("architecture/" + name, stored))
      fail_file(file, "has no architecture/" + name + " entry: not written by prior.score_unet");
    stored = stored.cpu();
    const std::vector<std::int64_t> found(stored.data_ptr<std::int64_t>(),
                                          stored.data_ptr<std::int64_t>() + stored.numel());
    if (found != expected) {
      std::string hint;
      if (name == "channels_in") hint = " (state channels plus the channels of augment_with's output)";
      if (name == "grid") hint = " (state_shape y, x)";
      if (name == "channels") hint = " (channels per U-Net level)";
      fail_file(file, "was written for " + name + " " + list_text(found) + " but the settings give " +
                          list_text(expected) + hint);
    }
  }
}

void write_weights(torch::serialize::OutputArchive& archive, const UNet& net) {
  for (const auto& p : net->named_parameters()) archive.write("model/" + p.key(), p.value().detach().cpu());
  for (const auto& b : net->named_buffers()) archive.write("buffer/" + b.key(), b.value().cpu(), true);
}

void read_weights(torch::serialize::InputArchive& archive, const UNet& net, const fs::path& file) {
  torch::NoGradGuard no_grad;
  auto read_into = [&](const std::string& key, torch::Tensor& target, bool buffer) {
    torch::Tensor stored;
    if (!archive.try_read(key, stored, buffer)) fail_file(file, "lacks " + key + " (truncated or not this network)");
    if (stored.sizes() != target.sizes())
      fail_file(file, key + " has shape " + assim::shape_text(stored.sizes()) + ", the network expects " +
                          assim::shape_text(target.sizes()));
    target.copy_(stored);
  };
  for (auto& p : net->named_parameters()) read_into("model/" + p.key(), p.value(), false);
  for (auto& b : net->named_buffers()) read_into("buffer/" + b.key(), b.value(), true);
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key, const fs::path& file) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) fail_file(file, "has no " + key + " entry");
  return value.toStringRef();
}

std::int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key, const fs::path& file) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isInt()) fail_file(file, "has no " + key + " entry");
  return value.toInt();
}

// Opens `file` as an archive of the given format; a file torch cannot parse
// (cut short by a full disk, overwritten, not ours) becomes a clear Error.
void open_archive(torch::serialize::InputArchive& archive, const fs::path& file, const char* format,
                  const torch::Device& device = torch::kCPU) {
  if (!fs::exists(file)) fail_file(file, "no such file");
  // The digest written beside the file when it was saved: a flipped byte is
  // found here, not later as a diverging sampler.
  const fs::path sum = digest_path(file);
  if (fs::exists(sum)) {
    std::ifstream in(sum);
    std::string recorded;
    std::getline(in, recorded);
    const std::string now = assim::file_digest(file);
    if (now != recorded)
      fail_file(file, "is corrupt: its bytes (" + now + ") differ from the digest recorded when it was written (" +
                          recorded + ", " + sum.filename().string() + ")");
  }
  try {
    archive.load_from(file.string(), device);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    fail_file(file, "cannot be read as a prior.score_unet file (truncated or corrupt?): " + what);
  }
  const std::string found = read_string(archive, "format", file);
  if (found != format) fail_file(file, "is a '" + found + "', expected a '" + format + "'");
}

void write_text_atomically(const std::string& text, const fs::path& file) {
  const fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".partial");
  {
    std::ofstream out(temporary);
    out << text;
    if (!out) throw assim::Error("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
}

// Write beside the target, then rename: a killed process never leaves a
// half-written file. The digest goes beside it (model.pt.digest).
void save_atomically(torch::serialize::OutputArchive& archive, const fs::path& file) {
  const fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".partial");
  archive.save_to(temporary.string());
  write_text_atomically(assim::file_digest(temporary) + "\n", digest_path(file));
  fs::rename(temporary, file);
}

fs::path checkpoint_path(const fs::path& folder, std::int64_t epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "epoch-%05lld.pt", static_cast<long long>(epoch));
  return folder / name;
}

// Epochs of the checkpoints found in `folder`, newest first.
std::vector<std::int64_t> checkpoint_epochs(const fs::path& folder) {
  std::vector<std::int64_t> epochs;
  if (!fs::is_directory(folder)) return epochs;
  const std::regex pattern("epoch-([0-9]+)\\.pt");
  std::smatch m;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) epochs.push_back(std::stoll(m[1].str()));
  }
  std::sort(epochs.rbegin(), epochs.rend());
  return epochs;
}

struct Row {
  double train, validation, seconds;
};

}  // namespace

namespace {

// The network's settings, each bound to the Architecture field it fills
// (whose initial value is the default); the state's shape, the window and
// the augmentation fill the prior itself.
assim::Fields<Architecture> fields() {
  assim::Fields<Architecture> p;
  p.unbound()
      .integers("state_shape", {2, 64, 64}, "", "one state frame [channels, y, x]; the training data and z_t must have it")
      .at_least(1);
  p.unbound().integer("window", 9, "frames", "L: frames per window the prior is trained on").at_least(1);
  p.integers("channels", &Architecture::channels, "", "U-Net channels per level (levels = entries)").at_least(1);
  p.integer("blocks", &Architecture::blocks, "", "residual blocks per level on each side of the U-Net").at_least(1);
  p.integer("kernel", &Architecture::kernel, "cells", "spatial convolution kernel size (odd); the papers use 5")
      .at_least(1);
  p.integer("frequencies", &Architecture::frequencies, "", "time features cos/sin(pi k t), k = 1..frequencies")
      .at_least(1);
  p.integer("embedding_hidden", &Architecture::hidden, "", "width of the time-embedding MLP").at_least(1);
  p.integer("embedding", &Architecture::embedding, "", "time-embedding size fed to every residual block").at_least(1);
  p.boolean("positional", &Architecture::positional,
            "append 4 fixed channels cos/sin(2 pi i/n), cos/sin(2 pi j/n) (SDA-QG); breaks translation "
            "equivariance, which homogeneous QG turbulence does not need");
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
  if (state.size() != 3) config.fail("state_shape", "needs 3 entries [channels, y, x]");
  state_channels_ = state[0];
  arch_.height = state[1];
  arch_.width = state[2];
  window_ = config.get<std::int64_t>("window");
  if (arch_.channels.empty()) config.fail("channels", "needs at least one level");
  if (arch_.kernel % 2 == 0) config.fail("kernel", "must be odd so that the padding centres it");
  // Each level below the first halves the grid with a stride-2 convolution.
  const std::int64_t factor = std::int64_t{1} << (arch_.channels.size() - 1);
  if (arch_.height % factor != 0 || arch_.width % factor != 0)
    config.fail("state_shape", "y and x must be divisible by " + std::to_string(factor) + " for " +
                                   std::to_string(arch_.channels.size()) + " U-Net levels");
  arch_.channels_in = state_channels_;
  if (config.has("augment_with")) {
    augment_ = config.component<assim::ObservationOperator>("augment_with");
    const auto out = augment_->output_shape(state);
    if (out.size() != 3 || out[1] != arch_.height || out[2] != arch_.width)
      config.fail("augment_with", "its output on a state " + list_text(state) + " is " + list_text(out) +
                                      "; the augmented prior needs [channels, " + std::to_string(arch_.height) +
                                      ", " + std::to_string(arch_.width) + "] to stack it on the state's channels");
    arch_.channels_in += out[0];
  }
  // float32 weights; training adds their gradients and AdamW's two moments.
  const double weights = arch_.parameter_estimate();
  assim::check_memory(config, "channels", 16 * weights,
                      "a U-Net of " + assim::number_text(weights) + " parameters with its training state");
  net_ = UNet(arch_);
}

at::Tensor ScorePrior::augment(const at::Tensor& x) const {
  if (!augment_) return x;
  const std::int64_t b = x.size(0), l = x.size(1);
  const auto frames = x.reshape({b * l, x.size(2), x.size(3), x.size(4)});
  const auto hx = augment_->apply(frames).to(x.scalar_type());
  return at::cat({frames, hx}, 1).reshape({b, l, arch_.channels_in, x.size(3), x.size(4)});
}

at::Tensor ScorePrior::denoise(const at::Tensor& z_t, const at::Tensor& t) const {
  if (z_t.dim() != 5 || z_t.size(2) != arch_.channels_in || z_t.size(3) != arch_.height ||
      z_t.size(4) != arch_.width)
    throw assim::Error("prior.score_unet: z_t must have shape (batch, frames, " + std::to_string(arch_.channels_in) +
                       ", " + std::to_string(arch_.height) + ", " + std::to_string(arch_.width) + "), got " +
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
  const auto out = net->forward(z_t.to(device_, torch::kFloat), t.reshape({b}).to(device_, torch::kFloat));
  return out.to(z_t.device(), z_t.scalar_type());
}

void ScorePrior::check_data(const at::Tensor& pieces, const std::string& what) const {
  if (pieces.dim() != 5 || pieces.size(2) != state_channels_ || pieces.size(3) != arch_.height ||
      pieces.size(4) != arch_.width)
    throw assim::Error("prior.score_unet: " + what + " data must have shape (pieces, frames, " +
                       std::to_string(state_channels_) + ", " + std::to_string(arch_.height) + ", " +
                       std::to_string(arch_.width) + ") (state_shape), got " + assim::shape_text(pieces.sizes()));
  if (pieces.size(0) > 0 && pieces.size(1) < window_)
    throw assim::Error("prior.score_unet: " + what + " pieces have " + std::to_string(pieces.size(1)) +
                       " frames, fewer than the window of " + std::to_string(window_));
}

void ScorePrior::fit(const assim::TrainingData& data, const assim::TrainingOptions& options) {
  check_data(data.train, "training");
  if (data.train.size(0) == 0) throw assim::Error("prior.score_unet: no training pieces");
  const bool validate = data.validation.defined() && data.validation.numel() > 0;
  if (validate) check_data(data.validation, "validation");
  if (options.epochs < 1 || options.batch_size < 1)
    throw assim::Error("prior.score_unet: epochs and batch size must be >= 1");
  if (options.device == "cuda") {
    if (!torch::cuda::is_available())
      throw assim::Error("prior.score_unet: device cuda asked for, but this LibTorch sees no CUDA device "
                         "(a CPU-only build or no GPU); use device: cpu");
    device_ = torch::Device(torch::kCUDA);
  } else if (options.device == "cpu") {
    device_ = torch::Device(torch::kCPU);
  } else {
    throw assim::Error("prior.score_unet: device must be cpu or cuda, got '" + options.device + "'");
  }
  if (options.checkpoints.empty() || options.output.empty())
    throw assim::Error("prior.score_unet: fit needs a checkpoints folder and an output folder");
  fs::create_directories(options.checkpoints);
  fs::create_directories(options.output);

  const at::Tensor train = data.train.to(torch::kFloat);
  const std::int64_t frames = data.train.size(1);
  // One epoch draws as many windows as there are distinct ones (before rolls).
  const std::int64_t per_epoch = train.size(0) * (frames - window_ + 1);
  const std::int64_t batch = options.batch_size;
  const std::int64_t steps = (per_epoch + batch - 1) / batch;
  const std::int64_t total_steps = options.epochs * steps;

  torch::manual_seed(options.seed);
  net_ = UNet(arch_);
  std::int64_t start = 0;
  std::vector<Row> history;
  double best = std::numeric_limits<double>::infinity();
  scale_ = data.scale.defined() ? data.scale.to(torch::kFloat).cpu() : torch::ones({state_channels_});
  const fs::path best_file = options.checkpoints / "best.pt";

  // Resume from the newest readable checkpoint; an unreadable one (the disk
  // filled up, say) falls back to the one before.
  std::optional<torch::serialize::InputArchive> optimiser_state;
  for (std::int64_t epoch : checkpoint_epochs(options.checkpoints)) {
    const fs::path file = checkpoint_path(options.checkpoints, epoch);
    try {
      torch::serialize::InputArchive archive;
      open_archive(archive, file, checkpoint_format, device_);
      check_architecture(archive, arch_, file);
      UNet resumed(arch_);
      read_weights(archive, resumed, file);
      torch::serialize::InputArchive state;
      if (!archive.try_read("optimiser", state)) fail_file(file, "has no optimiser state");
      torch::Tensor rows;
      if (!archive.try_read("history", rows)) fail_file(file, "has no history");
      rows = rows.cpu();
      start = read_int(archive, "epoch", file);
      if (rows.size(0) != start) fail_file(file, "has a history of another length than its epoch");
      for (std::int64_t i = 0; i < start; ++i)
        history.push_back({rows[i][0].item<double>(), rows[i][1].item<double>(), rows[i][2].item<double>()});
      if (validate && start > 0) best = rows.select(1, 1).min().item<double>();
      if (read_int(archive, "steps_per_epoch", file) != steps || read_int(archive, "epochs", file) != options.epochs)
        assim::log::warning("prior.score_unet: ", file.string(),
                            " was written with other epochs or batch size; the resumed fit will not "
                            "follow the interrupted one's learning-rate schedule");
      net_ = resumed;
      optimiser_state = std::move(state);
      assim::log::info("prior.score_unet: resuming after epoch ", start, " from ", file.string());
      break;
    } catch (const assim::Error& e) {
      assim::log::warning("prior.score_unet: cannot resume: ", e.what());
      start = 0;
      history.clear();
      best = std::numeric_limits<double>::infinity();
    }
  }
  net_->to(device_);
  torch::optim::AdamW optimiser(net_->parameters(),
                                torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));
  if (optimiser_state) {
    try {
      optimiser.load(*optimiser_state);
    } catch (const c10::Error& e) {
      throw assim::Error("prior.score_unet: the optimiser state in " + options.checkpoints.string() +
                         " does not fit this network: " + std::string(e.what_without_backtrace()));
    }
  }

  // Fixed validation draws: the same windows, times and noise every epoch.
  at::Tensor val_z, val_t, val_eps;
  if (validate) {
    auto rng = generator(options.seed, 0, 1);
    const at::Tensor val = data.validation.to(torch::kFloat);
    const std::int64_t n = std::min(validation_samples, val.size(0) * (val.size(1) - window_ + 1));
    torch::NoGradGuard no_grad;
    val_z = augment(draw_windows(val, n, window_, rng));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(rng());
    val_t = torch::rand({n}, gen);
    val_eps = torch::randn(val_z.sizes(), gen);
  }

  auto write_model = [&](const fs::path& file) {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(model_format)));
    write_architecture(archive, arch_);
    archive.write("settings", c10::IValue(settings_));
    archive.write("scale", scale_);
    archive.write("epoch", c10::IValue(static_cast<std::int64_t>(history.size())));
    write_weights(archive, net_);
    save_atomically(archive, file);
  };

  assim::Progress progress("fit prior.score_unet", (options.epochs - start) * per_epoch, "sample");
  for (std::int64_t epoch = start; epoch < options.epochs; ++epoch) {
    const auto began = std::chrono::steady_clock::now();
    auto rng = generator(options.seed, static_cast<std::uint64_t>(epoch), 0);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(rng());
    double sum = 0;
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t b = std::min(batch, per_epoch - s * batch);
      // Linear decay to 0 over the whole fit (reference, "Training").
      const double lr = options.learning_rate * (1.0 - static_cast<double>(epoch * steps + s) / total_steps);
      for (auto& group : optimiser.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      at::Tensor z;
      {
        torch::NoGradGuard no_grad;
        z = augment(draw_windows(train, b, window_, rng));
      }
      const at::Tensor t = torch::rand({b}, gen), eps = torch::randn(z.sizes(), gen);
      const at::Tensor z_t = schedule_.noise(z, eps, t).to(device_);
      const at::Tensor loss = (net_->forward(z_t, t.to(device_)) - eps.to(device_)).square().mean();
      optimiser.zero_grad();
      loss.backward();
      optimiser.step();
      const double value = loss.item<double>();
      if (!std::isfinite(value)) throw assim::DivergenceError(epoch * steps + s, "prior.score_unet: the loss is " + std::to_string(value));
      sum += value * static_cast<double>(b);
      progress.advance(b);
      char note[96];
      std::snprintf(note, sizeof note, "epoch %lld/%lld loss %.4f", static_cast<long long>(epoch + 1),
                    static_cast<long long>(options.epochs), sum / static_cast<double>(s * batch + b));
      progress.note(note);
    }
    double val_loss = std::numeric_limits<double>::quiet_NaN();
    if (validate) {
      torch::NoGradGuard no_grad;
      double vsum = 0;
      for (std::int64_t i = 0; i < val_z.size(0); i += batch) {
        const std::int64_t b = std::min(batch, val_z.size(0) - i);
        const at::Tensor t = val_t.narrow(0, i, b), eps = val_eps.narrow(0, i, b);
        const at::Tensor z_t = schedule_.noise(val_z.narrow(0, i, b), eps, t).to(device_);
        vsum += (net_->forward(z_t, t.to(device_)) - eps.to(device_)).square().mean().item<double>() *
                static_cast<double>(b);
      }
      val_loss = vsum / static_cast<double>(val_z.size(0));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    history.push_back({sum / static_cast<double>(per_epoch), val_loss, seconds});
    assim::log::info("prior.score_unet: epoch ", epoch + 1, "/", options.epochs, " train loss ",
                     history.back().train, validate ? " validation loss " + std::to_string(val_loss) : "", " (",
                     seconds, " s)");
    // Checkpoint selection by validation loss (reference, "Training").
    if (validate && val_loss < best) {
      best = val_loss;
      write_model(best_file);
    }

    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(checkpoint_format)));
    write_architecture(archive, arch_);
    archive.write("settings", c10::IValue(settings_));
    archive.write("scale", scale_);
    archive.write("epoch", c10::IValue(epoch + 1));
    archive.write("epochs", c10::IValue(options.epochs));
    archive.write("steps_per_epoch", c10::IValue(steps));
    at::Tensor rows = torch::empty({static_cast<std::int64_t>(history.size()), 3}, torch::kDouble);
    for (std::size_t i = 0; i < history.size(); ++i) {
      rows[static_cast<std::int64_t>(i)][0] = history[i].train;
      rows[static_cast<std::int64_t>(i)][1] = history[i].validation;
      rows[static_cast<std::int64_t>(i)][2] = history[i].seconds;
    }
    archive.write("history", rows);
    write_weights(archive, net_);
    torch::serialize::OutputArchive opt;
    optimiser.save(opt);
    archive.write("optimiser", opt);
    save_atomically(archive, checkpoint_path(options.checkpoints, epoch + 1));
    // Keep the newest two: the older is the fallback should the newest be unreadable.
    for (std::int64_t old : checkpoint_epochs(options.checkpoints))
      if (old < epoch) fs::remove(checkpoint_path(options.checkpoints, old));
  }
  progress.finish();

  write_model(options.output / "final.pt");
  if (validate && fs::exists(best_file)) {
    const fs::path temporary = options.output / ".model.pt.partial";
    fs::copy_file(best_file, temporary, fs::copy_options::overwrite_existing);
    fs::rename(temporary, options.output / "model.pt");
  } else {
    write_model(options.output / "model.pt");
  }
  std::ostringstream csv;
  csv << "epoch,train_loss,validation_loss,seconds\n";
  csv.precision(9);
  for (std::size_t i = 0; i < history.size(); ++i) {
    csv << i + 1 << "," << history[i].train << ",";
    if (!std::isnan(history[i].validation)) csv << history[i].validation;
    csv << "," << history[i].seconds << "\n";
  }
  write_text_atomically(csv.str(), options.output / "training.csv");
}

void ScorePrior::load(const fs::path& folder) {
  const fs::path file = folder / "model.pt";
  torch::serialize::InputArchive archive;
  open_archive(archive, file, model_format);
  check_architecture(archive, arch_, file);
  UNet net(arch_);
  read_weights(archive, net, file);
  torch::Tensor scale;
  if (!archive.try_read("scale", scale)) fail_file(file, "has no scale");
  net_ = net;
  device_ = torch::Device(torch::kCPU);
  scale_ = scale;
}

}  // namespace assim::score_prior
