// sampler.sda: score-based data assimilation (Rozet & Louppe 2023) with a
// prior over windows of states alone. Reverse diffusion on the cosine
// schedule, each step an exponential-integrator predictor followed by
// Langevin corrections, all driven by the prior's eps_hat guided with a
// Gaussian approximation of the likelihood (reference doc, "SDA likelihood"):
//   log p(y | x_t) ~ -1/2 sum mask (y - H(x0_hat))^2 / (sigma_o^2 + gamma r_t^2)
// whose gradient w.r.t. x_t is taken through the denoiser AND H, with the
// identity path of x0_hat = (x_t - sigma_t eps_hat) / mu_t kept.
#pragma once

#include <assim/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>
#include <assim/score_sampling.hpp>

#include <cstdint>
#include <vector>

namespace assim::sda {

struct Options {
  int steps = 64;            // K: reverse steps on linspace(1, 0, K + 1)
  int corrections = 1;       // Langevin moves after each predictor step
  double tau = 0.5;          // Langevin step factor
  double gamma = 1e-2;       // likelihood variance inflation sigma_o^2 + gamma r_t^2
  // One gamma per observation channel (obs.stack's blocks: arctan's 2
  // channels, velocity's 4, ...); empty: `gamma` for all.
  std::vector<double> channel_gamma;
  // The background is a block of its own: the identity observation of
  // frame 0 with noise sigma_b and its own inflation.
  bool use_background = true;
  double background_gamma = 0.1;
  // The path of the likelihood's gradient to x_t: through x0_hat's identity
  // term and the denoiser (kFull, correct), or through the denoiser alone
  // (kDenoiser: the SDA baseline of the SOAD reference code, kept to
  // reproduce its numbers).
  enum class Gradient { kFull, kDenoiser } gradient = Gradient::kFull;
  bool clip = false;         // SOAD's clip of the guidance step, per member
  score::Guidance guidance = score::Guidance::kFresh;  // when the guided eps is evaluated
  std::int64_t batch = 32;   // members per denoiser call
};

class ScoreBasedSampler : public Sampler {
 public:
  SamplerNeeds needs() const override {
    SamplerNeeds needs{true, false, 1};
    needs.observation_channels = static_cast<std::int64_t>(options_.channel_gamma.size());
    return needs;
  }
  static Parameters parameters();
  explicit ScoreBasedSampler(const Config& config);
  explicit ScoreBasedSampler(Options options);

  // Returns (members, L, state dims...) in the observations' dtype.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;

  const Options& options() const { return options_; }

 private:
  Options options_;
  CosineSchedule schedule_;
};

}  // namespace assim::sda
