// The fit of a U-Net that both learned components share (the score prior's
// denoising loss, the estimator's eq. 21): AdamW with a learning rate decayed
// linearly to 0, a checkpoint per epoch from which a killed fit resumes on
// the same loss curve, selection of the best validation weights, and the
// files a fit leaves (model.pt, final.pt, training.csv), each written beside
// its target and renamed, with its digest.
#pragma once

#include "unet.hpp"

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
  // The mean loss of `count` samples drawn from this epoch's generators, with
  // its graph (the fit calls backward on it).
  std::function<at::Tensor(UNet& net, std::int64_t count, std::mt19937_64& rng, at::Generator& generator)> batch_loss;
  // The held-out loss, without a graph; empty: no validation.
  std::function<double(UNet& net)> validation_loss;
};

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

// A generator for one epoch (stream 0) or for validation (stream 1): each
// epoch's draws depend only on (seed, epoch), so a fit resumed at an epoch
// boundary draws exactly what the uninterrupted fit would have.
std::mt19937_64 generator(std::uint64_t seed, std::uint64_t epoch, std::uint32_t stream);

// "[1, 2, 3]" for messages.
std::string list_text(const std::vector<std::int64_t>& values);
// "(batch, frames, 2, 16, 16)": windows of frames of shape `frame`, the first dim named `leading`.
std::string windows_text(const std::string& leading, const std::vector<std::int64_t>& frame);

}  // namespace assim::score_prior
