// The posterior certificate of sampler.enkf (AssimSDK::testing's
// certificate.hpp): on the linear-Gaussian example the analysis of a
// forecast ensemble drawn from the prior is the Kalman posterior up to the
// ensemble's sampling error, so the truth's ranks among the analysis members
// must be uniform; with a wrong R they are not. On the nonlinear sin toy
// the EnKF's linear update cannot draw a multi-modal posterior, and on
// arctan(3x) it misses the one-mode posterior by its global regression
// slope: its W1 to the quadrature posterior is recorded.
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "enkf_sampler.hpp"
#include "operators.hpp"

#include <assim/testing/certificate.hpp>
#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace assim::testing;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

// M = 99 members: ranks 0..99 fill 10 bins of 10 evenly.
constexpr std::int64_t kMembers = 99, kBins = 10;

struct Run {
  Calibration calibration;
  Distance distance;
};

// For each replication: a forecast of kMembers draws from the prior, the
// analysis of y with the noise std the filter is told (`told_sigma`), its
// members ranked against the truth.
Run certify(const assim::enkf::Options& options, double told_sigma, std::int64_t replications, std::uint64_t seed) {
  const LinearGaussian problem = example_problem();
  const std::int64_t n = problem.mean.numel();
  const Replications draws = draw_replications(problem, replications, seed);
  const at::Tensor root = at::linalg_cholesky(problem.covariance);
  const auto h = std::make_shared<ChannelMatrix>(problem.H);
  const assim::enkf::EnsembleKalmanFilter filter(options);
  at::Tensor samples = at::empty({kMembers, replications, n}, f64);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  for (std::int64_t r = 0; r < replications; ++r) {
    const at::Tensor forecast = problem.mean + at::randn({kMembers, n}, generator, f64).matmul(root.t());
    const assim::AssimilationProblem q = forecast_problem(h, forecast, draws.observations[r], told_sigma);
    samples.select(1, r).copy_(filter.sample(q, kMembers, seed + 2 + static_cast<std::uint64_t>(r)).reshape({kMembers, n}));
  }
  return {calibrate(draws.truth, samples, kBins), distance(samples, exact_posterior(problem, draws.observations))};
}

}  // namespace

TEST_CASE("certificate: the ETKF and the stochastic EnKF draw the linear-Gaussian posterior, a wrong R does not") {
  // Tolerance: with M = 99 members drawn from the prior, the analysis mean
  // and covariance carry the forecast's sampling error, O(1 / M) in the
  // spread the truth sees (about 1 % of the std here), far below what 400
  // replications resolve (a spread error of ~10 % moves the outer bins by
  // about 2 counts in 40, sqrt(40) ~ 6 of noise): the ranks pass at 1 %
  // (Bonferroni over the 4 coordinates) unless the analysis is wrong.
  const std::int64_t replications = certificate_size(400, 4000);
  // The certificate's operator keeps the operators' contract (batches, autograd, linear()).
  const Failures broken = check_observation_operator(ChannelMatrix(example_problem().H), {4, 1, 3});
  CHECK_MESSAGE(broken.empty(), broken.text());
  for (const auto method : {assim::enkf::Method::ETKF, assim::enkf::Method::PertObs}) {
    const std::string name = method == assim::enkf::Method::ETKF ? "ETKF" : "EnKF (perturbed obs.)";
    CAPTURE(name);
    assim::enkf::Options options;
    options.method = method;
    const Run run = certify(options, example_problem().sigma_o, replications, 3);
    MESSAGE(name << ": " << run.calibration.text() << "; " << run.distance.text());
    print_row(name + ", M = 99", "linear-Gaussian example", run.calibration, run.distance);
    CHECK(run.calibration.uniform());
    CHECK(run.distance.std_ratio_min > 0.9);
    CHECK(run.distance.std_ratio_max < 1.1);

    // The same filter told R four times too large (sigma 1.0 for 0.5):
    // it trusts y too little, its members spread too wide, the truth falls
    // in the middle ranks too often, and the certificate must say so.
    const Run wrong = certify(options, 2 * example_problem().sigma_o, replications, 3);
    MESSAGE(name << " with R x 4: " << wrong.calibration.text() << "; " << wrong.distance.text());
    print_row(name + ", M = 99, told R x 4", "linear-Gaussian example", wrong.calibration, wrong.distance);
    CHECK_FALSE(wrong.calibration.uniform());
  }
}

// W1 of the analysis of `method` to the quadrature posterior at each of the
// toy's 4 points alone through `h`: a forecast of draws from the prior
// N(0, 0.5^2) analysed against y = h(truth) + the toy's noise.
static at::Tensor w1_per_point(const std::shared_ptr<const assim::ObservationOperator>& h, assim::enkf::Method method,
                               std::int64_t members) {
  const NonlinearExample toy = nonlinear_example();
  const at::Tensor y = h->apply(toy.truth) + toy.noise;
  const at::Tensor nodes = at::linspace(-3, 3, 6001, f64);
  assim::StateSpec state;
  state.variable = "x";
  state.dims = {{"channel", 1, "", 0.0}, {"y", 1, "1", 1.0}, {"x", 1, "1", 1.0}};
  assim::enkf::Options options;
  options.method = method;
  at::Tensor w1 = at::empty({4}, f64);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(17);
  for (std::int64_t k = 0; k < 4; ++k) {
    assim::AssimilationProblem q;
    q.set_state(state);
    q.set_observation_operator(h);
    q.set_observations(y[k].reshape({1, 1, 1, 1}));
    q.set_mask(at::ones({1, 1, 1, 1}, f64));
    q.set_observation_sigma(toy.sigma_o);
    q.set_forecast(toy.prior_std * at::randn({members, 1, 1, 1}, generator, f64));
    const at::Tensor x = assim::enkf::EnsembleKalmanFilter(options).sample(q, members, 19);
    w1[k] = wasserstein1(x, nodes, quadrature_posterior(*h, nodes, y[k].reshape({1}), toy.sigma_o, toy.prior_std)[0]);
  }
  return w1;
}

static const char* method_name(assim::enkf::Method method) {
  return method == assim::enkf::Method::ETKF ? "ETKF" : "EnKF (perturbed obs.)";
}

TEST_CASE("certificate: the ETKF and the stochastic EnKF on 1.5 sin(3x) against the quadrature posterior") {
  // The update is linear in the innovation with the ensemble's (x, h(x))
  // regression, so it moves the prior towards one Gaussian compromise
  // between the modes.
  using assim::observations::Sine;
  const auto h = std::make_shared<Sine>(assim::config_from_yaml("{amplitude: 1.5, frequency: 3}", Sine::parameters()));
  // The ETKF's transform is an M x M eigenproblem: 1000 members at most.
  const std::int64_t members = certificate_size(400, 1000);
  for (const auto method : {assim::enkf::Method::ETKF, assim::enkf::Method::PertObs}) {
    const at::Tensor w1 = w1_per_point(h, method, members);
    print_row(std::string(method_name(method)) + ", M = " + std::to_string(members), "1.5 sin(3x)", w1);
    // A Gaussian compromise between the modes is far from them: W1 of the
    // order of the distance between modes (0.2 to 0.7) at some point.
    CHECK(w1.max().item<double>() > 0.1);
  }
}

TEST_CASE("certificate: the ETKF and the stochastic EnKF on arctan(3x) against the quadrature posterior") {
  // arctan(3x) (the main job's operator) is monotone: every posterior has one
  // mode, and where x is small it is nearly linear. It saturates past
  // |x| ~ 0.5, so at x = 1.2 (slope 0.2) the posterior is skewed towards
  // large x, which no Gaussian update draws; and the ensemble's regression
  // slope of h on x is the prior's average, not the local one.
  using assim::observations::Arctan;
  const auto h = std::make_shared<Arctan>(assim::config_from_yaml("{scale: 3}", Arctan::parameters()));
  const std::int64_t members = certificate_size(400, 1000);
  for (const auto method : {assim::enkf::Method::ETKF, assim::enkf::Method::PertObs}) {
    const at::Tensor w1 = w1_per_point(h, method, members);
    print_row(std::string(method_name(method)) + ", M = " + std::to_string(members), "arctan(3x)", w1);
    // Even near x = 0, where the posterior is nearly N(x, (0.1 / 3)^2), the
    // update takes the prior's slope (about half the local one): W1 above
    // the posterior's std at every point, where the particle filter's is
    // below 0.05 (test_particle_sampler.cpp).
    CHECK(w1.min().item<double>() > 0.05);
  }
}
