// sampler.soad: state-observation augmented diffusion (Li, Dong, Zhang;
// reference doc "SOAD (Algorithm 1)"). The prior is over augmented windows
// z = concat(x, H(x)) over channels, so a nonlinear H becomes the linear
// subsampling T (the mask on the H channels, every frame) and the likelihood
// of y is Gaussian in z: for a Gaussian prior with scalar covariance the
// guidance below is exact (Theorem 3.1). Returns the x channels.
#pragma once

#include <assim/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <cstdint>

namespace assim::soad {

struct Options {
  int steps = 256;                // K: reverse steps on linspace(1, 0, K + 1)
  int corrections = 5;            // N_c Langevin moves after each predictor step
  double tau = 0.25;              // Langevin step factor
  double sigma_z = 1.0;           // prior scale in c_t
  bool clip = true;               // c_t <- min(c_t, 1 / max|grad L|)
  bool reuse_guidance = false;    // the reference code's stale pi
  bool forward_corrector = true;  // overwrite observed entries by forward diffusion of y (and x_b)
  bool background_guidance = false;  // the background in the guidance too, not only in the corrector
  std::int64_t batch = 32;        // members per denoiser call
};

class AugmentedSampler : public Sampler {
 public:
  SamplerNeeds needs() const override { return {true, false, 1}; }
  static Parameters parameters();
  explicit AugmentedSampler(const Config& config);
  explicit AugmentedSampler(Options options);

  // Returns (members, L, state dims...) in the observations' dtype.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;
  // The whole augmented samples (members, L, C + C_H, y, x): the x channels
  // are what `sample` returns; the H channels let tests check the observed
  // part against an exact posterior.
  at::Tensor sample_augmented(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
  CosineSchedule schedule_;
};

}  // namespace assim::soad
