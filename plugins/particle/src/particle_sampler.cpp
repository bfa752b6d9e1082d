#include "particle_sampler.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/noise.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace assim::particle {

namespace {

const char* const kName = "sampler.particle";

[[noreturn]] void fail(const std::string& message) { throw Error(std::string(kName) + ": " + message); }

Fields<Options> fields() {
  Fields<Options> p;
  p.real("regularisation", &Options::regularisation, "1",
         "jitter of the resampled duplicates (DAPPER's reg): Gaussian of covariance (reg h)^2 times the weighted "
         "ensemble's, h = N^(-1/(M+4)) Scott's bandwidth; 0: none, which a deterministic model's duplicates "
         "never recover from")
      .at_least(0);
  return p;
}

}  // namespace

at::Tensor log_likelihood(NoiseLaw law, double sigma, const at::Tensor& residuals) {
  const at::Tensor r = residuals / sigma;
  const double minus_infinity = -std::numeric_limits<double>::infinity();
  switch (law) {
    case NoiseLaw::Gaussian:
      return -0.5 * r.square().sum(-1);
    case NoiseLaw::Laplace:
      // Scale b = sigma / sqrt(2): log p = -|r| sigma / b.
      return -std::sqrt(2.0) * r.abs().sum(-1);
    case NoiseLaw::Uniform:
      // U(-sqrt(3) sigma, sqrt(3) sigma): flat inside, nothing outside.
      return at::where(r.abs() <= std::sqrt(3.0), at::zeros_like(r), at::full_like(r, minus_infinity)).sum(-1);
    case NoiseLaw::LogNormal: {
      // The noise is sigma (exp(Z) - sqrt(e)) / sqrt((e - 1) e), Z ~ N(0, 1)
      // (assim/noise.hpp): v = exp(Z) = r sqrt((e - 1) e) + sqrt(e) > 0, and
      // the density of r is phi(log v) / v times a constant.
      const double e = std::exp(1.0);
      const at::Tensor v = r * std::sqrt((e - 1) * e) + std::sqrt(e);
      const at::Tensor log_v = at::log(v.clamp_min(std::numeric_limits<double>::min()));
      return at::where(v > 0, -0.5 * log_v.square() - log_v, at::full_like(r, minus_infinity)).sum(-1);
    }
  }
  fail("unknown noise law");
}

Parameters ParticleFilter::parameters() { return fields().parameters(); }

ParticleFilter::ParticleFilter(const Config& config) : options_(fields().read(config)) {}

ParticleFilter::ParticleFilter(Options options) : options_(options) {}

at::Tensor ParticleFilter::sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const {
  const at::Tensor& forecast = forecast_ensemble_of(problem, members, kName);
  const Settings settings{1.0, options_.regularisation};
  try {
    check(settings, members);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }

  const at::NoGradGuard no_grad;
  const at::IntArrayRef observation_dims = problem.observations().sizes().slice(1);
  const at::Tensor hx = problem.observation_operator()->apply(forecast).detach();
  if (hx.dim() < 1 || hx.size(0) != members || !hx.sizes().slice(1).equals(observation_dims))
    fail("the observation operator returned shape " + shape_text(hx.sizes()) + " for the forecast, expected (members, " +
         shape_text(observation_dims).substr(1));
  // Frame 0, observed entries only. Entries outside the mask may hold anything.
  const at::Tensor observed =
      at::nonzero(problem.mask()[0].reshape({-1}).to(at::kCPU) != 0).reshape({-1}).to(at::kLong);
  const at::Tensor y = problem.observations()[0].reshape({-1}).to(at::kCPU, at::kDouble).index_select(0, observed);
  const at::Tensor predicted = hx.reshape({members, -1}).to(at::kCPU, at::kDouble).index_select(1, observed);
  if (!at::isfinite(y).all().item<bool>()) fail("an observed entry (mask = 1) is not finite");
  if (!at::isfinite(predicted).all().item<bool>())
    throw DivergenceError(0, std::string(kName) + ": the observation operator returned non-finite values");

  const at::Tensor log_l =
      log_likelihood(problem.observation_law(), problem.observation_sigma(), y.unsqueeze(0) - predicted).contiguous();
  // The particles are overwritten in a copy of the forecast: the tensor's
  // (member, state...) memory is the row-major particles x state matrix.
  at::Tensor analysis = forecast.to(at::kCPU).contiguous().clone();
  const std::int64_t n = analysis.numel() / members;
  RowMatrix particles = Eigen::Map<RowMatrix>(analysis.data_ptr<double>(), members, n);
  // The forecast's particles are equally weighted (see the header).
  Eigen::VectorXd log_weights = Eigen::VectorXd::Constant(members, -std::log(static_cast<double>(members)));
  Rng rng(seed);
  try {
    analyse(particles, log_weights, Eigen::Map<const Eigen::VectorXd>(log_l.data_ptr<double>(), members), settings,
            rng);
  } catch (const Degenerate& e) {
    throw DivergenceError(0, std::string(kName) + ": " + e.what());
  }
  if (!particles.allFinite()) throw DivergenceError(0, std::string(kName) + ": the analysis is not finite");
  Eigen::Map<RowMatrix>(analysis.data_ptr<double>(), members, n) = particles;
  return analysis.unsqueeze(1).to(forecast.device());
}

}  // namespace assim::particle
