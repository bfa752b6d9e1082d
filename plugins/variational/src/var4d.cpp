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
           {{"scalar", Options::Covariance::kScalar}, {"climatology", Options::Covariance::kClimatology}},
           "B: scalar = background_scale x sigma_b^2 I with the observe design's sigma_b; climatology = "
           "background_scale x the covariance of the climatology's states, which the stage supplies (DAPPER's "
           "B = xB * cov of the truth)");
  p.real("background_scale", &Options::background_scale, "1",
         "xB: the factor B is multiplied by (DAPPER's Var3D and Var4D on Lorenz-96 use 0.02 with the climatology)")
      .above(0);
  p.integer("iterations", &Options::iterations, "", "most L-BFGS iterations per minimisation").at_least(1);
  p.real("gradient_tolerance", &Options::gradient_tolerance, "1",
         "stop when |grad J| falls to this fraction of its value at the background")
      .above(0);
  return p;
}

// B^(1/2) as a matrix S (n x n, B = S S^T) applied as v S^T, or a scalar.
struct BackgroundRoot {
  at::Tensor matrix;   // defined for a full B
  double scalar = 0;
  at::Tensor apply(const at::Tensor& v) const {  // v (members, n)
    return matrix.defined() ? at::matmul(v, matrix.t()) : scalar * v;
  }
};

at::Tensor climatology_root(const Options& o, const at::Tensor& climatology, std::int64_t n);

BackgroundRoot background_root(const Options& o, const AssimilationProblem& problem, std::int64_t n,
                               Var4D::Cache& cache);

}  // namespace

struct Var4D::Cache {
  std::mutex mutex;
  at::Tensor climatology, root;  // the climatology seen last and its B^(1/2)
};

namespace {

BackgroundRoot background_root(const Options& o, const AssimilationProblem& problem, std::int64_t n,
                               Var4D::Cache& cache) {
  BackgroundRoot root;
  if (o.covariance == Options::Covariance::kScalar) {
    if (!(problem.background_sigma > 0))
      fail("background_covariance: scalar takes B from the background's sigma, which is " +
           std::to_string(problem.background_sigma) +
           "; give the observe stage background: {sigma: ...} or use background_covariance: climatology");
    root.scalar = std::sqrt(o.background_scale) * problem.background_sigma;
    return root;
  }
  if (!problem.climatology) fail("background_covariance: climatology, but the stage gave no climatology");
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (!cache.climatology.defined() || !cache.climatology.is_same(*problem.climatology)) {
    cache.root = climatology_root(o, *problem.climatology, n);
    cache.climatology = *problem.climatology;
  }
  root.matrix = cache.root;
  return root;
}

at::Tensor climatology_root(const Options& o, const at::Tensor& climatology, std::int64_t n) {
  const at::Tensor states = climatology.to(at::kDouble).reshape({climatology.size(0), -1});
  if (states.size(1) != n)
    fail("the climatology's states have " + std::to_string(states.size(1)) + " entries, the window's " +
         std::to_string(n));
  if (states.size(0) < 2) fail("the climatology has fewer than 2 states");
  const at::Tensor anomalies = states - states.mean(0, true);
  const at::Tensor covariance = at::matmul(anomalies.t(), anomalies) / static_cast<double>(states.size(0) - 1);
  // The symmetric root U diag(sqrt(lambda)) (DAPPER's sym_sqrt): exact for a
  // rank-deficient B, whose increments then stay in its span.
  auto [lambda, vectors] = at::linalg_eigh(covariance);
  return vectors * at::sqrt(o.background_scale * lambda.clamp_min(0)).unsqueeze(0);
}

}  // namespace

Parameters Var4D::parameters() { return fields().parameters(); }
Var4D::Var4D(const Config& config) : Var4D(fields().read(config)) {}
Var4D::Var4D(Options options) : options_(options), cache_(std::make_shared<Cache>()) {}

SamplerNeeds Var4D::needs() const {
  SamplerNeeds needs;
  needs.differentiable_model = true;
  needs.climatology = options_.covariance == Options::Covariance::kClimatology;
  return needs;
}

at::Tensor Var4D::sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const {
  if (!problem.evaluations) return minimise(problem, members, seed, nullptr);
  Trace trace;
  at::Tensor x = minimise(problem, members, seed, &trace);
  problem.evaluations->cost = trace.cost;
  problem.evaluations->gradient_norm = trace.gradient_norm;
  return x;
}

at::Tensor Var4D::minimise(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed,
                           Trace* trace) const {
  const std::int64_t frames = problem.observations.size(0);
  // Declared in needs(), so asked for even by a one-frame window (3D-Var),
  // which does not call it: a stage checks one rule for every window.
  if (!problem.model) fail("needs the model of the window's dynamics; the stage gave none");
  if (!problem.model->differentiable())
    fail("the model has no differentiable time step (Model::differentiable), which 4D-Var's adjoint needs");
  if (frames > 1 && problem.frame_steps < 1) fail("the stage gave no model steps between frames");
  if (!(problem.observation_sigma > 0)) fail("the observation sigma must be positive");
  const std::vector<std::int64_t> state = problem.state.shape();
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
  if (problem.forecast) {
    if (problem.forecast->size(0) != members)
      fail("the forecast has " + std::to_string(problem.forecast->size(0)) + " members, " + std::to_string(members) +
           " were asked for");
    background = problem.forecast->to(at::kDouble).reshape({members, n});
  } else if (problem.background) {
    background = problem.background->to(at::kDouble).reshape({1, n}).expand({members, n}).clone();
    if (members > 1) background = background + root.apply(at::randn({members, n}, generator, f64));
  } else {
    fail("needs a background of frame 0 (observe stage background: {sigma: ...}) or a forecast to start from");
  }
  const at::Tensor mask = problem.mask.to(at::kDouble).unsqueeze(0);
  std::vector<std::int64_t> member_observations = problem.observations.sizes().vec();
  member_observations.insert(member_observations.begin(), members);
  at::Tensor observations = problem.observations.to(at::kDouble).unsqueeze(0).expand(member_observations);
  if (members > 1)
    observations = observations + problem.observation_sigma * at::randn(observations.sizes(), generator, f64);

  at::AutoGradMode enable_grad(true);
  at::Tensor v = at::zeros({members, n}, f64).requires_grad_(true);
  const bool weak = options_.constraint == Options::Constraint::kWeak;
  at::Tensor eta = at::zeros({members, std::max<std::int64_t>(frames - 1, 0), n}, f64).requires_grad_(weak);
  std::vector<at::Tensor> controls{v};
  if (weak && frames > 1) controls.push_back(eta);

  auto window = [&]() {
    const at::Tensor x0 = (background + root.apply(v)).reshape(member_state);
    if (frames == 1) return x0.unsqueeze(1);
    if (!weak) return problem.model->differentiable_trajectory(x0, frames, problem.frame_steps);
    std::vector<at::Tensor> out{x0};
    for (std::int64_t t = 1; t < frames; ++t) {
      const at::Tensor forecast = problem.model->differentiable_trajectory(out.back(), 2, problem.frame_steps).select(1, 1);
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
    const at::Tensor residual = mask * (observations - problem.observation_operator->apply(x)) / problem.observation_sigma;
    at::Tensor j = 0.5 * (v.square().sum() + residual.square().sum());
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
