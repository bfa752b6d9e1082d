#include "sda.hpp"

#include <assim/score_sampling.hpp>

#include <assim/error.hpp>
#include <assim/fields.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>
#include <vector>

namespace assim::sda {

namespace {

const char* const kName = "sampler.sda";

// The likelihood-guided noise prediction of SDA at time t for a chunk of
// members x (n, L, state dims...): eps_hat - sigma_t grad_{x_t} log p(y | x_t).
at::Tensor guided_eps(const Prior& prior, const ObservationOperator& h, const score::Window& w,
                      const CosineSchedule& schedule, const Options& options, const at::Tensor& gamma,
                      const at::Tensor& x, double t) {
  const double mu = schedule.mu(t), sigma = schedule.sigma(t), r = sigma / mu;
  const at::AutoGradMode grad_mode(true);
  const at::Tensor x_t = x.detach().requires_grad_(true);
  const at::Tensor eps = prior.denoise(x_t, at::full({x.size(0)}, t, w.options));
  // Tweedie's x0_hat = (x_t - sigma_t eps_hat) / mu_t depends on x_t through
  // both terms, and the identity path is part of the gradient. Without it
  // (x_t detached, the SOAD reference code's SDA baseline) the gradient is
  // -(sigma_t / mu_t) J_eps^T grad_x0: for a Gaussian prior J_eps is a
  // positive multiple of I and the guidance points away from y.
  const bool full = options.gradient == Options::Gradient::kFull;
  const at::Tensor x0 = schedule.tweedie(full ? x_t : x_t.detach(), eps, t);
  const at::Tensor hx = h.apply(x0);
  if (!hx.sizes().slice(1).equals(w.y.sizes()))
    throw Error(std::string(kName) + ": the observation operator returned " + shape_text(hx.sizes()) +
                " for a batch of windows, expected (batch, " + shape_text(w.y.sizes()).substr(1));
  // Gaussian approximation of p(y | x_t): the Tweedie mean observed with
  // noise sigma_o^2 plus gamma r_t^2 standing for the spread of x0 | x_t,
  // gamma per observation channel when given.
  const at::Tensor variance = w.sigma_o * w.sigma_o + gamma * (r * r);
  at::Tensor log_likelihood = -0.5 * (w.mask * (w.y - hx).square() / variance).sum();
  if (w.background && options.use_background) {
    // The background is one more observation, of frame 0's state through the
    // identity, with its own noise level and its own gamma.
    log_likelihood = log_likelihood - 0.5 * (*w.background - x0.select(1, 0)).square().sum() /
                                          (w.sigma_b * w.sigma_b + options.background_gamma * r * r);
  }
  // Members are independent, so the gradient of the sum is each member's own.
  const at::Tensor grad = torch::autograd::grad({log_likelihood}, {x_t})[0];
  if (!options.clip) return (eps - sigma * grad).detach();
  // In SOAD's units, pi = sigma_t eps_hat + step with step = -sigma_t^2 grad:
  // the same guidance form (Theorem 3.1's c_t grad L with SDA's variance),
  // clipped as SOAD clips it.
  return (eps + score::clip_per_member(-sigma * sigma * grad) / sigma).detach();
}

// Each of the sampler's settings, bound to the Options field it fills.
Fields<Options> fields() {
  Fields<Options> p;
  p.integer("steps", &Options::steps, "", "K: reverse diffusion steps on linspace(1, 0, K + 1)").at_least(1);
  p.integer("corrections", &Options::corrections, "",
            "C: Langevin corrections after each predictor step; they keep the samples on a weak prior's "
            "manifold, which the predictor alone leaves (tests/e2e/pipeline.yaml), and cost one denoiser call each")
      .at_least(0);
  p.real("tau", &Options::tau, "1", "Langevin step factor: delta = tau / mean(eps^2) per member").above(0);
  p.real("gamma", &Options::gamma, "1",
         "likelihood variance inflation: sigma_o^2 + gamma r_t^2 stands for the spread of x0 given x_t; small "
         "gamma makes the explicit step stiff (more so the steeper H), large gamma guides weakly: on 32 x 32 QG "
         "with arctan(3x), 64 steps, 0.1 was best (experiments/score/README.md)")
      .at_least(0);
  p.reals("channel_gamma", &Options::channel_gamma, "1",
          "one gamma per observation channel, for operators of several blocks (obs.stack: arctan's 2 channels, "
          "velocity's 4, ...), whose slopes need different inflations; empty: gamma for every channel")
      .at_least(0);
  p.choice("background", &Options::use_background, {{"use", true}, {"ignore", false}},
           "use = the background is one more block of the likelihood, frame 0's state observed with noise sigma_b "
           "and inflation background_gamma; ignore = as the SOAD reference code's SDA baseline, which never uses it");
  p.real("background_gamma", &Options::background_gamma, "1",
         "gamma of the background block (an identity observation): sigma_b^2 + background_gamma r_t^2; 0.1 is "
         "what every arctan run used before the blocks had their own gamma")
      .at_least(0);
  p.choice("likelihood_gradient", &Options::gradient,
           {{"full", Options::Gradient::kFull}, {"denoiser", Options::Gradient::kDenoiser}},
           "path of the likelihood's gradient to x_t: full = through the identity term of x0_hat = (x_t - "
           "sigma_t eps_hat) / mu_t and the denoiser (correct); denoiser = through eps_hat alone, as the SDA "
           "baseline of the SOAD reference code (x0_hat from a detached x_t), to reproduce its numbers: it points "
           "away from y for a Gaussian prior");
  p.boolean("clip", &Options::clip,
            "scale the guidance step sigma_t^2 grad log p(y | x_t) so that none of a member's entries exceeds 1, as "
            "sampler.soad clips its own (same form, SDA's variance): a stabiliser for steep operators such as "
            "velocity, where the explicit step needs a gamma that mutes the guidance; false = SDA as published");
  p.choice("guidance", &Options::guidance,
           score::guidance_names(),
           "when the guided eps is evaluated: fresh = for the predictor and for every correction (SDA as "
           "published), K (1 + C) network calls; algorithm1 = fresh for the predictor, once more at s for all C "
           "corrections, 2K; stale = once per step at s, also driving the next predictor (the SOAD reference code's "
           "SDA baseline), K + 1");
  p.integer("batch", &Options::batch, "members", "members per denoiser call (memory bound; results do not depend on it)")
      .at_least(1);
  return p;
}

}  // namespace

Parameters ScoreBasedSampler::parameters() { return fields().parameters(); }

ScoreBasedSampler::ScoreBasedSampler(const Config& config) : ScoreBasedSampler(fields().read(config)) {}

ScoreBasedSampler::ScoreBasedSampler(Options options) : options_(options) {
  if (options_.steps < 1 || options_.corrections < 0 || !(options_.tau > 0) || !(options_.gamma >= 0) ||
      options_.batch < 1)
    throw Error(std::string(kName) + ": needs steps >= 1, corrections >= 0, tau > 0, gamma >= 0 and batch >= 1");
}

at::Tensor ScoreBasedSampler::sample(const AssimilationProblem& problem, std::int64_t members,
                                     std::uint64_t seed) const {
  const std::string who = kName;
  if (!problem.prior()) throw Error(who + ": needs a prior (the problem has none)");
  if (problem.prior()->augmentation())
    throw Error(who + ": the prior is augmented with an observation operator (SOAD's z = (x, H(x))); "
                      "sampler.sda needs a prior over the state alone (or use sampler.soad)");
  if (!problem.observation_operator()) throw Error(who + ": needs an observation operator (the problem has none)");
  if (members < 1) throw Error(who + ": needs at least 1 member, got " + std::to_string(members));
  const score::Window w = score::window_of(problem, who);
  const std::vector<std::int64_t> h_shape = problem.observation_operator()->output_shape(w.state);
  if (h_shape != w.observed)
    throw Error(who + ": the observation operator maps states " + shape_text(w.state) + " to " +
                shape_text(h_shape) + ", but the observations have dims " + shape_text(w.observed));

  const Prior& prior = *problem.prior();
  const ObservationOperator& h = *problem.observation_operator();
  at::Tensor gamma = at::full({}, options_.gamma, w.options);
  if (!options_.channel_gamma.empty()) {
    if (w.observed.size() < 2 || static_cast<std::int64_t>(options_.channel_gamma.size()) != w.observed[0])
      throw Error(who + ": channel_gamma has " + std::to_string(options_.channel_gamma.size()) +
                  " entries; the observations have dims " + shape_text(w.observed) +
                  ", so it needs one per channel (the first dim)");
    std::vector<std::int64_t> view(w.observed.size(), 1);
    view[0] = w.observed[0];
    gamma = at::tensor(options_.channel_gamma, at::TensorOptions().dtype(at::kDouble)).to(w.options).reshape(view);
  }
  const at::NoGradGuard no_grad;
  score::Noise noise(seed, w.options);
  std::vector<std::int64_t> shape{members, w.frames};
  shape.insert(shape.end(), w.state.begin(), w.state.end());
  auto eps_at = [&](const at::Tensor& xs, double t) {
    return score::by_chunks(members, options_.batch, [&](std::int64_t first, std::int64_t n) {
      return guided_eps(prior, h, w, schedule_, options_, gamma, xs.narrow(0, first, n), t);
    });
  };
  score::ReverseDiffusion settings;
  settings.steps = options_.steps;
  settings.corrections = options_.corrections;
  settings.tau = options_.tau;
  settings.guidance = options_.guidance;
  // x_1 ~ N(0, I): mu(1) = eta leaves almost nothing of the data.
  return score::reverse_diffusion(
      schedule_, settings, noise.normal(shape), eps_at, [](at::Tensor x, double) { return x; }, noise, who);
}

}  // namespace assim::sda
