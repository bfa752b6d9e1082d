#include "ensf.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/score_sampling.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <string>

namespace assim::ensf {

namespace {

const char* const kName = "sampler.ensf";

[[noreturn]] void fail(const std::string& message) { throw Error(std::string(kName) + ": " + message); }

Fields<Options> fields() {
  Fields<Options> p;
  p.integer("steps", &Options::steps, "",
            "K: Euler-Maruyama steps of the reverse SDE from t = 1 to t = 0 (step 1/K); the likelihood's term is "
            "explicit, so K must grow as sigma_o^2 shrinks (K > ~1/sigma_o^2 for H = identity)")
      .at_least(1);
  p.real("eps_alpha", &Options::eps_alpha, "1",
         "alpha_t = 1 - t (1 - eps_alpha), beta_t^2 = t: what is left of the state at pure noise (t = 1)")
      .above(0)
      .below(1);
  p.boolean("damping", &Options::damping,
            "weigh the likelihood's score by h(t) = 1 - t (the paper's damping), so that it acts as the noise "
            "fades; false: h = 1 at every t");
  p.integer("minibatch", &Options::minibatch, "",
            "forecast members drawn afresh at each step for the Monte-Carlo prior score (the paper's mini-batch); "
            "0: every member. The stage refuses fewer members than this")
      .at_least(0);
  p.choice("weights", &Options::weights, {{"joint", Weights::kJoint}, {"per_variable", Weights::kPerVariable}},
           "the members' softmax weights in the prior score: joint = the paper's, from the distance of whole "
           "states; per_variable = a softmax for each state variable from its own distance (variables as if "
           "independent given the ensemble), which keeps more than one member in play with few members in many "
           "dimensions");
  return p;
}

// log p(y | H(x)) for Gaussian noise of std sigma on the observed entries.
at::Tensor log_likelihood(const ObservationOperator& h, const at::Tensor& x, const at::Tensor& y,
                          const at::Tensor& mask, double sigma) {
  const at::Tensor r = mask * (y - h.apply(x));
  return -0.5 * r.square().sum() / (sigma * sigma);
}

}  // namespace

at::Tensor prior_score(const at::Tensor& x, const at::Tensor& members, double alpha, double beta_squared,
                       Weights weights) {
  if (weights == Weights::kJoint) {
    // -|x_i - alpha x0_j|^2 / (2 beta^2) up to the x_i-only term, which the softmax over j drops.
    const at::Tensor logits =
        (alpha * x.matmul(members.t()) - 0.5 * alpha * alpha * members.square().sum(1).unsqueeze(0)) / beta_squared;
    const at::Tensor w = at::softmax(logits, 1);  // (points, J)
    return (alpha * w.matmul(members) - x) / beta_squared;
  }
  const at::Tensor d = x.unsqueeze(1) - alpha * members.unsqueeze(0);  // (points, J, n)
  const at::Tensor w = at::softmax(-d.square() / (2 * beta_squared), 1);
  return -(w * d).sum(1) / beta_squared;
}

Parameters ScoreFilter::parameters() { return fields().parameters(); }

ScoreFilter::ScoreFilter(const Config& config) : options_(fields().read(config)) {}

ScoreFilter::ScoreFilter(Options options) : options_(options) {}

at::Tensor ScoreFilter::sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const {
  const at::Tensor& forecast = forecast_ensemble_of(problem, members, kName);
  if (problem.observation_law() != NoiseLaw::Gaussian)
    fail("its likelihood score is Gaussian's; the observations' noise law is not");
  if (options_.minibatch > members)
    fail("minibatch " + std::to_string(options_.minibatch) + " exceeds the " + std::to_string(members) + " members");
  const at::NoGradGuard no_grad;
  const ObservationOperator& h = *problem.observation_operator();
  const at::TensorOptions work = forecast.options();
  // Frame 0; entries outside the mask may hold anything (NaN), so zero them.
  const at::Tensor mask = problem.mask()[0].to(work);
  const at::Tensor y = at::where(mask != 0, problem.observations()[0].to(work), at::zeros_like(mask));
  const double sigma = problem.observation_sigma();
  if (!at::isfinite(y).all().item<bool>()) fail("an observed entry (mask = 1) is not finite");
  const at::Tensor hx = h.apply(forecast);
  if (!hx.sizes().slice(1).equals(y.sizes()))
    fail("the observation operator returned shape " + shape_text(hx.sizes()) + " for the forecast, expected (members, " +
         shape_text(y.sizes()).substr(1));

  const at::IntArrayRef state = forecast.sizes().slice(1);
  const at::Tensor ensemble = forecast.reshape({members, -1});
  const std::int64_t n = ensemble.size(1);
  std::vector<std::int64_t> shaped{members};
  shaped.insert(shaped.end(), state.begin(), state.end());

  const Schedule schedule{options_.eps_alpha};
  score::Noise noise(seed, work);
  // The mini-batches from a generator of their own, so that the SDE's noise is
  // the same draw with or without them.
  at::Generator batches = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x9e3779b97f4a7c15ULL);
  const std::int64_t batch = options_.minibatch > 0 ? options_.minibatch : members;
  const int steps = options_.steps;
  const double dt = 1.0 / steps;

  at::Tensor x = noise.normal({members, n});
  for (int k = 0; k < steps; ++k) {
    const double t = 1.0 - k * dt;
    at::Tensor sample_of_prior = ensemble;
    if (batch < members)
      sample_of_prior = ensemble.index_select(0, at::randperm(members, batches, at::kLong).narrow(0, 0, batch).to(work.device()));
    at::Tensor score = prior_score(x, sample_of_prior, schedule.alpha(t), schedule.beta_squared(t), options_.weights);
    const double damping = options_.damping ? Schedule::damping(t) : 1.0;
    if (damping > 0) {
      // grad_x log p(y | x) at x_t, as the paper evaluates it, through H by autograd.
      const at::AutoGradMode grad_mode(true);
      const at::Tensor leaf = x.detach().reshape(shaped).requires_grad_(true);
      const at::Tensor log_p = log_likelihood(h, leaf, y, mask, sigma);
      score = score + damping * torch::autograd::grad({log_p}, {leaf})[0].detach().reshape({members, n});
    }
    // Euler-Maruyama on the reverse SDE, t -> t - dt.
    const double g2 = schedule.diffusion_squared(t);
    x = x - dt * (schedule.drift(t) * x - g2 * score) + std::sqrt(g2 * dt) * noise.normal({members, n});
    score::check_finite(x, k + 1, t, t - dt, kName);
  }
  return x.reshape(shaped).unsqueeze(1);
}

}  // namespace assim::ensf
