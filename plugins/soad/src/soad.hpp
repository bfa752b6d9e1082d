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
#include <assim/score_sampling.hpp>

#include <cstdint>
#include <vector>

namespace assim::soad {

// What keeps the explicit guidance step c_t grad L stable on a learned
// prior (without one SOAD diverges within 8 steps on ours). Each bounds the
// step per member:
enum class Stabiliser {
  kNone,         // Theorem 3.1's c_t as it is
  kClip,         // the reference's c_t <- min(c_t, 1 / max|grad L|): max |step| <= 1
  kGammaFloor,   // c_t's variance plus gamma r_t^2, which caps c_t at 1 / (2 gamma) and
                 // leaves the exact c_t wherever sigma_o^2 + sigma_z^2 r^2 / (sigma_z^2 + r^2) dominates
  kMuCap,        // max |step| <= mu_t: the step moves z0_hat = (z_t - sigma_t eps) / mu_t by at most 1
  kQuantileCap,  // a quantile q of |step| over the entries the corrector does not overwrite <= 1,
                 // so one outlier does not set the step of all the others
};

struct Options {
  int steps = 256;                // K: reverse steps on linspace(1, 0, K + 1)
  int corrections = 5;            // N_c Langevin moves after each predictor step
  double tau = 0.25;              // Langevin step factor
  double sigma_z = 1.0;           // prior scale in c_t
  // When pi is evaluated. Fresh: on the sin toy (plugins/soad/tests) Algorithm
  // 1's cached pi makes the N_c moves one Langevin step of N_c delta and
  // overdisperses the posterior (std error 0.32 against 0.05).
  score::Guidance guidance = score::Guidance::kFresh;
  Stabiliser stabiliser = Stabiliser::kClip;
  double stabiliser_gamma = 0.05;      // kGammaFloor: c_t <= 1 / (2 gamma)
  double stabiliser_quantile = 0.99;   // kQuantileCap: q
  bool observation_corrector = true;   // overwrite the observed entries by forward diffusion of y
  bool background_corrector = true;    // overwrite frame 0's state by forward diffusion of x_b
  bool background_guidance = false;    // the background in the guidance too, not only in the corrector
  std::int64_t batch = 32;             // members per denoiser call
};

// What the stabiliser did over one `sample` call: per guidance evaluation,
// the largest |c_t grad L| of any member before it and the mean factor it
// applied (1: it did not bind).
struct StabiliserTrace {
  std::vector<double> times, largest_step, factor;
};

// mu (data + sqrt(r^2 - sigma_data^2) n): the forward diffusion to a time of
// noise ratio r > sigma_data of data observed with noise sigma_data, so of
// mean mu data and variance mu^2 r^2 - mu^2 sigma_data^2 (= sigma^2 - mu^2 sigma_data^2).
at::Tensor forward_diffused(const at::Tensor& data, double sigma_data, double mu, double r, const at::Tensor& normal);

// c_t of Theorem 3.1 with the stabiliser's gamma term (0 for the exact one):
// (r^2 / 2) / (sigma_data^2 + sigma_z^2 r^2 / (sigma_z^2 + r^2) + gamma r^2).
double guidance_weight(double r, double sigma_data, double sigma_z, double gamma);

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
  // `trace`, when given, receives what the stabiliser did.
  at::Tensor sample_augmented(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed,
                              StabiliserTrace* trace = nullptr) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
  CosineSchedule schedule_;
};

}  // namespace assim::soad
