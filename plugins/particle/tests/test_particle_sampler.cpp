// Tests of sampler.particle: its parameters, the likelihood of each noise
// law, a degenerate filter's error, and its posterior certificate
// (AssimSDK::testing's certificate.hpp): on the linear-Gaussian example the
// truth's ranks among its particles are uniform, with a wrong R they are
// not; on the nonlinear sin toy it draws the multi-modal posterior the EnKF
// cannot.
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "operators.hpp"
#include "particle_sampler.hpp"

#include <assim/error.hpp>
#include <assim/testing/certificate.hpp>
#include <assim/testing/config.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

using namespace assim::testing;
using assim::particle::ParticleFilter;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

// The analysis of a forecast (members, n) observed through `h`.
at::Tensor analyse(const ParticleFilter& filter, const std::shared_ptr<const assim::ObservationOperator>& h,
                   const at::Tensor& forecast, const at::Tensor& y, double sigma, std::uint64_t seed,
                   assim::NoiseLaw law = assim::NoiseLaw::Gaussian) {
  return filter.sample(forecast_problem(h, forecast, y, sigma, law), forecast.size(0), seed).reshape(forecast.sizes());
}

// M = 99 members for the ranks (10 bins of 10), taken evenly from the
// resampled particles: the resampled indices come out sorted and the
// forecast's particles are independent, so every 50th is a draw of its own.
constexpr std::int64_t kParticles = 4950, kMembers = 99, kBins = 10;

struct Run {
  Calibration calibration;
  Distance distance;
};

Run certify(double told_sigma, std::int64_t replications, std::uint64_t seed) {
  const LinearGaussian problem = example_problem();
  const std::int64_t n = problem.mean.numel();
  const Replications draws = draw_replications(problem, replications, seed);
  const at::Tensor root = at::linalg_cholesky(problem.covariance);
  const auto h = std::make_shared<ChannelMatrix>(problem.H);
  // reg = 0: the jitter's bias vanishes only as N grows; the certificate
  // checks the weights and the resampling.
  const ParticleFilter filter(assim::particle::Options{0.0});
  at::Tensor samples = at::empty({kMembers, replications, n}, f64);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  for (std::int64_t r = 0; r < replications; ++r) {
    const at::Tensor forecast = problem.mean + at::randn({kParticles, n}, generator, f64).matmul(root.t());
    const at::Tensor particles =
        analyse(filter, h, forecast, draws.observations[r], told_sigma, seed + 2 + static_cast<std::uint64_t>(r));
    samples.select(1, r).copy_(particles.slice(0, 0, kParticles, kParticles / kMembers));
  }
  return {calibrate(draws.truth, samples, kBins), distance(samples, exact_posterior(problem, draws.observations))};
}

}  // namespace

TEST_CASE("sampler.particle declares its regularisation and refuses a negative one, naming the key") {
  const auto declared = ParticleFilter::parameters();
  CHECK_NOTHROW(ParticleFilter(assim::config_from_yaml("{regularisation: 1.2}", declared)));
  CHECK_THROWS_WITH_AS(ParticleFilter(assim::config_from_yaml("{regularisation: -0.1}", declared)),
                       doctest::Contains("regularisation"), assim::ConfigError);
  CHECK_FALSE(ParticleFilter(assim::particle::Options{}).needs().local);
  CHECK(ParticleFilter(assim::particle::Options{}).needs().forecast);
  CHECK(ParticleFilter(assim::particle::Options{}).needs().min_members == 2);
}

TEST_CASE("the likelihood of each noise law, up to a constant") {
  using assim::NoiseLaw;
  using assim::particle::log_likelihood;
  const at::Tensor r = at::tensor({0.0, 1.0, -2.0}, f64).reshape({3, 1});
  const double sigma = 2.0;
  const auto value = [&](NoiseLaw law, int i) { return log_likelihood(law, sigma, r)[i].item<double>(); };
  // Differences from the residual 0, so that the constants cancel.
  CHECK(value(NoiseLaw::Gaussian, 1) - value(NoiseLaw::Gaussian, 0) == doctest::Approx(-0.125));
  CHECK(value(NoiseLaw::Laplace, 2) - value(NoiseLaw::Laplace, 0) == doctest::Approx(-std::sqrt(2.0)));
  CHECK(value(NoiseLaw::Uniform, 2) == value(NoiseLaw::Uniform, 0));
  CHECK(std::isinf(log_likelihood(NoiseLaw::Uniform, sigma, at::full({1, 1}, 3.5, f64))[0].item<double>()));
  // The log-normal noise: its density at r is that of Z = log v, v = r c + sqrt(e),
  // over v; below r = -sqrt(e) / c it has none.
  const double e = std::exp(1.0), c = std::sqrt((e - 1) * e) / sigma;
  const auto lognormal = [&](double x) {
    const double v = x * c + std::sqrt(e);
    return -0.5 * std::log(v) * std::log(v) - std::log(v);
  };
  CHECK(value(NoiseLaw::LogNormal, 1) - value(NoiseLaw::LogNormal, 0) == doctest::Approx(lognormal(1) - lognormal(0)));
  CHECK(std::isinf(value(NoiseLaw::LogNormal, 2)));
  // Summed over observations.
  CHECK(log_likelihood(NoiseLaw::Gaussian, 1.0, at::ones({2, 3}, f64))[1].item<double>() == doctest::Approx(-1.5));
}

TEST_CASE("a particle filter that no particle can explain says it has degenerated") {
  // Uniform noise of std 0.1 (support +-0.17) and every particle 1 or more away.
  const auto h = std::make_shared<ChannelMatrix>(at::eye(1, f64));
  const at::Tensor forecast = 1 + at::rand({50, 1}, f64);
  const ParticleFilter filter(assim::particle::Options{1.0});
  CHECK_THROWS_WITH_AS(analyse(filter, h, forecast, at::zeros({1}, f64), 0.1, 1, assim::NoiseLaw::Uniform),
                       doctest::Contains("weight is zero"), assim::DivergenceError);
}

TEST_CASE("certificate: the particle filter draws the linear-Gaussian posterior, a wrong R does not") {
  // 4950 particles from the prior: N_eff ~ 1000 after weighting, so the
  // weighted posterior's mean and spread are off by ~3 % of its std, below
  // what 400 replications resolve (EnKF's certificate: ~10 % moves the
  // outer bins by about 2 of 40 counts).
  const std::int64_t replications = certificate_size(400, 4000);
  const Run run = certify(example_problem().sigma_o, replications, 3);
  MESSAGE("particle filter: " << run.calibration.text() << "; " << run.distance.text());
  print_row("particle filter, N = 4950 (99 ranked)", "linear-Gaussian example", run.calibration, run.distance);
  CHECK(run.calibration.uniform());
  CHECK(run.distance.std_ratio_min > 0.9);
  CHECK(run.distance.std_ratio_max < 1.1);
  // Told R four times too large, its particles spread too wide.
  const Run wrong = certify(2 * example_problem().sigma_o, replications, 3);
  MESSAGE("particle filter with R x 4: " << wrong.calibration.text() << "; " << wrong.distance.text());
  print_row("particle filter, N = 4950, told R x 4", "linear-Gaussian example", wrong.calibration, wrong.distance);
  CHECK_FALSE(wrong.calibration.uniform());
}

// W1 of the particle filter's analysis to the quadrature posterior at each
// of the toy's 4 points alone through `h`: a forecast of `particles` draws
// from the prior N(0, 0.5^2), weighed against y = h(truth) + the toy's noise.
static at::Tensor w1_per_point(const std::shared_ptr<const assim::ObservationOperator>& h, std::int64_t particles) {
  const NonlinearExample toy = nonlinear_example();
  const at::Tensor y = h->apply(toy.truth) + toy.noise;
  const at::Tensor nodes = at::linspace(-3, 3, 6001, f64);
  const ParticleFilter filter(assim::particle::Options{0.0});
  at::Tensor w1 = at::empty({4}, f64);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(17);
  for (std::int64_t k = 0; k < 4; ++k) {
    const at::Tensor forecast = toy.prior_std * at::randn({particles, 1}, generator, f64);
    const at::Tensor x = analyse(filter, h, forecast, y[k].reshape({1}), toy.sigma_o, 19);
    w1[k] = wasserstein1(x.reshape({particles}), nodes,
                         quadrature_posterior(*h, nodes, y[k].reshape({1}), toy.sigma_o, toy.prior_std)[0]);
  }
  return w1;
}

TEST_CASE("certificate: on 1.5 sin(3x) the particle filter draws the multi-modal quadrature posterior") {
  // The EnKF's linear update lands at W1 > 0.1 of this posterior at some
  // point (test_enkf_certificate.cpp); importance weights are exact up to
  // their Monte-Carlo error, W1 ~ a few 1e-2 for an effective size of a few
  // hundred.
  using assim::observations::Sine;
  const auto h = std::make_shared<Sine>(assim::config_from_yaml("{amplitude: 1.5, frequency: 3}", Sine::parameters()));
  const std::int64_t particles = certificate_size(4000, 40000);
  const at::Tensor w1 = w1_per_point(h, particles);
  print_row("particle filter, N = " + std::to_string(particles), "1.5 sin(3x)", w1);
  CHECK(w1.max().item<double>() < 0.05);
}

TEST_CASE("certificate: on arctan(3x) the particle filter draws the skewed quadrature posterior") {
  // Where arctan(3x) saturates (x = 1.2) the posterior is skewed towards
  // large x, and the EnKF misses it at every point by W1 > 0.05
  // (test_enkf_certificate.cpp); importance weights do not.
  using assim::observations::Arctan;
  const auto h = std::make_shared<Arctan>(assim::config_from_yaml("{scale: 3}", Arctan::parameters()));
  const std::int64_t particles = certificate_size(4000, 40000);
  const at::Tensor w1 = w1_per_point(h, particles);
  print_row("particle filter, N = " + std::to_string(particles), "arctan(3x)", w1);
  CHECK(w1.max().item<double>() < 0.05);
}
