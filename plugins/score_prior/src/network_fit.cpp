#include "network_fit.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/log.hpp>
#include <assim/progress.hpp>
#include <assim/shape.hpp>
#include <assim/team.hpp>
#include <assim/workers.hpp>
#include <assim/write_file.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <sstream>

namespace assim::score_prior {

namespace fs = std::filesystem;

std::mt19937_64 generator(std::uint64_t seed, std::uint64_t epoch, std::uint32_t stream) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(epoch >> 32), stream};
  return std::mt19937_64(seq);
}

std::mt19937_64 shard_generator(std::uint64_t seed, std::uint64_t epoch, std::uint64_t step, std::uint64_t shard) {
  // Stream 2, and one more word than generator()'s: no shard shares a seed with validation.
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(epoch >> 32),
                    std::uint32_t{2},
                    static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                    static_cast<std::uint32_t>(shard), static_cast<std::uint32_t>(shard >> 32)};
  return std::mt19937_64(seq);
}

void add_fit_fields(assim::Parameters& p) {
  p.integer("shards", 4, "",
            "shards of every training batch, each drawn from its own generators and differentiated side by side "
            "on the workers (assim run --workers), their gradients summed in shard order: the fit is the same on "
            "any number of workers; another number of shards draws other samples")
      .at_least(1);
}

std::int64_t read_shards(const assim::Config& config) { return config.get<std::int64_t>("shards"); }

std::int64_t shard_batch(std::int64_t batch, std::int64_t shards) {
  return std::max<std::int64_t>(1, (batch + shards - 1) / std::max<std::int64_t>(shards, 1));
}


std::string windows_text(const std::string& leading, const std::vector<std::int64_t>& frame) {
  const std::string list = list_text(frame);
  return "(" + leading + ", frames, " + list.substr(1, list.size() - 2) + ")";
}

std::string list_text(const std::vector<std::int64_t>& v) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  out << "]";
  return out.str();
}

namespace {

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
      fail_file(file, "has no architecture/" + name + " entry: not written for this network");
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

// The weights under "model/" (what the network files hold), or under another
// prefix ("ema/": the checkpoints' moving average).
void write_weights(torch::serialize::OutputArchive& archive, const UNet& net, const std::string& prefix = "model/") {
  for (const auto& p : net->named_parameters()) archive.write(prefix + p.key(), p.value().detach().cpu().contiguous());
  for (const auto& b : net->named_buffers()) archive.write("buffer/" + b.key(), b.value().cpu(), true);
}

void read_weights(torch::serialize::InputArchive& archive, const UNet& net, const fs::path& file,
                  const std::string& prefix = "model/") {
  torch::NoGradGuard no_grad;
  auto read_into = [&](const std::string& key, torch::Tensor& target, bool buffer) {
    torch::Tensor stored;
    if (!archive.try_read(key, stored, buffer)) fail_file(file, "lacks " + key + " (truncated or not this network)");
    if (stored.sizes() != target.sizes())
      fail_file(file, key + " has shape " + assim::shape_text(stored.sizes()) + ", the network expects " +
                          assim::shape_text(target.sizes()));
    target.copy_(stored);
  };
  for (auto& p : net->named_parameters()) read_into(prefix + p.key(), p.value(), false);
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
    fail_file(file, "cannot be read as a " + std::string(format) + " file (truncated or corrupt?): " + what);
  }
  const std::string found = read_string(archive, "format", file);
  if (found != format) fail_file(file, "is a '" + found + "', expected a '" + format + "'");
}

// The file, then its digest beside it (model.pt.digest), each written whole
// or not at all (write_file). The old digest goes first: a process killed in
// between leaves a file without a digest, read unchecked, never a file beside
// another's digest.
void save(torch::serialize::OutputArchive& archive, const fs::path& file) {
  std::string bytes;
  archive.save_to([&bytes](const void* data, std::size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  fs::remove(digest_path(file));
  assim::write_file(file, bytes);
  assim::write_file(digest_path(file), assim::file_digest(file) + "\n");
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

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

// The exponential moving average of a network's weights (Polyak averaging,
// as diffusion models are commonly trained): after optimiser step t,
// average = d average + (1 - d) weights with d = min(decay, (1 + t) / (10 + t)),
// so that the first steps, far from the later weights, fade quickly.
class WeightAverage {
 public:
  WeightAverage(const UNet& net, const Architecture& architecture, const Compute& compute, double decay)
      : average_(architecture, compute), decay_(decay) {
    torch::NoGradGuard no_grad;
    auto to = average_->parameters();
    const auto from = net->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  }
  void update(const UNet& net, std::int64_t step) {
    torch::NoGradGuard no_grad;
    const double d = std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
    auto to = average_->parameters();
    const auto from = net->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) to[i].mul_(d).add_(from[i], 1.0 - d);
  }
  UNet& network() { return average_; }

 private:
  UNet average_;
  double decay_;
};

at::Tensor history_rows(const std::vector<Row>& history) {
  at::Tensor rows = torch::empty({static_cast<std::int64_t>(history.size()), 3}, torch::kDouble);
  for (std::size_t i = 0; i < history.size(); ++i) {
    rows[static_cast<std::int64_t>(i)][0] = history[i].train;
    rows[static_cast<std::int64_t>(i)][1] = history[i].validation;
    rows[static_cast<std::int64_t>(i)][2] = history[i].seconds;
  }
  return rows;
}

}  // namespace

torch::Device training_device(const std::string& name, const std::string& who) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw assim::Error(who + ": device cuda asked for, but this LibTorch sees no CUDA device "
                               "(a CPU-only build or no GPU); use device: cpu");
    return torch::Device(torch::kCUDA);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  throw assim::Error(who + ": device must be cpu or cuda, got '" + name + "'");
}

UNet fit_network(const FitPlan& plan, const TrainingOptions& options, const torch::Device& device) {
  const std::string& who = plan.who;
  const std::string checkpoint_format = plan.format + ".checkpoint", model_format = plan.format + ".model";
  if (options.epochs < 1 || options.batch_size < 1) throw assim::Error(who + ": epochs and batch size must be >= 1");
  if (options.checkpoints.empty() || options.output.empty())
    throw assim::Error(who + ": fit needs a checkpoints folder and an output folder");
  if (plan.per_epoch < 1) throw assim::Error(who + ": nothing to train on");
  if (plan.shards < 1) throw assim::Error(who + ": shards must be >= 1");
  // On the ranks that join a leader the fit computes and shares; the leader writes.
  const bool writes = assim::team::writes();
  if (writes) {
    fs::create_directories(options.checkpoints);
    fs::create_directories(options.output);
  }
  const Architecture& arch = plan.architecture;
  const bool validate = plan.validation_loss && plan.validation_size > 0;
  const std::int64_t shards = plan.shards;
  const std::int64_t batch = options.batch_size;
  const std::int64_t steps = (plan.per_epoch + batch - 1) / batch;
  const std::int64_t total_steps = options.epochs * steps;

  UNet net = seeded_network(arch, plan.compute, options.seed);
  std::int64_t start = 0;
  std::vector<Row> history;
  double best = std::numeric_limits<double>::infinity();
  const fs::path best_file = options.checkpoints / "best.pt";

  // Resume from the newest readable checkpoint; an unreadable one (the disk
  // filled up, say) falls back to the one before.
  std::optional<torch::serialize::InputArchive> optimiser_state, resume_average;
  for (std::int64_t epoch : checkpoint_epochs(options.checkpoints)) {
    const fs::path file = checkpoint_path(options.checkpoints, epoch);
    try {
      torch::serialize::InputArchive archive;
      open_archive(archive, file, checkpoint_format.c_str(), device);
      check_architecture(archive, arch, file);
      UNet resumed(arch, plan.compute);
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
        assim::log::warning(who, ": ", file.string(),
                            " was written with other epochs or batch size; the resumed fit will not "
                            "follow the interrupted one's learning-rate schedule");
      c10::IValue written_shards;
      if (!archive.try_read("shards", written_shards) || !written_shards.isInt() || written_shards.toInt() != shards)
        assim::log::warning(who, ": ", file.string(), " was written by a fit of other shards than ", shards,
                            "; the resumed fit draws other samples than the interrupted one would have");
      net = resumed;
      optimiser_state = std::move(state);
      if (options.ema > 0) {
        torch::Tensor probe;
        if (!archive.try_read("ema/" + net->named_parameters().begin()->key(), probe))
          fail_file(file, "has no weight average (written by a fit without ema)");
        resume_average = std::move(archive);
      }
      assim::log::info(who, ": resuming after epoch ", start, " from ", file.string());
      break;
    } catch (const assim::Error& e) {
      assim::log::warning(who, ": cannot resume: ", e.what());
      start = 0;
      history.clear();
      best = std::numeric_limits<double>::infinity();
    }
  }
  net->to(device);
  std::optional<WeightAverage> average;
  if (options.ema > 0) {
    average.emplace(net, arch, plan.compute, options.ema);
    if (resume_average) {
      read_weights(*resume_average, average->network(), checkpoint_path(options.checkpoints, start), "ema/");
      resume_average.reset();
    }
    average->network()->to(device);
  }
  // What is validated, selected and written: the average when there is one.
  UNet& fitted = average ? average->network() : net;
  assim::log::info(who, ": fitting ", net->parameter_count(), " parameters on ", device.str(), " in ",
                   plan.compute.text(), average ? ", weights averaged with decay " + std::to_string(options.ema) : "",
                   ", batches in ", shards, " shard(s) on ",
                   assim::team::size() > 1 ? std::to_string(assim::team::size()) + " ranks of " : std::string(),
                   std::min<std::int64_t>(shards, assim::workers::count()), " worker(s)");
  // One set of weights, read by every shard at once; each shard's gradient
  // is its own (autograd::grad, not backward: nothing accumulates into the
  // shared .grad while the shards run).
  const std::vector<at::Tensor> parameters = net->parameters();
  torch::optim::AdamW optimiser(net->parameters(),
                                torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));
  if (optimiser_state) {
    try {
      optimiser.load(*optimiser_state);
    } catch (const c10::Error& e) {
      throw assim::Error(who + ": the optimiser state in " + options.checkpoints.string() +
                         " does not fit this network: " + std::string(e.what_without_backtrace()));
    }
  }

  auto write_model = [&](const fs::path& file) {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(model_format));
    write_architecture(archive, arch);
    archive.write("settings", c10::IValue(plan.settings));
    if (plan.scale.defined()) archive.write("scale", plan.scale);
    archive.write("epoch", c10::IValue(static_cast<std::int64_t>(history.size())));
    write_weights(archive, fitted);
    save(archive, file);
  };

  // The held-out loss of a network: slices of batch_size samples on the
  // workers, their means summed in slice order.
  auto validation_loss = [&](UNet& network) {
    const std::int64_t n = plan.validation_size, slices = (n + batch - 1) / batch;
    std::vector<double> means(static_cast<std::size_t>(slices));
    assim::workers::each(slices, [&](std::int64_t k) {
      torch::NoGradGuard no_grad;
      means[static_cast<std::size_t>(k)] = plan.validation_loss(network, k * batch, std::min(batch, n - k * batch));
    });
    double sum = 0;
    for (std::int64_t k = 0; k < slices; ++k)
      sum += means[static_cast<std::size_t>(k)] * static_cast<double>(std::min(batch, n - k * batch));
    return sum / static_cast<double>(n);
  };

  assim::Progress progress("fit " + who, (options.epochs - start) * plan.per_epoch, "sample");
  std::vector<double> shard_losses(static_cast<std::size_t>(shards));
  for (std::int64_t epoch = start; epoch < options.epochs; ++epoch) {
    const auto began = std::chrono::steady_clock::now();
    double sum = 0;
    std::int64_t clipped = 0;
    std::vector<double> norms;
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t b = std::min(batch, plan.per_epoch - s * batch);
      // Linear decay to 0 over the whole fit (reference, "Training").
      const double lr = options.learning_rate * (1.0 - static_cast<double>(epoch * steps + s) / total_steps);
      for (auto& group : optimiser.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      auto shard_size = [&](std::int64_t k) { return b * (k + 1) / shards - b * k / shards; };
      // Each shard's loss and gradient, weighted by its share of the batch
      // (their sum is the gradient of the batch's mean loss), on the workers
      // of every rank that runs the stage (sdk team.hpp): {loss, one
      // gradient per parameter}, nothing for a shard of no samples.
      const auto shard_results = assim::team::share(shards, [&](std::int64_t k) -> std::vector<at::Tensor> {
        const std::int64_t count = shard_size(k);
        if (count == 0) return {};  // a batch of fewer samples than shards
        torch::AutoGradMode grad_on(true);
        auto rng = shard_generator(options.seed, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(s),
                                   static_cast<std::uint64_t>(k));
        auto gen = at::make_generator<at::CPUGeneratorImpl>(rng());
        const at::Tensor loss = plan.batch_loss(net, count, rng, gen);
        const at::Tensor share = torch::full({}, static_cast<double>(count) / static_cast<double>(b), loss.options());
        std::vector<at::Tensor> out = {loss.detach().to(at::kDouble)};
        for (auto& g : torch::autograd::grad({loss}, parameters, {share}, /*retain_graph=*/false,
                                             /*create_graph=*/false, /*allow_unused=*/true))
          out.push_back(std::move(g));
        return out;
      });
      for (std::int64_t k = 0; k < shards; ++k) {
        const auto& shard = shard_results[static_cast<std::size_t>(k)];
        shard_losses[static_cast<std::size_t>(k)] = shard.empty() ? 0.0 : shard[0].item<double>();
      }
      // Summed in shard order, here: the same sum on any number of workers
      // and ranks. The first shard's gradient is copied: autograd may hand
      // one tensor to two parameters, and clipping scales the sum in place.
      for (std::size_t p = 0; p < parameters.size(); ++p) {
        at::Tensor total;
        for (const auto& shard : shard_results) {
          if (shard.empty() || !shard[p + 1].defined()) continue;
          const at::Tensor gradient = shard[p + 1].to(parameters[p].device());  // another rank's arrive on the CPU
          if (total.defined())
            total.add_(gradient);
          else
            total = gradient.clone();
        }
        parameters[p].mutable_grad() = total;
      }
      // The gradient's norm, logged per epoch: how often the bound binds and
      // how large the spikes it cuts are.
      const double norm = torch::nn::utils::clip_grad_norm_(
          net->parameters(), options.gradient_clip > 0 ? options.gradient_clip : std::numeric_limits<double>::infinity());
      norms.push_back(norm);
      if (options.gradient_clip > 0 && norm > options.gradient_clip) ++clipped;
      optimiser.step();
      if (average) average->update(net, epoch * steps + s);
      double total = 0;  // the batch's summed loss
      for (std::int64_t k = 0; k < shards; ++k)
        total += shard_losses[static_cast<std::size_t>(k)] * static_cast<double>(shard_size(k));
      const double value = total / static_cast<double>(b);
      if (!std::isfinite(value))
        throw assim::DivergenceError(epoch * steps + s, who + ": the loss is " + std::to_string(value));
      sum += total;
      progress.advance(b);
      char note[96];
      std::snprintf(note, sizeof note, "epoch %lld/%lld loss %.4f", static_cast<long long>(epoch + 1),
                    static_cast<long long>(options.epochs), sum / static_cast<double>(s * batch + b));
      progress.note(note);
    }
    double val_loss = std::numeric_limits<double>::quiet_NaN();
    if (validate) val_loss = validation_loss(fitted);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    history.push_back({sum / static_cast<double>(plan.per_epoch), val_loss, seconds});
    assim::log::info(who, ": epoch ", epoch + 1, "/", options.epochs, " train loss ", history.back().train,
                     validate ? " validation loss " + std::to_string(val_loss) : "",
                     ", gradient norm median ", median(norms), " max ",
                     *std::max_element(norms.begin(), norms.end()),
                     options.gradient_clip > 0 ? ", clipped in " + std::to_string(clipped) + " of " +
                                                     std::to_string(steps) + " steps"
                                               : "",
                     " (", seconds, " s)");
    // Checkpoint selection by validation loss (reference, "Training").
    if (validate && val_loss < best) {
      best = val_loss;
      if (writes) write_model(best_file);
    }
    if (!writes) continue;

    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(checkpoint_format));
    write_architecture(archive, arch);
    archive.write("settings", c10::IValue(plan.settings));
    if (plan.scale.defined()) archive.write("scale", plan.scale);
    archive.write("epoch", c10::IValue(epoch + 1));
    archive.write("epochs", c10::IValue(options.epochs));
    archive.write("steps_per_epoch", c10::IValue(steps));
    archive.write("shards", c10::IValue(shards));
    archive.write("history", history_rows(history));
    write_weights(archive, net);
    if (average) write_weights(archive, average->network(), "ema/");
    torch::serialize::OutputArchive opt;
    optimiser.save(opt);
    archive.write("optimiser", opt);
    save(archive, checkpoint_path(options.checkpoints, epoch + 1));
    // Keep the newest two: the older is the fallback should the newest be unreadable.
    for (std::int64_t old : checkpoint_epochs(options.checkpoints))
      if (old < epoch) fs::remove(checkpoint_path(options.checkpoints, old));
  }
  progress.finish();
  if (!writes) return fitted;

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
  assim::write_file(options.output / "training.csv", csv.str());
  return fitted;
}

UNet load_network(const fs::path& folder, const Architecture& architecture, const Compute& compute,
                  const std::string& format, at::Tensor* scale) {
  const fs::path file = folder / "model.pt";
  torch::serialize::InputArchive archive;
  open_archive(archive, file, (format + ".model").c_str());
  check_architecture(archive, architecture, file);
  UNet net(architecture, compute);
  read_weights(archive, net, file);
  if (scale && !archive.try_read("scale", *scale)) fail_file(file, "has no scale");
  return net;
}

}  // namespace assim::score_prior
