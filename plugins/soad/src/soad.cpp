#include "soad.hpp"

#include <assim/score_sampling.hpp>

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/log.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace assim::soad {

namespace {

const char* const kName = "sampler.soad";

// Which entries of z the forward corrector overwrites at noise ratio r (the
// step's, to within one step): 1 where it does not, (L, C + C_H, grid...).
at::Tensor not_overwritten(const score::Window& w, const Options& options, std::int64_t channels, double r) {
  std::vector<std::int64_t> shape{w.frames, channels + w.observed[0]};
  shape.insert(shape.end(), w.state.begin() + 1, w.state.end());
  at::Tensor free = at::ones(shape, w.options);
  if (options.observation_corrector && r > w.sigma_o) free.narrow(1, channels, w.observed[0]).mul_(1 - w.mask);
  if (options.background_corrector && w.background && r > w.sigma_b) free.select(0, 0).narrow(0, 0, channels).zero_();
  return free;
}

// The window with a channel axis on the state and on H's output (a state of
// sites, Lorenz-96's, is one channel: with_channel_axis), so that z stacks
// (x, H(x)) along dim 2 of (members, L, C + C_H, grid...) whatever the rank.
score::Window on_channel_axis(score::Window w) {
  const std::vector<std::int64_t> state = with_channel_axis(w.state), observed = with_channel_axis(w.observed);
  std::vector<std::int64_t> frames{w.frames};
  frames.insert(frames.end(), observed.begin(), observed.end());
  w.y = w.y.reshape(frames);
  w.mask = w.mask.reshape(frames);
  if (w.background) w.background = w.background->reshape(state);
  w.state = state;
  w.observed = observed;
  return w;
}

// The guided, sigma-scaled noise prediction of Algorithm 1 for a chunk of
// members z (n, L, C + C_H, ...) at time t:
//   pi(z, t) = sigma_t eps_hat(z, t) + c_t grad_z L,
//   L = || mu_t y - T z + sigma_t T eps_hat(z, t) ||^2 = mu_t^2 || y - T z0_hat ||^2,
// so that pi = sigma_t (eps_hat - sigma_t grad log p(y | z_t)) with the
// Gaussian p(y | z_t) of variance sigma_o^2 + sigma_z^2 r^2 / (sigma_z^2 + r^2)
// (exact for a N(m, sigma_z^2 I) prior: Theorem 3.1). With
// background_guidance the background is one more block of T (frame 0's state
// channels, noise sigma_b) with its own c_t, which is as exact. The
// stabiliser bounds the step c_t grad L; `trace` records what it did.
at::Tensor guidance(const Prior& prior, const score::Window& w, const CosineSchedule& schedule, const Options& options,
                    std::int64_t channels, const at::Tensor& z, double t, StabiliserTrace& trace) {
  const double mu = schedule.mu(t), sigma = schedule.sigma(t), r = sigma / mu;
  const double floor = options.stabiliser == Stabiliser::kGammaFloor ? options.stabiliser_gamma : 0.0;
  const at::AutoGradMode grad_mode(true);
  const at::Tensor z_t = z.detach().requires_grad_(true);
  const at::Tensor eps = prior.denoise(z_t, at::full({z.size(0)}, t, w.options));
  const std::int64_t observed_channels = w.observed[0];
  // T: the H channels, masked. The gradient runs through the network and
  // through the identity term T z.
  const at::Tensor residual = w.mask * (mu * w.y - z_t.narrow(2, channels, observed_channels) +
                                        sigma * eps.narrow(2, channels, observed_channels));
  at::Tensor weighted = guidance_weight(r, w.sigma_o, options.sigma_z, floor) * residual.square().sum();
  if (options.background_guidance && w.background) {
    const at::Tensor misfit = mu * *w.background - z_t.select(1, 0).narrow(1, 0, channels) +
                              sigma * eps.select(1, 0).narrow(1, 0, channels);
    weighted = weighted + guidance_weight(r, w.sigma_b, options.sigma_z, floor) * misfit.square().sum();
  }
  // c_t grad L, summed over the blocks of T.
  const at::Tensor step = torch::autograd::grad({weighted}, {z_t})[0].detach();
  const at::Tensor largest = step.abs().flatten(1).amax(1);  // (n)
  at::Tensor stable = step;
  switch (options.stabiliser) {
    case Stabiliser::kNone:
      break;
    case Stabiliser::kClip:
      stable = score::clip_per_member(step);
      break;
    case Stabiliser::kMuCap:
      stable = score::cap_per_member(step, largest, mu);
      break;
    case Stabiliser::kQuantileCap: {
      const at::Tensor free = not_overwritten(w, options, channels, r).flatten().nonzero().squeeze(1);
      const at::Tensor entries = step.abs().flatten(1);
      const at::Tensor kept = free.numel() > 0 ? entries.index_select(1, free) : entries;
      stable = score::cap_per_member(step, at::quantile(kept, options.stabiliser_quantile, 1), 1.0);
      break;
    }
    case Stabiliser::kGammaFloor:
      break;  // in c_t itself
  }
  // The factor the stabiliser scaled the step by, averaged over the members
  // (1 where it did not bind; for the gamma floor, the floored c_t over the exact one).
  const double exact_weight = guidance_weight(r, w.sigma_o, options.sigma_z, 0);
  const double factor = options.stabiliser == Stabiliser::kGammaFloor
                            ? guidance_weight(r, w.sigma_o, options.sigma_z, floor) / exact_weight
                            : (stable.abs().flatten(1).amax(1) / largest.clamp_min(1e-300)).mean().item<double>();
  trace.times.push_back(t);
  trace.largest_step.push_back(largest.max().item<double>());
  trace.factor.push_back(factor);
  return (sigma * eps.detach() + stable).detach();
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
  p.choice("guidance", &Options::guidance,
           score::guidance_names(),
           "when pi is evaluated: fresh = for the predictor and for every move, K (1 + N_c) network calls, each move "
           "a Langevin step; algorithm1 = as the paper's Algorithm 1 (line 13), fresh for the predictor and once "
           "more at s for all N_c moves, 2K, which makes the moves one Langevin step of N_c delta (on the sin toy of "
           "plugins/soad/tests it overdisperses the posterior); stale = the reference code, once per step at s, also "
           "driving the next predictor, K + 1. All three are the same with N_c = 0");
  p.choice("stabiliser", &Options::stabiliser,
           {{"clip", Stabiliser::kClip}, {"none", Stabiliser::kNone}, {"gamma_floor", Stabiliser::kGammaFloor},
            {"mu_cap", Stabiliser::kMuCap}, {"quantile_cap", Stabiliser::kQuantileCap}},
           "what bounds the guidance step c_t grad L per member: clip = the reference's max |step| <= 1; none = "
           "Theorem 3.1's exact c_t; gamma_floor = stabiliser_gamma r_t^2 added to c_t's variance (c_t <= 1 / (2 "
           "gamma)); mu_cap = max |step| <= mu_t; quantile_cap = the stabiliser_quantile of |step| over the entries "
           "the corrector does not overwrite <= 1");
  p.real("stabiliser_gamma", &Options::stabiliser_gamma, "1", "gamma of stabiliser: gamma_floor").above(0);
  p.real("stabiliser_quantile", &Options::stabiliser_quantile, "1", "q of stabiliser: quantile_cap").above(0).at_most(1);
  p.boolean("observation_corrector", &Options::observation_corrector,
            "overwrite the observed entries by forward diffusion of y while r_t exceeds sigma_o (Algorithm 1's "
            "corrector); false for the ablation");
  p.boolean("background_corrector", &Options::background_corrector,
            "overwrite frame 0's state by forward diffusion of the background while r_t exceeds sigma_b; false for "
            "the ablation");
  p.boolean("background_guidance", &Options::background_guidance,
            "also guide frame 0's state towards the background (one more block of T, noise sigma_b, its own c_t), "
            "as SDA does; Algorithm 1 uses the background only in the forward corrector, which lets go of it once "
            "r_t < sigma_b, so the last steps see the observations but not the background");
  p.integer("batch", &Options::batch, "members", "members per denoiser call (memory bound; results do not depend on it)")
      .at_least(1);
  return p;
}

}  // namespace

at::Tensor forward_diffused(const at::Tensor& data, double sigma_data, double mu, double r, const at::Tensor& normal) {
  return mu * (data + std::sqrt(r * r - sigma_data * sigma_data) * normal);
}

double guidance_weight(double r, double sigma_data, double sigma_z, double gamma) {
  const double s2 = sigma_z * sigma_z, r2 = r * r;
  return (r2 / 2) / (sigma_data * sigma_data + s2 * r2 / (s2 + r2) + gamma * r2);
}

Parameters AugmentedSampler::parameters() { return fields().parameters(); }

AugmentedSampler::AugmentedSampler(const Config& config) : AugmentedSampler(fields().read(config)) {}

AugmentedSampler::AugmentedSampler(Options options) : options_(options) {
  if (options_.steps < 1 || options_.corrections < 0 || !(options_.tau > 0) || !(options_.sigma_z > 0) ||
      options_.batch < 1 || !(options_.stabiliser_gamma > 0) ||
      !(options_.stabiliser_quantile > 0 && options_.stabiliser_quantile <= 1))
    throw Error(std::string(kName) + ": needs steps >= 1, corrections >= 0, tau > 0, sigma_z > 0, batch >= 1, "
                                     "stabiliser_gamma > 0 and 0 < stabiliser_quantile <= 1");
}

at::Tensor AugmentedSampler::sample(const AssimilationProblem& problem, std::int64_t members,
                                    std::uint64_t seed) const {
  const std::vector<std::int64_t> state = problem.state().shape();
  const std::int64_t channels = with_channel_axis(state).at(0);
  StabiliserTrace trace;
  at::Tensor z = sample_augmented(problem, members, seed, &trace);
  std::size_t bound = 0;
  for (double f : trace.factor) bound += f < 0.99;
  log::info(kName, ": the stabiliser bound in ", bound, " of ", trace.factor.size(), " guidance evaluations; largest |c_t grad L| ",
            trace.largest_step.empty() ? 0.0 : *std::max_element(trace.largest_step.begin(), trace.largest_step.end()));
  for (std::size_t i = 0; i < trace.times.size(); ++i)
    log::debug(kName, ": t ", trace.times[i], ": largest |c_t grad L| ", trace.largest_step[i], ", stabiliser factor ",
               trace.factor[i]);
  std::vector<std::int64_t> x_shape{z.size(0), z.size(1)};
  x_shape.insert(x_shape.end(), state.begin(), state.end());
  return z.narrow(2, 0, channels).reshape(x_shape).contiguous();
}

at::Tensor AugmentedSampler::sample_augmented(const AssimilationProblem& problem, std::int64_t members,
                                              std::uint64_t seed, StabiliserTrace* trace) const {
  const std::string who = kName;
  if (!problem.prior()) throw Error(who + ": needs a prior (the problem has none)");
  const auto augmentation = problem.prior()->augmentation();
  if (!augmentation)
    throw Error(who + ": the prior is over the state alone; SOAD needs a prior over augmented windows "
                      "z = (x, H(x)) (e.g. prior.score_unet with augment_with: the problem's operator)");
  if (!problem.observation_operator()) throw Error(who + ": needs an observation operator (the problem has none)");
  if (members < 1) throw Error(who + ": needs at least 1 member, got " + std::to_string(members));
  const score::Window problem_window = score::window_of(problem, who);
  const std::vector<std::int64_t> carried = augmentation->output_shape(problem_window.state);
  const std::vector<std::int64_t> observed = problem.observation_operator()->output_shape(problem_window.state);
  if (carried != observed || observed != problem_window.observed)
    throw Error(who + ": on states " + shape_text(problem_window.state) + " the prior's augmentation gives " +
                shape_text(carried) + " and the problem's observation operator " + shape_text(observed) +
                ", with observations of dims " + shape_text(problem_window.observed) + "; all three must agree");
  // z = concat(x, H(x)) over channels: H's output must be channels on the state's grid.
  const score::Window w = on_channel_axis(problem_window);
  if (w.observed.size() != w.state.size() ||
      !std::equal(w.state.begin() + 1, w.state.end(), w.observed.begin() + 1))
    throw Error(who + ": H maps states " + shape_text(problem_window.state) + " to " +
                shape_text(problem_window.observed) + ", which cannot be stacked with the state as channels");
  const at::NoGradGuard no_grad;
  if (augmentation != problem.observation_operator()) {
    // Two operator objects: T only observes the prior's H channels if they
    // are the same function. Compare them on one fixed random state.
    std::vector<std::int64_t> probe_shape{1};
    probe_shape.insert(probe_shape.end(), w.state.begin(), w.state.end());
    const at::Tensor probe =
        at::randn(probe_shape, at::make_generator<at::CPUGeneratorImpl>(0), w.options.device(at::kCPU))
            .to(w.options.device());
    if (!at::allclose(augmentation->apply(probe), problem.observation_operator()->apply(probe), 1e-5, 1e-6))
      throw Error(who + ": the problem's observation operator differs from the one the prior is augmented with");
  }

  const Prior& prior = *problem.prior();
  const std::int64_t c = w.state[0], c_h = w.observed[0];
  score::Noise noise(seed, w.options);
  std::vector<std::int64_t> shape{members, w.frames, c + c_h};
  shape.insert(shape.end(), w.state.begin() + 1, w.state.end());
  StabiliserTrace local;
  StabiliserTrace& record = trace ? *trace : local;
  // The guided eps = pi / sigma_t, chunk by chunk.
  auto eps_at = [&](const at::Tensor& zs, double t) {
    return score::by_chunks(members, options_.batch, [&](std::int64_t first, std::int64_t n) {
             return guidance(prior, w, schedule_, options_, c, zs.narrow(0, first, n), t, record);
           }) /
           schedule_.sigma(t);
  };
  // Forward-diffusion corrector at time s: while the data are noisier than
  // the diffusion (r_s > sigma), the observed entries and, with a
  // background, frame 0's state are replaced by mu (y + sqrt(r^2 - sigma^2) e):
  // z_s's law given the truth, averaged over the data's noise (variance
  // (mu r)^2 around mu H(x)); given the data it has variance (mu r)^2 - mu^2 sigma^2.
  auto correct = [&](at::Tensor z, double s) {
    const double mu = schedule_.mu(s), r = schedule_.ratio(s);
    if (options_.observation_corrector && r > w.sigma_o) {
      std::vector<std::int64_t> y_shape{members};
      y_shape.insert(y_shape.end(), w.y.sizes().begin(), w.y.sizes().end());
      const at::Tensor drawn = forward_diffused(w.y, w.sigma_o, mu, r, noise.normal(y_shape));
      at::Tensor h_part = z.narrow(2, c, c_h);
      h_part.copy_(at::where(w.mask != 0, drawn, h_part));
    }
    if (options_.background_corrector && w.background && r > w.sigma_b) {
      std::vector<std::int64_t> b_shape{members};
      b_shape.insert(b_shape.end(), w.state.begin(), w.state.end());
      z.select(1, 0).narrow(1, 0, c).copy_(forward_diffused(*w.background, w.sigma_b, mu, r, noise.normal(b_shape)));
    }
    return z;
  };
  score::ReverseDiffusion settings;
  settings.steps = options_.steps;
  settings.corrections = options_.corrections;
  settings.tau = options_.tau;
  settings.guidance = options_.guidance;
  // z_1 ~ N(0, I): mu(1) = eta leaves almost nothing of the data.
  return score::reverse_diffusion(schedule_, settings, noise.normal(shape), eps_at, correct, noise, who);
}

}  // namespace assim::soad
