#include <assim/score_sampling.hpp>

#include <assim/error.hpp>
#include <assim/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <sstream>

namespace assim::score {

Window window_of(const AssimilationProblem& problem, const std::string& who) {
  auto fail = [&](const std::string& message) -> void { throw Error(who + ": " + message); };
  Window w;
  w.state = problem.state().shape();
  if (w.state.empty()) fail("the problem's state has no dims");
  const at::Tensor& obs = problem.observations();
  if (!obs.defined() || obs.dim() < 2 || obs.size(0) < 1)
    fail("needs observations of shape (frames, observation dims...), got " +
         (obs.defined() ? shape_text(obs.sizes()) : std::string("none")));
  if (obs.scalar_type() != at::kFloat && obs.scalar_type() != at::kDouble)
    fail(std::string("observations must be float32 or float64, got ") + c10::toString(obs.scalar_type()));
  if (!problem.mask().defined() || !problem.mask().sizes().equals(obs.sizes()))
    fail("the mask must have the observations' shape " + shape_text(obs.sizes()) + ", got " +
         (problem.mask().defined() ? shape_text(problem.mask().sizes()) : std::string("none")));
  if (!(problem.observation_sigma() > 0))
    fail("the observation noise standard deviation must be positive, got " +
         std::to_string(problem.observation_sigma()));
  w.frames = obs.size(0);
  w.observed = obs.sizes().slice(1).vec();
  w.options = obs.options();
  const at::Tensor observed = problem.mask().to(w.options.device()) != 0;
  if (!at::isfinite(obs).logical_or(observed.logical_not()).all().item<bool>())
    fail("an observed entry (mask != 0) is not finite");
  // Unobserved entries may hold NaN, and 0 * NaN is NaN: zero them here.
  w.y = at::where(observed, obs, at::zeros({}, w.options)).detach();
  w.mask = observed.to(w.options.dtype());
  w.sigma_o = problem.observation_sigma();
  if (problem.background() && problem.background()->defined()) {
    const at::Tensor& b = *problem.background();
    if (!b.sizes().equals(w.state))
      fail("the background must have the state's shape " + shape_text(w.state) + ", got " + shape_text(b.sizes()));
    if (!at::isfinite(b).all().item<bool>()) fail("the background is not finite");
    if (!(problem.background_sigma() > 0))
      fail("the background error standard deviation must be positive, got " +
           std::to_string(problem.background_sigma()));
    w.background = b.to(w.options).detach();
    w.sigma_b = problem.background_sigma();
  }
  return w;
}

Noise::Noise(std::uint64_t seed, at::TensorOptions options)
    : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)), options_(options) {}

at::Tensor Noise::normal(at::IntArrayRef shape) {
  return at::randn(shape, generator_, options_.device(at::kCPU)).to(options_.device());
}

at::Tensor per_member_mean_square(const at::Tensor& eps) {
  std::vector<std::int64_t> dims(static_cast<std::size_t>(eps.dim() - 1));
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i) + 1;
  return eps.square().mean(dims, /*keepdim=*/true);
}

at::Tensor clip_per_member(const at::Tensor& step) { return cap_per_member(step, step.abs().flatten(1).amax(1), 1.0); }

at::Tensor cap_per_member(const at::Tensor& step, const at::Tensor& magnitude, double limit) {
  std::vector<std::int64_t> view(static_cast<std::size_t>(step.dim()), 1);
  view[0] = step.size(0);
  const at::Tensor m = magnitude.reshape(view);
  return at::where(m > limit, limit / m, at::ones({}, m.options())) * step;
}

std::vector<std::pair<std::string, Guidance>> guidance_names() {
  return {{"fresh", Guidance::kFresh}, {"algorithm1", Guidance::kAlgorithm1}, {"stale", Guidance::kStale}};
}

at::Tensor reverse_diffusion(const CosineSchedule& schedule, const ReverseDiffusion& settings, at::Tensor x,
                             const std::function<at::Tensor(const at::Tensor&, double)>& eps,
                             const std::function<at::Tensor(at::Tensor, double)>& correct, Noise& noise,
                             const std::string& who) {
  const std::vector<double> times = schedule.grid(settings.steps);
  Progress progress(who, settings.steps, "step");
  at::Tensor cached;  // the stale mode's eps at the end of the previous step
  for (int i = 0; i < settings.steps; ++i) {
    const double t = times[static_cast<std::size_t>(i)], s = times[static_cast<std::size_t>(i) + 1];
    const bool stale = settings.guidance == Guidance::kStale;
    const at::Tensor predictor_eps = stale && i > 0 ? cached : eps(x, t);
    x = correct(schedule.step(x, predictor_eps, t, s), s);
    // One evaluation at s shared by the moves (and, when stale, by the next
    // predictor): eps at s is pi / sigma_s, the moves' eps~.
    const bool shared = settings.guidance != Guidance::kFresh;
    const bool needed = settings.corrections > 0 || (stale && i + 1 < settings.steps);
    if (shared && needed) cached = eps(x, s);
    for (int k = 0; k < settings.corrections; ++k)
      x = correct(langevin(x, shared ? cached : eps(x, s), schedule.sigma(s), settings.tau, noise), s);
    check_finite(x, i + 1, t, s, who);
    progress.advance();
  }
  progress.finish();
  return x;
}

at::Tensor langevin(const at::Tensor& x, const at::Tensor& eps, double sigma, double tau, Noise& noise) {
  const at::Tensor delta = tau / per_member_mean_square(eps);
  return x - sigma * (delta * eps + at::sqrt(2 * delta) * noise.normal(x.sizes()));
}

at::Tensor by_chunks(std::int64_t members, std::int64_t batch,
                     const std::function<at::Tensor(std::int64_t, std::int64_t)>& f) {
  std::vector<at::Tensor> parts;
  for (std::int64_t first = 0; first < members; first += batch) parts.push_back(f(first, std::min(batch, members - first)));
  return parts.size() == 1 ? parts.front() : at::cat(parts, 0);
}

void check_finite(const at::Tensor& x, long step, double t, double s, const std::string& who) {
  if (at::isfinite(x).all().item<bool>()) return;
  const std::int64_t bad = x.numel() - at::isfinite(x).sum().item<std::int64_t>();
  std::ostringstream message;
  message << who << ": the samples stopped being finite in diffusion step " << step << " (t = " << t << " -> " << s
          << "): " << bad << " of " << x.numel() << " entries are NaN or infinite";
  throw DivergenceError(step, message.str());
}

}  // namespace assim::score
