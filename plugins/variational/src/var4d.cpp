#include "var4d.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/log.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/lbfgs.h>

#include <cmath>
#include <string>
#include <utility>

namespace assim::variational {

namespace {

const char* const kName = "sampler.var4d";

[[noreturn]] void fail(const std::string& message) { throw Error(std::string(kName) + ": " + message); }

Fields<Options> fields() {
  Fields<Options> p;
  p.choice("constraint", &Options::constraint,
           {{"strong", Options::Constraint::kStrong}, {"weak", Options::Constraint::kWeak}},
           "strong = the control is x_0 and the window is the model's trajectory from it; weak = every frame is "
           "controlled and the model is trusted only to model_sigma per frame transition (eq. 18's Q term)");
  p.real("model_sigma", &Options::model_sigma, "state units",
         "weak constraint: std of the model error per frame transition, Q = model_sigma^2 I")
      .above(0);
  p.choice("background_covariance", &Options::covariance,
           {{"scalar", Options::Covariance::kScalar},
            {"climatology", Options::Covariance::kClimatology},
            {"diagonal", Options::Covariance::kDiagonal},
            {"spectral", Options::Covariance::kSpectral}},
           "B, times background_scale: scalar = sigma_b^2 I, sigma_b = background_sigma or, without it, the "
           "observe design's sigma_b; from the "
           "climatology's states, which the stage supplies: climatology = their covariance (DAPPER's B = xB * cov "
           "of the truth; n x n), diagonal = their variance per entry, spectral = their homogeneous covariance on "
           "a periodic grid: diagonal in Fourier space over the spatial dims, with the channels' (layers') "
           "cross-covariance per wavenumber");
  p.real("background_scale", &Options::background_scale, "1",
         "xB: the factor B is multiplied by (DAPPER's Var3D and Var4D on Lorenz-96 use 0.02 with the climatology)")
      .above(0);
  p.real("background_sigma", &Options::background_sigma, "state units",
         "sigma_b of the scalar B (background_covariance: scalar): B = background_scale x background_sigma^2 I; "
         "absent: the observe design's background sigma, which a filter stage has none of (background_sigma: 1, "
         "background_scale: 0.2 is DAPPER's Var4D B = xB I with xB 0.2)")
      .above(0);
  p.choice("likelihood", &Options::likelihood,
           {{"law", Options::Likelihood::kLaw}, {"gaussian", Options::Likelihood::kGaussian}},
           "the observations' term of J: law = the negative log-likelihood of the law the observe stage drew "
           "their noise from (Gaussian: |r|^2 / 2; Laplace: sqrt(2) |r|, an L1 term; uniform and log-normal are "
           "taken as Gaussian of the same std), r = (y - H(x)) / sigma_o; gaussian = |r|^2 / 2 whatever the law");
  p.integer("iterations", &Options::iterations, "", "most L-BFGS iterations per minimisation").at_least(1);
  p.real("gradient_tolerance", &Options::gradient_tolerance, "1",
         "stop when |grad J| falls to this fraction of its value at the background")
      .above(0);
  return p;
}

// B^(1/2) (B = S S^T), applied to v (members, n): a matrix S (n x n), a
// diagonal (n), a root per wavenumber (spectral), or a scalar.
struct BackgroundRoot {
  at::Tensor matrix;    // full B: v S^T
  at::Tensor diagonal;  // diagonal B: v * s
  // Spectral B: v as (members, channels, grid...), its FFT over the grid,
  // each wavenumber's channel vector times the Hermitian root of that
  // wavenumber's (channels x channels) covariance, back to the grid.
  at::Tensor spectral;  // (grid..., channels, channels) complex
  std::vector<std::int64_t> fields;  // (channels, grid...) of the spectral form
  double scalar = 0;
  at::Tensor apply(const at::Tensor& v) const {
    if (matrix.defined()) return at::matmul(v, matrix.t());
    if (diagonal.defined()) return v * diagonal;
    if (spectral.defined()) return apply_spectral(v);
    return scalar * v;
  }

 private:
  at::Tensor apply_spectral(const at::Tensor& v) const {
    std::vector<std::int64_t> shape{v.size(0)};
    shape.insert(shape.end(), fields.begin(), fields.end());
    const auto grid = static_cast<std::int64_t>(fields.size()) - 1;
    std::vector<std::int64_t> axes;
    for (std::int64_t d = 0; d < grid; ++d) axes.push_back(2 + d);
    // (members, channels, k...) -> (members, k..., channels, 1): one channel vector per wavenumber.
    at::Tensor V = at::fft_fftn(v.reshape(shape), c10::nullopt, axes).movedim(1, -1).unsqueeze(-1);
    at::Tensor W = at::matmul(spectral, V).squeeze(-1).movedim(-1, 1);
    return at::real(at::fft_ifftn(W, c10::nullopt, axes)).reshape({v.size(0), -1});
  }
};

at::Tensor climatology_root(const Options& o, const at::Tensor& climatology, std::int64_t n);
BackgroundRoot spectral_root(const Options& o, const at::Tensor& climatology, const StateSpec& state);

BackgroundRoot background_root(const Options& o, const AssimilationProblem& problem, std::int64_t n,
                               Var4D::Cache& cache);

// sigma_b of the scalar B: the sampler's own, else the observe design's.
double background_sigma(const Options& o, const AssimilationProblem& problem) {
  return o.background_sigma ? *o.background_sigma : problem.background_sigma();
}

}  // namespace

struct Var4D::Cache {
  std::mutex mutex;
  at::Tensor climatology;  // the climatology seen last
  BackgroundRoot root;     // and its B^(1/2)
};

namespace {

BackgroundRoot background_root(const Options& o, const AssimilationProblem& problem, std::int64_t n,
                               Var4D::Cache& cache) {
  BackgroundRoot root;
  if (o.covariance == Options::Covariance::kScalar) {
    const double sigma = background_sigma(o, problem);
    if (!(sigma > 0))
      fail("background_covariance: scalar takes B = background_scale x sigma_b^2 I, and sigma_b is neither given "
           "(background_sigma) nor the observe design's (its background sigma is " + number_text(sigma) +
           "); give the sampler background_sigma: ..., the observe stage background: {sigma: ...}, or take B "
           "from a climatology (background_covariance: climatology, diagonal or spectral)");
    root.scalar = std::sqrt(o.background_scale) * sigma;
    if (!std::isfinite(root.scalar))
      fail("background_covariance: scalar: sqrt(background_scale) x the background's sigma (sqrt(" +
           number_text(o.background_scale) + ") x " + number_text(sigma) +
           ") overflows; lower background_sigma, the observe stage's background: {sigma: ...} or "
           "background_scale");
    return root;
  }
  if (!problem.climatology()) fail("background_covariance from a climatology, but the stage gave no climatology");
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (!cache.climatology.defined() || !cache.climatology.is_same(*problem.climatology())) {
    const at::Tensor& states = *problem.climatology();
    if (states.size(0) < 2) fail("the climatology has fewer than 2 states");
    if (states.numel() / states.size(0) != n)
      fail("the climatology's states have " + std::to_string(states.numel() / states.size(0)) +
           " entries, the window's " + std::to_string(n));
    BackgroundRoot fresh;
    if (o.covariance == Options::Covariance::kClimatology) fresh.matrix = climatology_root(o, states, n);
    if (o.covariance == Options::Covariance::kDiagonal)
      fresh.diagonal = at::sqrt(o.background_scale * states.to(at::kDouble).reshape({states.size(0), n}).var(0));
    if (o.covariance == Options::Covariance::kSpectral) fresh = spectral_root(o, states, problem.state());
    cache.root = fresh;
    cache.climatology = states;
  }
  return cache.root;
}

at::Tensor climatology_root(const Options& o, const at::Tensor& climatology, std::int64_t n) {
  const at::Tensor states = climatology.to(at::kDouble).reshape({climatology.size(0), n});
  const at::Tensor anomalies = states - states.mean(0, true);
  const at::Tensor covariance = at::matmul(anomalies.t(), anomalies) / static_cast<double>(states.size(0) - 1);
  // The symmetric root U diag(sqrt(lambda)) (DAPPER's sym_sqrt): exact for a
  // rank-deficient B, whose increments then stay in its span.
  auto [lambda, vectors] = at::linalg_eigh(covariance);
  return vectors * at::sqrt(o.background_scale * lambda.clamp_min(0)).unsqueeze(0);
}

// The homogeneous part of the climatology's covariance: the state's dims with
// a spacing are its grid, taken as periodic, those before them its channels.
// With A_s(k) the FFT of state s's anomaly, C(k) = sum_s A_s(k) A_s(k)^H /
// ((samples - 1) points) is the translation average of the sample covariance
// (B(i, j) averaged over the pairs (i + d, j + d)), and its Hermitian root
// per k makes B^(1/2) = F^-1 C^(1/2) F a real operator: C(-k) = conj C(k).
BackgroundRoot spectral_root(const Options& o, const at::Tensor& climatology, const StateSpec& state) {
  std::vector<std::int64_t> fields{1};
  std::int64_t points = 1;
  bool grid = false;
  for (const auto& d : state.dims) {
    if (d.spacing > 0) {
      grid = true;
      fields.push_back(d.size);
      points *= d.size;
    } else if (grid) {
      fail("background_covariance: spectral needs the state's channel dims before its grid dims, but '" + d.name +
           "' follows a grid dim");
    } else {
      fields[0] *= d.size;
    }
  }
  if (!grid) fail("background_covariance: spectral needs a state with grid dims (a spacing), '" + state.variable +
                  "' has none");
  std::vector<std::int64_t> shape{climatology.size(0)};
  shape.insert(shape.end(), fields.begin(), fields.end());
  const at::Tensor states = climatology.to(at::kDouble).reshape(shape);
  std::vector<std::int64_t> axes;
  for (std::size_t d = 1; d < fields.size(); ++d) axes.push_back(static_cast<std::int64_t>(1 + d));
  // (samples, k..., channels)
  const at::Tensor A = at::fft_fftn(states - states.mean(0, true), c10::nullopt, axes).movedim(1, -1);
  const at::Tensor C = at::einsum("s...i,s...j->...ij", {A, A.conj()}) /
                       static_cast<double>((climatology.size(0) - 1) * points);
  auto [lambda, vectors] = at::linalg_eigh(C);
  const at::Tensor root = at::matmul(vectors * at::sqrt(o.background_scale * lambda.clamp_min(0)).unsqueeze(-2)
                                                  .to(vectors.scalar_type()),
                                     vectors.conj().transpose(-2, -1));
  BackgroundRoot b;
  b.spectral = root;
  b.fields = fields;
  return b;
}

// The observations' term of J: the negative log-likelihood of the residuals
// r = (y - H(x)) / sigma, up to a constant. Gaussian: |r|^2 / 2 (eq. 18);
// Laplace of std sigma (scale sigma / sqrt(2)): sqrt(2) |r|, an L1 term,
// smoothed as sqrt(2) (sqrt(r^2 + d^2) - d) with d = 1e-4 (in units of
// sigma): L-BFGS's line search stalls on the kink of |r| at an observed
// value, where the minimiser often sits; the smoothed minimiser is within
// about d sigma of the exact one.
// The uniform and log-normal laws are treated as Gaussian of the same std:
// the uniform's likelihood is flat inside its support and zero outside, which
// gives L-BFGS no gradient, and the shifted log-normal's support depends on
// the residual's sign.
at::Tensor observation_cost(NoiseLaw law, const at::Tensor& residual) {
  constexpr double d = 1e-4;
  if (law == NoiseLaw::Laplace) return std::sqrt(2.0) * (at::sqrt(residual.square() + d * d) - d).sum();
  return 0.5 * residual.square().sum();
}

}  // namespace

Parameters Var4D::parameters() { return fields().parameters(); }
Var4D::Var4D(const Config& config) : Var4D(fields().read(config)) {}
Var4D::Var4D(Options options) : options_(options), cache_(std::make_shared<Cache>()) {}

SamplerNeeds Var4D::needs() const {
  SamplerNeeds needs;
  needs.differentiable_model = true;
  needs.climatology = options_.covariance != Options::Covariance::kScalar;
  needs.background_sigma = options_.covariance == Options::Covariance::kScalar && !options_.background_sigma;
  needs.observation_sigmas = true;
  return needs;
}

at::Tensor Var4D::sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const {
  if (!problem.evaluations()) return minimise(problem, members, seed, nullptr);
  Trace trace;
  at::Tensor x = minimise(problem, members, seed, &trace);
  problem.evaluations()->set_minimiser_trace(std::move(trace.cost), std::move(trace.gradient_norm));
  return x;
}

at::Tensor Var4D::minimise(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed,
                           Trace* trace) const {
  const std::int64_t frames = problem.observations().size(0);
  // Declared in needs(), so asked for even by a one-frame window (3D-Var),
  // which does not call it: a stage checks one rule for every window.
  if (!problem.model()) fail("needs the model of the window's dynamics; the stage gave none");
  if (!problem.model()->differentiable())
    fail("the model has no differentiable time step (Model::differentiable), which 4D-Var's adjoint needs");
  if (frames > 1 && problem.frame_steps() < 1) fail("the stage gave no model steps between frames");
  if (!(problem.observation_sigma() > 0)) fail("the observation sigma must be positive");
  const std::vector<std::int64_t> state = problem.state().shape();
  std::int64_t n = 1;
  for (auto s : state) n *= s;
  std::vector<std::int64_t> member_state{members};
  member_state.insert(member_state.end(), state.begin(), state.end());

  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const BackgroundRoot root = background_root(options_, problem, n, *cache_);
  // Each member's background: its own forecast when cycled, else the one
  // background, perturbed by B^(1/2) xi when there are several members.
  at::Tensor background;
  if (problem.forecast()) {
    if (problem.forecast()->size(0) != members)
      fail("the forecast has " + std::to_string(problem.forecast()->size(0)) + " members, " + std::to_string(members) +
           " were asked for");
    background = problem.forecast()->to(at::kDouble).reshape({members, n});
  } else if (problem.background()) {
    background = problem.background()->to(at::kDouble).reshape({1, n}).expand({members, n}).clone();
    if (members > 1) background = background + root.apply(at::randn({members, n}, generator, f64));
  } else {
    fail("needs a background of frame 0 (observe stage background: {sigma: ...}) or a forecast to start from");
  }
  const at::Tensor mask = problem.mask().to(at::kDouble).unsqueeze(0);
  // R's diagonal where the observations' errors differ (1 where unobserved, masked anyway).
  const at::Tensor sigmas = problem.observation_sigmas().defined()
                                ? at::where(mask != 0, problem.observation_sigmas().to(at::kDouble).unsqueeze(0), 1.0)
                                : at::Tensor();
  std::vector<std::int64_t> member_observations = problem.observations().sizes().vec();
  member_observations.insert(member_observations.begin(), members);
  at::Tensor observations = problem.observations().to(at::kDouble).unsqueeze(0).expand(member_observations);
  // Each member's observations perturbed by a draw of their own noise law.
  if (members > 1)
    observations = observations + (sigmas.defined() ? noise(problem.observation_law(), 1.0, observations.sizes(), generator) * sigmas
                                                    : noise(problem.observation_law(), problem.observation_sigma(), observations.sizes(), generator));

  const NoiseLaw law =
      options_.likelihood == Options::Likelihood::kLaw ? problem.observation_law() : NoiseLaw::Gaussian;
  at::AutoGradMode enable_grad(true);
  at::Tensor v = at::zeros({members, n}, f64).requires_grad_(true);
  const bool weak = options_.constraint == Options::Constraint::kWeak;
  at::Tensor eta = at::zeros({members, std::max<std::int64_t>(frames - 1, 0), n}, f64).requires_grad_(weak);
  std::vector<at::Tensor> controls{v};
  if (weak && frames > 1) controls.push_back(eta);

  auto window = [&]() {
    const at::Tensor x0 = (background + root.apply(v)).reshape(member_state);
    if (frames == 1) return x0.unsqueeze(1);
    if (!weak) return problem.model()->differentiable_trajectory(x0, frames, problem.frame_steps());
    std::vector<at::Tensor> out{x0};
    for (std::int64_t t = 1; t < frames; ++t) {
      const at::Tensor forecast = problem.model()->differentiable_trajectory(out.back(), 2, problem.frame_steps()).select(1, 1);
      out.push_back(forecast + options_.model_sigma * eta.select(1, t - 1).reshape(member_state));
    }
    return at::stack(out, 1);
  };
  double last_cost = NAN, last_gradient = NAN;
  std::int64_t evaluations = 0;
  // step() re-evaluates J where the previous line search ended; the point
  // and its gradient are already known then, and a model run is saved.
  std::vector<at::Tensor> evaluated_at;
  at::Tensor evaluated_cost;
  auto cost = [&]() {
    if (!evaluated_at.empty()) {
      bool same = true;
      for (std::size_t i = 0; i < controls.size() && same; ++i) same = at::equal(controls[i], evaluated_at[i]);
      if (same) return evaluated_cost;
    }
    ++evaluations;
    for (auto& c : controls)
      if (c.grad().defined()) c.mutable_grad().zero_();
    const at::Tensor x = window();
    const at::Tensor innovation = mask * (observations - problem.observation_operator()->apply(x));
    const at::Tensor residual = sigmas.defined() ? innovation / sigmas : innovation / problem.observation_sigma();
    at::Tensor j = 0.5 * v.square().sum() + observation_cost(law, residual);
    if (weak) j = j + 0.5 * eta.square().sum();
    j.backward();
    double g2 = 0;
    for (auto& c : controls) g2 += c.grad().square().sum().item<double>();
    last_cost = j.item<double>();
    last_gradient = std::sqrt(g2);
    evaluated_at.clear();
    for (auto& c : controls) evaluated_at.push_back(c.detach().clone());
    evaluated_cost = j.detach();
    return evaluated_cost;
  };

  cost();
  const double first_cost = last_cost, first_gradient = last_gradient;
  // A J or |grad J| that overflows at the background stops the loop below
  // before its first step (NaN compares false), which would return the
  // background as if it were the analysis: the window diverged instead.
  if (!std::isfinite(first_cost) || !std::isfinite(first_gradient))
    throw DivergenceError(0, std::string(kName) + ": J (" + number_text(first_cost) + ") or |grad J| (" +
                                 number_text(first_gradient) +
                                 ") is not finite at the background, before any iteration: the misfit over the "
                                 "observation sigma (" + number_text(problem.observation_sigma()) +
                                 ") or B's root (background sigma " + number_text(background_sigma(options_, problem)) +
                                 ", background_scale " + number_text(options_.background_scale) + ") overflows");
  if (trace) {
    trace->cost = {last_cost};
    trace->gradient_norm = {last_gradient};
  }
  // One L-BFGS iteration per step() (its memory persists between calls), so
  // that J and |grad J| are seen after each and the stopping rule is ours.
  torch::optim::LBFGS lbfgs(controls, torch::optim::LBFGSOptions(1)
                                          .max_iter(1)
                                          .max_eval(25)
                                          .tolerance_grad(0)
                                          .tolerance_change(0)
                                          .history_size(20)
                                          .line_search_fn("strong_wolfe"));
  std::int64_t iteration = 0;
  while (iteration < options_.iterations && last_gradient > options_.gradient_tolerance * first_gradient) {
    const double before = last_cost;
    lbfgs.step(cost);
    ++iteration;
    if (!std::isfinite(last_cost)) throw DivergenceError(iteration, std::string(kName) + ": J is no longer finite");
    if (trace) {
      trace->cost.push_back(last_cost);
      trace->gradient_norm.push_back(last_gradient);
    }
    if (last_cost >= before) break;  // the line search found no decrease: converged to rounding
  }
  log::debug(kName, ": J ", first_cost, " -> ", last_cost, " in ", iteration,
             " iterations (", evaluations, " evaluations of J and its gradient), |grad J| ", first_gradient, " -> ",
             last_gradient);
  if (trace) trace->evaluations = evaluations;
  at::NoGradGuard no_grad;
  return window().detach();
}

}  // namespace assim::variational
