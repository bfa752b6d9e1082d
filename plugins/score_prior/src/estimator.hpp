// sampler.estimator: the learned estimator x = F_w(y) of Li & Liu's
// Bayesian view (their eq. 21): the U-Net of prior.score_unet without the
// diffusion time maps a window's masked observations, its mask and (setting
// I) the background to the window's states, with weights fitted by MAP on
// pairs the train stage draws through the observe stage's design. The
// network sees the whole window at once, so it learns the dynamics between
// frames as well; `per_frame` applies it to each frame alone instead, as
// eq. 21's x_t = F_w(y_t) (the background, which observes frame 0, on frame 0 only):
//
//   L(w) = mean over pairs and entries of (x - F_w(y))^2 + weight_penalty |w|^2,
//
// eq. 21 with the Gaussian weight prior w~ = 0 and c^-1 = weight_penalty
// times the number of entries summed; with weight_penalty > 0 the fit's AdamW
// decays no weights (its decay would be a second weight prior).
// Deterministic: one member, no spread.
#pragma once

#include "unet.hpp"

#include <assim/config.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace assim::score_prior {

class Estimator : public assim::Sampler {
 public:
  static assim::Parameters parameters();
  explicit Estimator(const assim::Config& config);

  assim::SamplerNeeds needs() const override;
  // (1, L, state...): F_w of the problem's observations, mask and background.
  at::Tensor sample(const assim::AssimilationProblem& problem, std::int64_t members,
                    std::uint64_t seed) const override;
  bool learned() const override { return true; }
  // Writes <output>/model.pt (best validation weights when there are
  // validation pairs, else the last), final.pt and training.csv.
  void fit(const assim::EstimatorData& data, const assim::TrainingOptions& options) override;
  void load(const std::filesystem::path& folder) override;

  // F_w on a batch: observations and mask (B, L, observation...), background
  // (B, state...) or undefined -> (B, L, state...), float32.
  at::Tensor estimate(const at::Tensor& observations, const at::Tensor& mask, const at::Tensor& background) const;
  const Architecture& architecture() const { return arch_; }

 private:
  // The network's input (B, L, channels_in, H, W): y, mask, background repeated on every frame
  // (per frame: the background on frame 0, zeros elsewhere, and a channel of 1 on frame 0).
  at::Tensor inputs(const at::Tensor& observations, const at::Tensor& mask, const at::Tensor& background) const;
  // F_w of `net` (the fit's network while it fits, net_ otherwise).
  at::Tensor estimate(UNet net, const at::Tensor& observations, const at::Tensor& mask,
                      const at::Tensor& background) const;
  // |w|^2 of `net`'s weights.
  at::Tensor penalty(const UNet& net) const;

  // Refuses an operator other than its own (the input channels would mean something else).
  void check_operator(const std::shared_ptr<const assim::ObservationOperator>& op, const std::string& where) const;

  Architecture arch_;
  Compute compute_;
  std::shared_ptr<const assim::ObservationOperator> operator_;
  std::vector<std::int64_t> state_shape_, observation_shape_;
  std::int64_t state_channels_ = 1, observation_channels_ = 1;
  bool background_ = true;
  bool per_frame_ = false;  // F_w(y_t) frame by frame, not one network over the window
  double weight_penalty_ = 0;
  std::int64_t shards_ = 4;  // of every training batch (network_fit.hpp)
  std::string settings_;
  UNet net_{nullptr};
  bool fitted_ = false;  // fit or load ran: sample refuses untrained weights
};

}  // namespace assim::score_prior
