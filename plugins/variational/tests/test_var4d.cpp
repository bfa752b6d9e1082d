// sampler.var4d against closed forms: on a linear model with Gaussian errors
// its strong- and weak-constraint minimisers are the Kalman (RTS) smoother's
// mean with Q = 0 and Q = sigma_q^2 I; its ensemble of data assimilations
// samples that posterior; J falls monotonically on a nonlinear operator; a
// model without a differentiable step is refused.
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "operators.hpp"
#include "var4d.hpp"

#include <assim/error.hpp>
#include <assim/observation_operator.hpp>
#include <assim/testing/certificate.hpp>
#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using assim::variational::Options;
using assim::variational::Trace;
using assim::variational::Var4D;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

// x_{k+1} = A x_k on 4 sites: a damped rotation mixing neighbours.
at::Tensor step_matrix() {
  return at::tensor({0.9, 0.3, 0.0, 0.0, -0.3, 0.9, 0.1, 0.0, 0.0, -0.1, 0.95, 0.2, 0.1, 0.0, -0.2, 0.95}, f64)
      .reshape({4, 4});
}

class Linear : public assim::Model {
 public:
  explicit Linear(bool differentiable = true) : differentiable_(differentiable) {}
  assim::StateSpec state_spec() const override { return {"x", "x", "1", {{"site", 4, "1", 1.0}}, 1.0, "1"}; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn({members, 4}, g, f64);
  }
  struct Run : assim::Trajectory {
    at::Tensor x;
    std::int64_t n = 0;
    void advance(std::int64_t steps) override {
      for (std::int64_t s = 0; s < steps; ++s, ++n) x = at::matmul(x, step_matrix().t());
    }
    at::Tensor state() const override { return x; }
    std::int64_t steps_taken() const override { return n; }
  };
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    auto run = std::make_unique<Run>();
    run->x = states.to(at::kDouble).clone();
    return run;
  }
  bool differentiable() const override { return differentiable_; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    std::vector<at::Tensor> out{states};
    at::Tensor x = states;
    for (std::int64_t k = 1; k < frames; ++k) {
      for (std::int64_t s = 0; s < frame_steps; ++s) x = at::matmul(x, step_matrix().t());
      out.push_back(x);
    }
    return at::stack(out, 1);
  }

 private:
  bool differentiable_;
};

// y = (x_0, 2 x_2): linear, two of the four sites.
at::Tensor observation_matrix() { return at::tensor({1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0}, f64).reshape({2, 4}); }
class Sites : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return at::matmul(x, observation_matrix().t()); }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>&) const override { return {2}; }
  bool linear() const override { return true; }
};
// The same sites through arctan: smooth and nonlinear.
class ArctanSites : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return at::atan(at::matmul(x, observation_matrix().t())); }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>&) const override { return {2}; }
};

const double kSigmaO = 0.3, kSigmaB = 0.7, kSigmaQ = 0.2;
const std::int64_t kFrameSteps = 2;

assim::AssimilationProblem window(std::int64_t frames, std::shared_ptr<const assim::ObservationOperator> op) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  assim::AssimilationProblem p;
  p.set_state(Linear().state_spec());
  p.set_observation_operator(std::move(op));
  p.set_observations(at::randn({frames, 2}, g, f64));
  p.set_mask(at::ones({frames, 2}, f64));
  if (frames > 2) p.mask()[1][1] = 0;  // one entry unobserved
  p.set_observation_sigma(kSigmaO);
  p.set_background(at::randn({4}, g, f64));
  p.set_background_sigma(kSigmaB);
  p.set_model(std::make_shared<Linear>());
  p.set_frame_steps(kFrameSteps);
  return p;
}

// The Kalman filter forward and the Rauch-Tung-Striebel smoother backward:
// the mean of every frame given all of the window's observations.
at::Tensor smoother_mean(const assim::AssimilationProblem& p, double sigma_q) {
  const std::int64_t frames = p.observations().size(0);
  const at::Tensor M = at::matrix_power(step_matrix(), kFrameSteps), H = observation_matrix();
  const at::Tensor Q = sigma_q * sigma_q * at::eye(4, f64);
  std::vector<at::Tensor> mf, Pf, mp, Pp;
  at::Tensor m = *p.background(), P = kSigmaB * kSigmaB * at::eye(4, f64);
  for (std::int64_t t = 0; t < frames; ++t) {
    if (t > 0) {
      m = at::matmul(M, m);
      P = at::matmul(at::matmul(M, P), M.t()) + Q;
    }
    mp.push_back(m);
    Pp.push_back(P);
    const at::Tensor observed = p.mask()[t].nonzero().squeeze(1);
    const at::Tensor Ht = H.index_select(0, observed);
    const at::Tensor S = at::matmul(at::matmul(Ht, P), Ht.t()) + kSigmaO * kSigmaO * at::eye(Ht.size(0), f64);
    const at::Tensor K = at::matmul(at::matmul(P, Ht.t()), at::inverse(S));
    m = m + at::matmul(K, p.observations()[t].index_select(0, observed) - at::matmul(Ht, m));
    P = P - at::matmul(at::matmul(K, Ht), P);
    mf.push_back(m);
    Pf.push_back(P);
  }
  std::vector<at::Tensor> ms(static_cast<std::size_t>(frames));
  ms.back() = mf.back();
  for (std::int64_t t = frames - 2; t >= 0; --t) {
    const at::Tensor G = at::matmul(at::matmul(Pf[t], M.t()), at::inverse(Pp[t + 1]));
    ms[t] = mf[t] + at::matmul(G, ms[t + 1] - mp[t + 1]);
  }
  return at::stack(ms, 0);
}

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

Options with(Options::Constraint constraint) {
  Options o;
  o.constraint = constraint;
  o.model_sigma = kSigmaQ;
  o.iterations = 500;
  o.gradient_tolerance = 1e-12;
  return o;
}

}  // namespace

TEST_CASE("strong-constraint 4D-Var's minimiser is the Kalman smoother's mean without model error") {
  for (std::int64_t frames : {1, 2, 5}) {
    CAPTURE(frames);
    const auto p = window(frames, std::make_shared<Sites>());
    const at::Tensor x = Var4D(with(Options::Constraint::kStrong)).sample(p, 1, 1)[0];
    CHECK(relative_error(x, smoother_mean(p, 0)) < 1e-6);
  }
}

TEST_CASE("weak-constraint 4D-Var's minimiser is the Kalman smoother's mean with Q = sigma_q^2 I") {
  const auto p = window(5, std::make_shared<Sites>());
  const at::Tensor x = Var4D(with(Options::Constraint::kWeak)).sample(p, 1, 1)[0];
  CHECK(relative_error(x, smoother_mean(p, kSigmaQ)) < 1e-6);
  // And it is not the strong constraint's: Q matters.
  CHECK(relative_error(x, smoother_mean(p, 0)) > 1e-2);
}

TEST_CASE("an ensemble of data assimilations samples the linear-Gaussian posterior") {
  const auto p = window(3, std::make_shared<Sites>());
  const std::int64_t members = 400;
  const at::Tensor x0 = Var4D(with(Options::Constraint::kStrong)).sample(p, members, 7).select(1, 0);
  // The posterior of x_0: precision B^-1 + sum_t (H M^t)^T R^-1 (H M^t) over observed rows.
  const at::Tensor M = at::matrix_power(step_matrix(), kFrameSteps), H = observation_matrix();
  at::Tensor precision = at::eye(4, f64) / (kSigmaB * kSigmaB);
  at::Tensor propagator = at::eye(4, f64);
  for (std::int64_t t = 0; t < 3; ++t) {
    const at::Tensor G = at::matmul(H.index_select(0, p.mask()[t].nonzero().squeeze(1)), propagator);
    precision = precision + at::matmul(G.t(), G) / (kSigmaO * kSigmaO);
    propagator = at::matmul(M, propagator);
  }
  const at::Tensor variance = at::diagonal(at::inverse(precision));
  const at::Tensor mean = smoother_mean(p, 0)[0];
  const at::Tensor z = (x0.mean(0) - mean) / at::sqrt(variance / members);
  CHECK(z.abs().max().item<double>() < 4);
  const at::Tensor ratio = x0.var(0) / variance;  // 7 % std at 400 members
  CHECK(ratio.min().item<double>() > 0.75);
  CHECK(ratio.max().item<double>() < 1.3);
}

TEST_CASE("certificate: the ensemble of data assimilations draws the linear-Gaussian window's posterior") {
  // The window of 3 frames, every entry observed, as one linear-Gaussian
  // problem in x_0 (AssimSDK::testing's certificate): x_0 ~ N(x_b, sigma_b^2 I),
  // y = G x_0 + e with G the rows H M^t stacked over frames. Each member
  // minimises J with its own perturbed background and observations, which
  // for linear H and M is an exact posterior draw (randomised maximum
  // likelihood), so the truth's ranks among 99 members must be uniform at
  // any ensemble size: this fails when the EDA's perturbations or the
  // minimiser are wrong (a point estimate would have all ranks at 0 or 99).
  using namespace assim::testing;
  constexpr std::int64_t kFrames = 3, kMembers = 99;
  auto p = window(kFrames, std::make_shared<Sites>());
  p.set_mask(at::ones({kFrames, 2}, f64));
  const at::Tensor M = at::matrix_power(step_matrix(), kFrameSteps);
  std::vector<at::Tensor> rows;
  at::Tensor propagator = at::eye(4, f64);
  for (std::int64_t t = 0; t < kFrames; ++t, propagator = at::matmul(M, propagator))
    rows.push_back(at::matmul(observation_matrix(), propagator));
  LinearGaussian problem;
  problem.mean = *p.background();
  problem.covariance = kSigmaB * kSigmaB * at::eye(4, f64);
  problem.H = at::cat(rows, 0);
  problem.sigma_o = kSigmaO;
  const std::int64_t replications = certificate_size(400, 4000);
  const Replications draws = draw_replications(problem, replications, 5);
  Options o = with(Options::Constraint::kStrong);
  o.gradient_tolerance = 1e-9;
  const Var4D eda(o);
  at::Tensor samples = at::empty({kMembers, replications, 4}, f64);
  for (std::int64_t r = 0; r < replications; ++r) {
    p.set_observations(draws.observations[r].reshape({kFrames, 2}));
    samples.select(1, r).copy_(eda.sample(p, kMembers, 100 + static_cast<std::uint64_t>(r)).select(1, 0));
  }
  const Calibration calibration = calibrate(draws.truth, samples, 10);
  const Distance d = distance(samples, exact_posterior(problem, draws.observations));
  MESSAGE("4D-Var EDA: " << calibration.text() << "; " << d.text());
  print_row("4D-Var EDA, M = 99", "linear window (3 frames, x_0)", calibration, d);
  CHECK(calibration.uniform());
  CHECK(d.std_ratio_min > 0.9);
  CHECK(d.std_ratio_max < 1.1);
  // Told sigma_o twice too large (R x 4): the members trust y too little,
  // spread too wide, and the certificate must say so.
  p.set_observation_sigma(2 * kSigmaO);
  at::Tensor wrong = at::empty_like(samples);
  for (std::int64_t r = 0; r < replications; ++r) {
    p.set_observations(draws.observations[r].reshape({kFrames, 2}));
    wrong.select(1, r).copy_(eda.sample(p, kMembers, 100 + static_cast<std::uint64_t>(r)).select(1, 0));
  }
  const Calibration rejected = calibrate(draws.truth, wrong, 10);
  print_row("4D-Var EDA, M = 99, told R x 4", "linear window (3 frames, x_0)", rejected,
            distance(wrong, exact_posterior(problem, draws.observations)));
  CHECK_FALSE(rejected.uniform());
  p.set_observation_sigma(kSigmaO);
  // One member is the minimiser itself, the posterior mean: the smoother's.
  const at::Tensor mean = eda.sample(p, 1, 1).select(1, 0)[0];
  const at::Tensor exact = exact_posterior(problem, p.observations().reshape({1, -1})).mean[0];
  CHECK(relative_error(mean, exact) < 1e-6);
  // and the certificate's exact posterior is the Kalman smoother's at frame 0.
  CHECK(relative_error(exact, smoother_mean(p, 0)[0]) < 1e-10);
}

TEST_CASE("certificate: 3D-Var's ensemble of data assimilations on 1.5 sin(3x) against the quadrature posterior") {
  // The toy's 4 points as the 4 sites of one frame (3D-Var), B = 0.5^2 I
  // about 0, y = obs.sin of each site: the sites are independent, each
  // posterior the toy's. Each member minimises its perturbed J from its
  // perturbed background: randomised maximum likelihood, exact only for a
  // linear H; here each member stops in the mode nearest its start.
  using assim::observations::Sine;
  const auto h = std::make_shared<Sine>(assim::config_from_yaml("{amplitude: 1.5, frequency: 3}", Sine::parameters()));
  const assim::testing::NonlinearExample toy = assim::testing::nonlinear_example();
  auto p = window(1, h);
  p.set_observations((h->apply(toy.truth) + toy.noise).reshape({1, 4}));
  p.set_mask(at::ones({1, 4}, f64));
  p.set_observation_sigma(toy.sigma_o);
  p.set_background(at::zeros({4}, f64));
  p.set_background_sigma(toy.prior_std);
  const std::int64_t members = assim::testing::certificate_size(400, 4000);
  Options o = with(Options::Constraint::kStrong);
  o.gradient_tolerance = 1e-8;
  const at::Tensor x = Var4D(o).sample(p, members, 23).reshape({members, 4});
  const at::Tensor nodes = at::linspace(-3, 3, 6001, f64);
  const at::Tensor weights =
      assim::testing::quadrature_posterior(*h, nodes, p.observations().reshape({4}), toy.sigma_o, toy.prior_std);
  at::Tensor w1 = at::empty({4}, f64);
  for (std::int64_t k = 0; k < 4; ++k) w1[k] = assim::testing::wasserstein1(x.select(1, k), nodes, weights[k]);
  assim::testing::print_row("3D-Var EDA, M = " + std::to_string(members), "1.5 sin(3x)", w1);
  // Members land in the posterior's modes, but RML weighs them by how many
  // starts fall in each basin, not by their mass: not exact, not far.
  CHECK(w1.max().item<double>() < 0.5);
}

TEST_CASE("L-BFGS lowers J at every iteration on a nonlinear operator and stops on the gradient") {
  const auto p = window(4, std::make_shared<ArctanSites>());
  for (auto constraint : {Options::Constraint::kStrong, Options::Constraint::kWeak}) {
    Options o = with(constraint);
    o.gradient_tolerance = 1e-6;
    Trace trace;
    Var4D(o).minimise(p, 2, 1, &trace);
    REQUIRE(trace.cost.size() > 2);
    for (std::size_t i = 1; i < trace.cost.size(); ++i) CHECK(trace.cost[i] <= trace.cost[i - 1]);
    CHECK(trace.gradient_norm.back() <= 1e-6 * trace.gradient_norm.front());
    CHECK(trace.cost.back() < 0.9 * trace.cost.front());
  }
}

TEST_CASE("Laplace noise makes the observations' term L1: 3D-Var's analysis is the soft threshold") {
  // One frame, B = sigma_b^2 I, y = (x_0, 2 x_2), Laplace noise of std sigma_o
  // (scale sigma_o / sqrt(2)). Per site J = (x - b)^2 / (2 sigma_b^2) +
  // sqrt(2) |y - a x| / sigma_o is minimised at y / a when |y / a - b| <=
  // tau = sqrt(2) a sigma_b^2 / sigma_o (the kink), else at b + sign tau.
  auto p = window(1, std::make_shared<Sites>());
  const double sigma_b = 0.2, sigma_o = 0.3;
  p.set_background(at::zeros({4}, f64));
  p.set_background_sigma(sigma_b);
  p.set_observation_sigma(sigma_o);
  p.set_observations(at::tensor({1.0, 0.1}, f64).reshape({1, 2}));
  p.set_observation_law(assim::NoiseLaw::Laplace);
  Options o = with(Options::Constraint::kStrong);
  o.gradient_tolerance = 1e-10;
  const at::Tensor x = Var4D(o).sample(p, 1, 1)[0][0];
  const double tau0 = std::sqrt(2.0) * sigma_b * sigma_b / sigma_o;  // 0.189 < 1: the threshold binds
  CHECK(x[0].item<double>() == doctest::Approx(tau0).epsilon(1e-6));
  CHECK(x[2].item<double>() == doctest::Approx(0.05).epsilon(1e-3));  // |0.05| < 2 tau0: at the kink
  CHECK(x[1].item<double>() == doctest::Approx(0.0));
  // The Gaussian law of the same std pulls site 0 to the Kalman weight instead.
  p.set_observation_law(assim::NoiseLaw::Gaussian);
  const at::Tensor gaussian = Var4D(o).sample(p, 1, 1)[0][0];
  const double weight = sigma_b * sigma_b / (sigma_b * sigma_b + sigma_o * sigma_o);
  CHECK(gaussian[0].item<double>() == doctest::Approx(weight).epsilon(1e-6));
  // likelihood: gaussian makes the same of Laplace observations.
  p.set_observation_law(assim::NoiseLaw::Laplace);
  o.likelihood = Options::Likelihood::kGaussian;
  CHECK(at::allclose(Var4D(o).sample(p, 1, 1)[0][0], gaussian, 0, 1e-9));
}

TEST_CASE("a model without a differentiable step is refused by name") {
  auto p = window(3, std::make_shared<Sites>());
  p.set_model(std::make_shared<Linear>(false));
  CHECK_THROWS_WITH_AS(Var4D(Options{}).sample(p, 1, 1), doctest::Contains("no differentiable time step"),
                       assim::Error);
  p.set_model(nullptr);
  CHECK_THROWS_WITH_AS(Var4D(Options{}).sample(p, 1, 1), doctest::Contains("needs the model"), assim::Error);
}

TEST_CASE("a J or gradient not finite at the background is a divergence, not the background returned") {
  // Huge B: |grad J| = |B^(1/2)^T H^T r / sigma_o| overflows; tiny sigma_o: J itself does.
  for (auto [sigma_b, sigma_o] : {std::pair{1e200, kSigmaO}, std::pair{kSigmaB, 1e-200}}) {
    CAPTURE(sigma_b);
    auto p = window(3, std::make_shared<Sites>());
    p.set_background_sigma(sigma_b);
    p.set_observation_sigma(sigma_o);
    try {
      Var4D(with(Options::Constraint::kStrong)).sample(p, 1, 1);
      FAIL("no DivergenceError");
    } catch (const assim::DivergenceError& e) {
      CHECK(e.step() == 0);
      CHECK(std::string(e.what()).find("not finite at the background") != std::string::npos);
    }
  }
  // sqrt(background_scale) x sigma_b overflowing is the settings' doing: refused naming both.
  auto p = window(1, std::make_shared<Sites>());
  p.set_background_sigma(1e300);
  Options o = with(Options::Constraint::kStrong);
  o.background_scale = 1e20;
  CHECK_THROWS_WITH_AS(Var4D(o).sample(p, 1, 1), doctest::Contains("sqrt(background_scale) x the background's sigma"),
                       assim::Error);
}

TEST_CASE("B from the climatology: the background term follows its covariance") {
  // A climatology whose site 3 never varies: B has no increment there, so
  // 3D-Var leaves the background's site 3 alone and moves the observed ones.
  auto p = window(1, std::make_shared<Sites>());
  auto g = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor states = at::randn({500, 4}, g, f64);
  states.select(1, 3).fill_(2.0);
  p.set_climatology(states);
  Options o = with(Options::Constraint::kStrong);
  o.covariance = Options::Covariance::kClimatology;
  const Var4D var(o);
  CHECK(var.needs().climatology);
  const at::Tensor x = var.sample(p, 1, 1)[0][0];
  CHECK(std::abs(x[3].item<double>() - (*p.background())[3].item<double>()) < 1e-9);
  CHECK(std::abs(x[0].item<double>() - (*p.background())[0].item<double>()) > 1e-3);
  p.set_climatology(std::nullopt);
  CHECK_THROWS_WITH_AS(var.sample(p, 1, 1), doctest::Contains("gave no climatology"), assim::Error);
}

// Every entry of the state observed directly.
class Identity : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x; }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state) const override { return state; }
  bool linear() const override { return true; }
};

TEST_CASE("background_sigma gives the scalar B its own sigma_b, in place of the observe design's") {
  // A window with the design's sigma_b, and the same window without one (a
  // filter stage's): the sampler's background_sigma = the design's sigma
  // gives the same analysis, 2 x it the analysis of a design with 2 x it.
  const auto with_design = window(3, std::make_shared<Sites>());
  auto without = with_design;
  without.set_background_sigma(0);
  Options o = with(Options::Constraint::kStrong);
  o.background_scale = 0.2;
  const at::Tensor reference = Var4D(o).sample(with_design, 1, 1);
  CHECK(Var4D(o).needs().background_sigma);
  CHECK_THROWS_WITH_AS(Var4D(o).sample(without, 1, 1), doctest::Contains("sigma_b is neither given (background_sigma)"),
                       assim::Error);

  o.background_sigma = kSigmaB;
  const Var4D own(o);
  CHECK_FALSE(own.needs().background_sigma);
  CHECK_FALSE(own.needs().climatology);
  CHECK(relative_error(own.sample(without, 1, 1), reference) < 1e-9);
  // The sampler's sigma_b wins over the design's.
  auto doubled = with_design;
  doubled.set_background_sigma(2 * kSigmaB);
  o.background_sigma = 2 * kSigmaB;
  const at::Tensor twice = Var4D(o).sample(with_design, 1, 1);
  CHECK(relative_error(twice, Var4D(with(Options::Constraint::kStrong)).sample(doubled, 1, 1)) > 1e-3);
  o.background_scale = 1;
  CHECK(relative_error(Var4D(o).sample(with_design, 1, 1), Var4D(with(Options::Constraint::kStrong)).sample(doubled, 1, 1)) < 1e-9);
  CHECK(relative_error(twice, reference) > 1e-3);

  // DAPPER's B = xB I from the settings a filter stage's sampler takes: one
  // frame, every site observed, so 3D-Var's analysis is the Kalman update
  // x_b + xB / (xB + sigma_o^2) (y - x_b) per site.
  assim::AssimilationProblem p;
  p.set_state(Linear().state_spec());
  p.set_observation_operator(std::make_shared<Identity>());
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  p.set_observations(at::randn({1, 4}, g, f64));
  p.set_mask(at::ones({1, 4}, f64));
  p.set_observation_sigma(1);
  p.set_background(at::randn({4}, g, f64));
  p.set_model(std::make_shared<Linear>());
  const Var4D dapper(assim::config_from_yaml("{background_covariance: scalar, background_sigma: 1, background_scale: 0.2, "
                                             "gradient_tolerance: 1.0e-12}",
                                             Var4D::parameters()));
  const at::Tensor kalman = *p.background() + 0.2 / 1.2 * (p.observations()[0] - *p.background());
  CHECK(relative_error(dapper.sample(p, 1, 1)[0][0], kalman) < 1e-8);
  CHECK_THROWS_AS(assim::config_from_yaml("{background_sigma: 0}", Var4D::parameters()), assim::ConfigError);
}

TEST_CASE("errors per observation: 3D-Var's analysis is the Kalman update with R = diag(sigma_i^2)") {
  // One frame, B = I, every site but the last observed with its own error:
  // per site x_b + 1 / (1 + sigma_i^2) (y - x_b); the unobserved site (its
  // sigma 0, as the host gives it) keeps the background, and nothing is NaN.
  assim::AssimilationProblem p;
  p.set_state(Linear().state_spec());
  p.set_observation_operator(std::make_shared<Identity>());
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  p.set_observations(at::randn({1, 4}, g, f64));
  p.set_mask(at::tensor({1.0, 1.0, 1.0, 0.0}, f64).reshape({1, 4}));
  p.set_observation_sigma(1);
  const at::Tensor sigmas = at::tensor({0.5, 1.0, 2.0, 0.0}, f64);
  p.set_observation_sigmas(sigmas.reshape({1, 4}));
  p.set_background(at::randn({4}, g, f64));
  p.set_model(std::make_shared<Linear>());
  const Var4D var(assim::config_from_yaml("{background_sigma: 1, gradient_tolerance: 1.0e-12}", Var4D::parameters()));
  CHECK(var.needs().observation_sigmas);
  const at::Tensor gain = at::tensor({1 / 1.25, 1 / 2.0, 1 / 5.0, 0.0}, f64);
  const at::Tensor kalman = *p.background() + gain * (p.observations()[0] - *p.background());
  const at::Tensor x = var.sample(p, 1, 1)[0][0];
  CHECK(at::isfinite(x).all().item<bool>());
  CHECK(relative_error(x, kalman) < 1e-8);
  // An ensemble of data assimilations perturbs each observation by its own error.
  CHECK(at::isfinite(var.sample(p, 3, 1)).all().item<bool>());
}

TEST_CASE("B from the climatology's variances or its homogeneous part: 3D-Var's analysis is the Kalman update with it") {
  // Two layers on a 3 x 4 periodic grid; a climatology whose entries are
  // correlated across layers and neighbours, and not homogeneous.
  assim::AssimilationProblem p;
  p.set_state({"q", "q", "1", {{"layer", 2, "", 0.0}, {"y", 3, "1", 1.0}, {"x", 4, "1", 1.0}}, 1.0, "1"});
  const std::int64_t n = 24;
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor mixing = at::randn({n, n}, g, f64) * 0.3 + at::eye(n, f64);
  const at::Tensor states = (at::matmul(at::randn({300, n}, g, f64), mixing.t()) + 0.5).reshape({300, 2, 3, 4});
  p.set_climatology(states);
  p.set_observation_operator(std::make_shared<Identity>());
  p.set_observations(at::randn({1, 2, 3, 4}, g, f64));
  p.set_mask(at::ones({1, 2, 3, 4}, f64));
  p.mask()[0][1][2][3] = 0;
  p.set_observation_sigma(0.5);
  p.set_background(at::randn({2, 3, 4}, g, f64));
  p.set_background_sigma(1);  // unused: B comes from the climatology
  p.set_model(std::make_shared<Linear>());

  const at::Tensor anomalies = states.reshape({300, n}) - states.reshape({300, n}).mean(0, true);
  const at::Tensor full = at::matmul(anomalies.t(), anomalies) / 299.0;
  // The translation average: B(i, j) over the pairs (i + d, j + d) on the torus.
  at::Tensor homogeneous = at::zeros({n, n}, f64);
  for (std::int64_t dy = 0; dy < 3; ++dy) {
    for (std::int64_t dx = 0; dx < 4; ++dx) {
      // The permutation moving every point by (dy, dx), layer by layer.
      const at::Tensor index = at::arange(n, at::kLong).reshape({2, 3, 4}).roll({dy, dx}, {1, 2}).reshape({n});
      homogeneous += full.index_select(0, index).index_select(1, index);
    }
  }
  homogeneous /= 12.0;
  // The Kalman update with H = the observed entries, R = sigma_o^2 I.
  auto analysis = [&](const at::Tensor& B) {
    const at::Tensor observed = p.mask().reshape({n}).nonzero().squeeze(1);
    const at::Tensor H = at::eye(n, f64).index_select(0, observed);
    const at::Tensor S = at::matmul(at::matmul(H, B), H.t()) + 0.25 * at::eye(observed.size(0), f64);
    const at::Tensor K = at::matmul(at::matmul(B, H.t()), at::inverse(S));
    const at::Tensor xb = p.background()->reshape({n});
    return xb + at::matmul(K, p.observations().reshape({n}).index_select(0, observed) - at::matmul(H, xb));
  };
  Options o = with(Options::Constraint::kStrong);
  o.background_scale = 0.7;
  for (auto [covariance, B] : {std::make_pair(Options::Covariance::kSpectral, homogeneous),
                               std::make_pair(Options::Covariance::kDiagonal, at::diag(at::diag(full))),
                               std::make_pair(Options::Covariance::kClimatology, full)}) {
    o.covariance = covariance;
    const Var4D var(o);
    CHECK(var.needs().climatology);
    const at::Tensor x = var.sample(p, 1, 1).reshape({n});
    CHECK(relative_error(x, analysis(0.7 * B)) < 1e-6);
  }
  // The homogeneous B is not the full one (the climatology is not homogeneous).
  CHECK(relative_error(homogeneous, full) > 0.05);

  // A spectral B needs its channel dims before the grid's.
  assim::StateSpec channels_inside = p.state();
  channels_inside.dims = {{"y", 3, "1", 1.0}, {"layer", 2, "", 0.0}, {"x", 4, "1", 1.0}};
  p.set_state(channels_inside);
  o.covariance = Options::Covariance::kSpectral;
  CHECK_THROWS_WITH_AS(Var4D(o).sample(p, 1, 1), doctest::Contains("channel dims before its grid dims"), assim::Error);
}

TEST_CASE("sampler.var4d keeps the Sampler contract and reads its settings") {
  const auto p = window(3, std::make_shared<Sites>());
  const Var4D var(assim::config_from_yaml("{constraint: weak, model_sigma: 0.2, iterations: 50}", Var4D::parameters()));
  const auto failures = assim::testing::check_sampler(var, p, 3);
  CHECK_MESSAGE(failures.empty(), failures.text());
  CHECK(var.needs().differentiable_model);
  CHECK_FALSE(var.needs().climatology);
  CHECK(var.needs().background_sigma);
  CHECK_THROWS_AS(assim::config_from_yaml("{constraint: medium}", Var4D::parameters()), assim::ConfigError);
}
