// sampler.ensf: the ensemble score filter (EnSF; Bao, Zhang & Zhang 2024, J.
// Comput. Phys. 508, "An ensemble score filter for tracking high-dimensional
// nonlinear dynamical systems") as an assim::Sampler. At each analysis it
// draws every member by a reverse-time SDE from pure noise at t = 1 to t = 0,
// driven by the posterior score
//   S(x, t) = S_prior(x, t) + h(t) grad_x log p(y | x),
// the prior's score estimated by Monte Carlo over the forecast ensemble (no
// training, no network) and the likelihood's score by autograd through H.
//
// The forward diffusion is the paper's, with its schedule:
// x_t = alpha_t x_0 + beta_t eps,
//   alpha_t = 1 - t (1 - eps_alpha),  beta_t^2 = t,  t in [0, 1],
// i.e. dx = b(t) x dt + g(t) dW with
//   b(t) = d log(alpha_t)/dt = -(1 - eps_alpha) / alpha_t,
//   g^2(t) = d(beta_t^2)/dt - 2 b(t) beta_t^2 = 1 + 2 (1 - eps_alpha) t / alpha_t,
// whose reverse (Anderson 1982) is
//   dx = [b(t) x - g^2(t) S(x, t)] dt + g(t) dW_reverse.
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>

namespace assim::ensf {

// How the Monte-Carlo weights of the forecast members are formed.
enum class Weights {
  // The paper's: w_j proportional to exp(-|x_t - alpha_t x_0^j|^2 / (2 beta_t^2)),
  // one weight per member from the distance of whole states.
  kJoint,
  // The same softmax for each state variable apart, from that variable's
  // distance only: the prior's score as if its variables were independent
  // given the ensemble. Not the paper's formula; with a few members in many
  // dimensions the joint weights pick one member almost from the start.
  kPerVariable,
};

struct Options {
  int steps = 100;              // K Euler-Maruyama steps from t = 1 to t = 0
  double eps_alpha = 0.05;      // alpha_1 = eps_alpha
  bool damping = true;          // h(t) = 1 - t (the paper's); false: h = 1
  std::int64_t minibatch = 0;   // members drawn per step for the prior's score; 0: all
  Weights weights = Weights::kJoint;
};

// The paper's schedule and the drift and diffusion of its forward SDE.
struct Schedule {
  double eps_alpha = 0.05;
  double alpha(double t) const { return 1 - t * (1 - eps_alpha); }
  double beta_squared(double t) const { return t; }
  double drift(double t) const { return -(1 - eps_alpha) / alpha(t); }
  double diffusion_squared(double t) const { return 1 + 2 * (1 - eps_alpha) * t / alpha(t); }
  // The likelihood's damping h(t): 1 at t = 0, 0 at pure noise.
  static double damping(double t) { return 1 - t; }
};

// The Monte-Carlo estimate of the score of the forecast's diffused law at
// (x_t, t): the softmax-weighted mean of (alpha_t x_0^j - x_t) / beta_t^2
// over the members x_0^j. x (points, n), members (J, n);
// returns (points, n).
at::Tensor prior_score(const at::Tensor& x, const at::Tensor& members, double alpha, double beta_squared,
                       Weights weights);

class ScoreFilter : public Sampler {
 public:
  SamplerNeeds needs() const override {
    SamplerNeeds needs;
    needs.forecast = true;
    // A mini-batch is drawn from the members without replacement.
    needs.min_members = std::max<std::int64_t>(2, options_.minibatch);
    return needs;
  }
  static Parameters parameters();
  explicit ScoreFilter(const Config& config);
  explicit ScoreFilter(Options options);

  // Returns the analysis ensemble, (members, 1, state dims...), in the
  // forecast's dtype (float64). Gaussian observation noise only.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;

 private:
  Options options_;
};

}  // namespace assim::ensf
