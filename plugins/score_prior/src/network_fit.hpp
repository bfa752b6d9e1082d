// The fit of a U-Net that both learned components share (the score prior's
// denoising loss, the estimator's eq. 21): AdamW with a learning rate decayed
// linearly to 0, a checkpoint per epoch from which a killed fit resumes on
// the same loss curve, selection of the best validation weights, and the
// files a fit leaves (model.pt, final.pt, training.csv), each written beside
// its target and renamed, with its digest.
//
// Data-parallel over the workers (assim/workers.hpp): each batch is split
// into a fixed number of shards, each drawn from its own generators (seed,
// epoch, step, shard) and differentiated on a worker against the shared
// weights; the gradients are summed in shard order on the calling thread
// before the optimiser step. The number of shards is a setting, not the
// number of workers, so a fit gives the same weights on any number of them.
#pragma once

#include "unet.hpp"

#include <assim/parameters.hpp>
#include <assim/prior.hpp>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace assim::score_prior {

struct FitPlan {
  std::string who;       // the component type, for messages: "prior.score_unet"
  std::string format;    // "assim.prior.score_unet": files are <format>.checkpoint and <format>.model
  Architecture architecture;
  Compute compute;       // how the network computes (logged when the fit starts)
  std::string settings;  // the component's resolved settings (YAML), written into every file
  at::Tensor scale;      // (channels) the states' normalisation, kept in the files; undefined: none
  std::int64_t per_epoch = 0;  // samples one epoch draws
  // Shards of every batch (>= 1): shard k of a batch of b samples holds
  // samples [b k / shards, b (k + 1) / shards).
  std::int64_t shards = 1;
  // The mean loss of `count` samples drawn from one shard's generators, with
  // its graph (the fit differentiates it). Called on the workers, several
  // shards at once, all with the same `net`: it must only read the network
  // and the component (no member written), its draws from rng and generator only.
  std::function<at::Tensor(UNet& net, std::int64_t count, std::mt19937_64& rng, at::Generator& generator)> batch_loss;
  // The held-out loss: the mean over held-out samples [first, first + count),
  // without a graph; called on the workers like batch_loss. The fit averages
  // it over slices of batch_size samples, summed in order.
  std::int64_t validation_size = 0;  // held-out samples; 0: no validation
  std::function<double(UNet& net, std::int64_t first, std::int64_t count)> validation_loss;
};

// The settings of the fit that belong to the component (`shards`), declared
// once for every component built on fit_network, and their values.
void add_fit_fields(assim::Parameters& parameters);
std::int64_t read_shards(const assim::Config& config);
// The largest shard of a batch of `batch` samples: what one call of the
// network computes in a training step, on whichever worker.
std::int64_t shard_batch(std::int64_t batch, std::int64_t shards);

// Fits a fresh network (or resumes from options.checkpoints) and writes
// options.output/{model.pt (the best validation weights, else the last),
// final.pt, training.csv}. Returns the last weights (their moving average
// when options.ema > 0: then the average is validated and written too).
UNet fit_network(const FitPlan& plan, const TrainingOptions& options, const torch::Device& device);

// The network in <folder>/model.pt, checked against the architecture, and
// (when asked for) the scale stored with it.
UNet load_network(const std::filesystem::path& folder, const Architecture& architecture, const Compute& compute,
                  const std::string& format, at::Tensor* scale = nullptr);

// "cpu" or "cuda" as a device, refusing cuda where LibTorch sees none.
torch::Device training_device(const std::string& name, const std::string& who);

// A generator for validation (stream 1; epoch 0): draws that depend only on
// (seed, epoch, stream).
std::mt19937_64 generator(std::uint64_t seed, std::uint64_t epoch, std::uint32_t stream);
// The generator of one shard of one step of an epoch: a shard's draws depend
// on (seed, epoch, step, shard) only, not on the worker that makes them, and
// a fit resumed at an epoch boundary draws what the uninterrupted one would have.
std::mt19937_64 shard_generator(std::uint64_t seed, std::uint64_t epoch, std::uint64_t step, std::uint64_t shard);

// "[1, 2, 3]" for messages.
std::string list_text(const std::vector<std::int64_t>& values);
// "(batch, frames, 2, 16, 16)": windows of frames of shape `frame`, the first dim named `leading`.
std::string windows_text(const std::string& leading, const std::vector<std::int64_t>& frame);

}  // namespace assim::score_prior
