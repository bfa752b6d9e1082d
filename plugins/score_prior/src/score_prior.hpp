// prior.score_unet: the learned score prior of SDA / SOAD, a temporal U-Net
// denoiser eps_hat(z_t, t) over windows of normalised states, optionally
// augmented with an observation operator's output (SOAD: z = (x, H(x))).
#pragma once

#include "unet.hpp"

#include <assim/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/parameters.hpp>
#include <assim/prior.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace assim::score_prior {

class ScorePrior : public assim::Prior {
 public:
  static assim::Parameters parameters();
  explicit ScorePrior(const assim::Config& config);

  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override;
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return augment_; }
  bool learned() const override { return true; }
  // Writes <output>/model.pt (what `load` reads: the best-validation
  // weights when there are validation pieces, else the last), final.pt (the
  // last weights) and training.csv.
  void fit(const assim::TrainingData& data, const assim::TrainingOptions& options) override;
  void load(const std::filesystem::path& folder) override;

  const Architecture& architecture() const { return arch_; }
  std::int64_t window() const { return window_; }
  UNet network() const { return net_; }
  // The per-channel std the training states were divided by (undefined before fit/load).
  const at::Tensor& scale() const { return scale_; }

 private:
  // z = concat(x, H(x)) on channels, H noise-free on every frame; x (B, L, C, H, W).
  at::Tensor augment(const at::Tensor& x) const;
  // One frame of z as denoise takes it: [z channels, y, x], or the state's shape when it has no channel dim.
  std::vector<std::int64_t> z_shape() const;
  void check_data(const at::Tensor& pieces, const std::string& what) const;

  Architecture arch_;
  Compute compute_;
  std::vector<std::int64_t> state_shape_;
  std::int64_t state_channels_ = 2;
  std::int64_t window_ = 9;
  std::int64_t shards_ = 4;  // of every training batch (network_fit.hpp)
  std::shared_ptr<const assim::ObservationOperator> augment_;
  std::string settings_;  // resolved settings as YAML, written into every checkpoint
  assim::CosineSchedule schedule_;
  UNet net_{nullptr};
  torch::Device device_{torch::kCPU};
  at::Tensor scale_;
};

}  // namespace assim::score_prior
