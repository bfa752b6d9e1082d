#include "soad.hpp"

#include <assim/score_sampling.hpp>

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <string>
#include <vector>

namespace assim::soad {

namespace {

const char* const kName = "sampler.soad";

// The guided, sigma-scaled noise prediction of Algorithm 1 for a chunk of
// members z (n, L, C + C_H, ...) at time t:
//   pi(z, t) = sigma_t eps_hat(z, t) + c_t grad_z L,
//   L = || mu_t y - T z + sigma_t T eps_hat(z, t) ||^2 = mu_t^2 || y - T z0_hat ||^2,
// so that pi = sigma_t (eps_hat - sigma_t grad log p(y | z_t)) with the
// Gaussian p(y | z_t) of variance sigma_o^2 + sigma_z^2 r^2 / (sigma_z^2 + r^2)
// (exact for a N(m, sigma_z^2 I) prior: Theorem 3.1). With
// background_guidance the background is one more block of T (frame 0's state
// channels, noise sigma_b) with its own c_t, which is as exact.
at::Tensor guidance(const Prior& prior, const score::Window& w, const CosineSchedule& schedule, const Options& options,
                    std::int64_t channels, const at::Tensor& z, double t) {
  const double mu = schedule.mu(t), sigma = schedule.sigma(t), r = sigma / mu;
  const double s2 = options.sigma_z * options.sigma_z, r2 = r * r;
  auto c_t = [&](double sigma_data) { return (r2 / 2) / (sigma_data * sigma_data + s2 * r2 / (s2 + r2)); };
  const at::AutoGradMode grad_mode(true);
  const at::Tensor z_t = z.detach().requires_grad_(true);
  const at::Tensor eps = prior.denoise(z_t, at::full({z.size(0)}, t, w.options));
  const std::int64_t observed_channels = w.observed[0];
  // T: the H channels, masked. The gradient runs through the network and
  // through the identity term T z.
  const at::Tensor residual = w.mask * (mu * w.y - z_t.narrow(2, channels, observed_channels) +
                                        sigma * eps.narrow(2, channels, observed_channels));
  at::Tensor weighted = c_t(w.sigma_o) * residual.square().sum();
  if (options.background_guidance && w.background) {
    const at::Tensor misfit = mu * *w.background - z_t.select(1, 0).narrow(1, 0, channels) +
                              sigma * eps.select(1, 0).narrow(1, 0, channels);
    weighted = weighted + c_t(w.sigma_b) * misfit.square().sum();
  }
  // c_t grad L, summed over the blocks of T.
  const at::Tensor step = torch::autograd::grad({weighted}, {z_t})[0];
  return (sigma * eps + (options.clip ? score::clip_per_member(step) : step)).detach();
}

// Each of the sampler's settings, bound to the Options field it fills.
Fields<Options> fields() {
  Fields<Options> p;
  p.integer("steps", &Options::steps, "", "K: reverse diffusion steps on linspace(1, 0, K + 1)").at_least(1);
  p.integer("corrections", &Options::corrections, "", "N_c: Langevin moves after each predictor step, each followed by the corrector")
      .at_least(0);
  p.real("tau", &Options::tau, "1", "Langevin step factor: delta = tau / mean((pi / sigma)^2) per member").above(0);
  p.real("sigma_z", &Options::sigma_z, "1", "prior scale sigma_z in c_t = (r^2 / 2) / (sigma_o^2 + sigma_z^2 r^2 / (sigma_z^2 + r^2))")
      .above(0);
  p.boolean("clip", &Options::clip,
            "clip c_t at 1 / max|grad L| per member (the reference's stabiliser); false keeps the exact guidance of "
            "Theorem 3.1, which the clip weakens wherever it binds");
  p.boolean("reuse_guidance", &Options::reuse_guidance,
            "reproduce the reference code: pi is computed once per step, after the forward corrector, and drives "
            "the corrections and the next predictor step without being recomputed");
  p.boolean("forward_corrector", &Options::forward_corrector,
            "overwrite the observed entries (and frame 0's state with a background) by forward diffusion of the "
            "data while r_t exceeds their noise level; false for the ablation");
  p.boolean("background_guidance", &Options::background_guidance,
            "also guide frame 0's state towards the background (one more block of T, noise sigma_b, its own c_t), "
            "as SDA does; Algorithm 1 uses the background only in the forward corrector, which lets go of it once "
            "r_t < sigma_b, so the last steps see the observations but not the background");
  p.integer("batch", &Options::batch, "members", "members per denoiser call (memory bound; results do not depend on it)")
      .at_least(1);
  return p;
}

}  // namespace

Parameters AugmentedSampler::parameters() { return fields().parameters(); }

AugmentedSampler::AugmentedSampler(const Config& config) : AugmentedSampler(fields().read(config)) {}

AugmentedSampler::AugmentedSampler(Options options) : options_(options) {
  if (options_.steps < 1 || options_.corrections < 0 || !(options_.tau > 0) || !(options_.sigma_z > 0) ||
      options_.batch < 1)
    throw Error(std::string(kName) + ": needs steps >= 1, corrections >= 0, tau > 0, sigma_z > 0 and batch >= 1");
}

at::Tensor AugmentedSampler::sample(const AssimilationProblem& problem, std::int64_t members,
                                    std::uint64_t seed) const {
  const std::int64_t channels = problem.state.shape().at(0);
  return sample_augmented(problem, members, seed).narrow(2, 0, channels).contiguous();
}

at::Tensor AugmentedSampler::sample_augmented(const AssimilationProblem& problem, std::int64_t members,
                                              std::uint64_t seed) const {
  const std::string who = kName;
  if (!problem.prior) throw Error(who + ": needs a prior (the problem has none)");
  const auto augmentation = problem.prior->augmentation();
  if (!augmentation)
    throw Error(who + ": the prior is over the state alone; SOAD needs a prior over augmented windows "
                      "z = (x, H(x)) (e.g. prior.score_unet with augment_with: the problem's operator)");
  if (!problem.observation_operator) throw Error(who + ": needs an observation operator (the problem has none)");
  if (members < 1) throw Error(who + ": needs at least 1 member, got " + std::to_string(members));
  const score::Window w = score::window_of(problem, who);
  const std::vector<std::int64_t> carried = augmentation->output_shape(w.state);
  const std::vector<std::int64_t> observed = problem.observation_operator->output_shape(w.state);
  if (carried != observed || observed != w.observed)
    throw Error(who + ": on states " + shape_text(w.state) + " the prior's augmentation gives " +
                shape_text(carried) + " and the problem's observation operator " + shape_text(observed) +
                ", with observations of dims " + shape_text(w.observed) + "; all three must agree");
  // z = concat(x, H(x)) over channels: H's output must be channels on the state's grid.
  if (w.observed.size() != w.state.size() ||
      !std::equal(w.state.begin() + 1, w.state.end(), w.observed.begin() + 1))
    throw Error(who + ": H maps states " + shape_text(w.state) + " to " + shape_text(w.observed) +
                ", which cannot be stacked with the state as channels");
  const at::NoGradGuard no_grad;
  if (augmentation != problem.observation_operator) {
    // Two operator objects: T only observes the prior's H channels if they
    // are the same function. Compare them on one fixed random state.
    std::vector<std::int64_t> probe_shape{1};
    probe_shape.insert(probe_shape.end(), w.state.begin(), w.state.end());
    const at::Tensor probe =
        at::randn(probe_shape, at::make_generator<at::CPUGeneratorImpl>(0), w.options.device(at::kCPU))
            .to(w.options.device());
    if (!at::allclose(augmentation->apply(probe), problem.observation_operator->apply(probe), 1e-5, 1e-6))
      throw Error(who + ": the problem's observation operator differs from the one the prior is augmented with");
  }

  const Prior& prior = *problem.prior;
  const std::int64_t c = w.state[0], c_h = w.observed[0];
  score::Noise noise(seed, w.options);
  std::vector<std::int64_t> shape{members, w.frames, c + c_h};
  shape.insert(shape.end(), w.state.begin() + 1, w.state.end());
  auto pi_at = [&](const at::Tensor& zs, double t) {
    return score::by_chunks(members, options_.batch, [&](std::int64_t first, std::int64_t n) {
      return guidance(prior, w, schedule_, options_, c, zs.narrow(0, first, n), t);
    });
  };
  // Forward-diffusion corrector at time s: while the data are noisier than
  // the diffusion (r_s > sigma), the observed entries and, with a
  // background, frame 0's state are replaced by a forward-diffused draw
  // mu_s (data + sqrt(r_s^2 - sigma^2) n), which is z_s's law given the data
  // when the prior is flat there.
  auto correct = [&](at::Tensor z, double s) {
    if (!options_.forward_corrector) return z;
    const double mu = schedule_.mu(s), r = schedule_.ratio(s);
    if (r > w.sigma_o) {
      std::vector<std::int64_t> y_shape{members};
      y_shape.insert(y_shape.end(), w.y.sizes().begin(), w.y.sizes().end());
      const at::Tensor drawn = mu * (w.y + std::sqrt(r * r - w.sigma_o * w.sigma_o) * noise.normal(y_shape));
      at::Tensor h_part = z.narrow(2, c, c_h);
      h_part.copy_(at::where(w.mask != 0, drawn, h_part));
    }
    if (w.background && r > w.sigma_b) {
      std::vector<std::int64_t> b_shape{members};
      b_shape.insert(b_shape.end(), w.state.begin(), w.state.end());
      z.select(1, 0).narrow(1, 0, c).copy_(mu * (*w.background + std::sqrt(r * r - w.sigma_b * w.sigma_b) *
                                                                     noise.normal(b_shape)));
    }
    return z;
  };

  // z_1 ~ N(0, I): mu(1) = eta leaves almost nothing of the data.
  at::Tensor z = noise.normal(shape);
  at::Tensor pi;
  const std::vector<double> times = schedule_.grid(options_.steps);
  Progress progress(who, options_.steps, "step");
  for (int i = 0; i < options_.steps; ++i) {
    const double t = times[static_cast<std::size_t>(i)], s = times[static_cast<std::size_t>(i) + 1];
    const double sigma_s = schedule_.sigma(s);
    if (!options_.reuse_guidance || i == 0) pi = pi_at(z, t);
    // Algorithm 1 predictor: z <- (mu_s / mu_t) z + (sigma_s / sigma_t - mu_s / mu_t) pi,
    // the exponential-integrator step with eps = pi / sigma_t.
    z = correct(schedule_.step(z, pi / schedule_.sigma(t), t, s), s);
    // Reference-code mode: one pi per step, at s, before the corrections; it
    // also drives the next predictor step.
    if (options_.reuse_guidance && (options_.corrections > 0 || i + 1 < options_.steps)) pi = pi_at(z, s);
    // N_c Langevin moves at s with eps~ = pi / sigma_s, each followed by the corrector.
    for (int k = 0; k < options_.corrections; ++k) {
      if (!options_.reuse_guidance) pi = pi_at(z, s);
      z = correct(score::langevin(z, pi / sigma_s, sigma_s, options_.tau, noise), s);
    }
    score::check_finite(z, i + 1, t, s, who);
    progress.advance();
  }
  progress.finish();
  return z;
}

}  // namespace assim::soad
