// Tests of sampler.enkf: its parameters, the problem it accepts, and that it
// hands the observed entries and their grid locations to the analysis core.
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "config_impl.hpp"
#include "enkf_sampler.hpp"

#include <assim/error.hpp>
#include <assim/observation_operator.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace assim::enkf;

namespace {

// H x = scale * (layer 0 of x): on a (layer, y, x) state the output dims are
// (y, x); on a 1-D state it is the identity times scale.
class FirstLayer : public assim::ObservationOperator {
 public:
  explicit FirstLayer(bool layered, double scale = 1) : layered_(layered), scale_(scale) {}
  at::Tensor apply(const at::Tensor& x) const override { return scale_ * (layered_ ? x.select(-3, 0) : x); }

 private:
  bool layered_;
  double scale_;
};

// Folds a (batch, n) state into (batch, 2, n / 2): observations off the grid.
class Folded : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x.reshape({x.size(0), 2, -1}); }
};

assim::StateSpec ring(std::int64_t sites) {
  assim::StateSpec s;
  s.variable = "x";
  s.dims = {{"site", sites, "1", 1.0}};
  return s;
}

assim::StateSpec layered_plane(std::int64_t layers, std::int64_t ny, std::int64_t nx) {
  assim::StateSpec s;
  s.variable = "q";
  s.dims = {{"layer", layers, "", 0.0}, {"y", ny, "m", 1e4}, {"x", nx, "m", 1e4}};
  return s;
}

// A forecast of `members` draws around a smooth field, y from one more draw,
// every entry observed.
assim::AssimilationProblem problem_for(const assim::StateSpec& state, bool layered, std::int64_t members) {
  const auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  std::vector<std::int64_t> shape{members};
  for (auto s : state.shape()) shape.push_back(s);
  assim::AssimilationProblem p;
  p.set_state(state);
  p.set_forecast(at::randn(shape, gen, at::kDouble) + 1.0);
  p.set_observation_operator(std::make_shared<FirstLayer>(layered));
  const at::Tensor truth = at::randn(at::IntArrayRef(shape).slice(1), gen, at::kDouble);
  p.set_observations(p.observation_operator()->apply(truth).unsqueeze(0));
  p.set_mask(at::ones_like(p.observations()));
  p.set_observation_sigma(0.5);
  return p;
}

RowMatrix rows(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return Eigen::Map<const RowMatrix>(c.data_ptr<double>(), c.size(0), c.numel() / c.size(0));
}

std::string error_of(const EnsembleKalmanFilter& filter, const assim::AssimilationProblem& p, std::int64_t members) {
  try {
    filter.sample(p, members, 1);
  } catch (const assim::Error& e) {
    return e.what();
  }
  return "no error";
}

// A Config as the host builds it from YAML: validated, defaults filled.
assim::Config config_from(const std::string& yaml) {
  auto impl = std::make_shared<assim::Config::Impl>();
  impl->node = YAML::Load(yaml);
  impl->path = "components.enkf";
  impl->origin = std::make_shared<assim::ConfigOrigin>(assim::ConfigOrigin{"test.yaml", {}});
  impl->declared = EnsembleKalmanFilter::parameters().list();
  assim::validate_settings(impl->node, impl->declared, *impl->origin, impl->path, {}, "sampler.enkf");
  return assim::Config(impl);
}

}  // namespace

TEST_CASE("sampler.enkf declares its parameters once and reads them from an experiment") {
  const auto params = EnsembleKalmanFilter::parameters();
  std::vector<std::string> names;
  for (const auto& p : params.list()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"method", "inflation", "localisation", "rotate"});
  const auto* inflation = params.find("inflation");
  REQUIRE(inflation);
  REQUIRE(inflation->fields.size() == 7);
  CHECK(inflation->fields[0].name == "posterior_anomalies");
  CHECK(*inflation->fields[0].minimum == 1);
  CHECK(inflation->fields[2].name == "finite_size");
  CHECK(inflation->fields[3].name == "finite_size_xn");
  CHECK(inflation->fields[4].name == "additive");
  CHECK(inflation->fields[4].unit == "state units");
  CHECK(inflation->fields[5].name == "additive_covariance");
  CHECK(inflation->fields[6].name == "additive_scale");
  CHECK(inflation->fields[6].unit == "1");
  CHECK_THROWS_AS(config_from("{inflation: {additive: -0.1}}"), assim::ConfigError);
  CHECK_THROWS_AS(config_from("{inflation: {additive_covariance: climatology, additive_scale: -0.1}}"),
                  assim::ConfigError);

  CHECK_NOTHROW(EnsembleKalmanFilter(config_from("{}")));
  CHECK_NOTHROW(EnsembleKalmanFilter(
      config_from("{method: letkf, inflation: {posterior_anomalies: 1.04}, localisation: {radius: 6}}")));
  CHECK_THROWS_AS(config_from("{inflation: {posterior_anomalies: 0.9}}"), assim::ConfigError);
  CHECK_THROWS_AS(config_from("{inflation: {rtps: 1.5}}"), assim::ConfigError);
  CHECK_THROWS_AS(config_from("{method: enkf}"), assim::ConfigError);
  CHECK_THROWS_AS(config_from("{localisation: {radius: 0}}"), assim::ConfigError);
  std::string message;
  try {
    EnsembleKalmanFilter filter(config_from("{method: letkf}"));
  } catch (const assim::ConfigError& e) {
    message = e.what();
  }
  CHECK(message.find("components.enkf.localisation: letkf needs a localisation radius") != std::string::npos);

  // The EnKF-N: its options read through, impossible combinations refused by key.
  const EnsembleKalmanFilter enkf_n(config_from("{inflation: {finite_size: true, finite_size_xn: 2}}"));
  CHECK_NOTHROW(EnsembleKalmanFilter(
      config_from("{method: letkf, inflation: {finite_size: true}, localisation: {radius: 6}}")));
  CHECK_THROWS_AS(config_from("{inflation: {finite_size: true, finite_size_xn: 0}}"), assim::ConfigError);
  const auto refusal = [](const std::string& yaml) {
    try {
      EnsembleKalmanFilter filter(config_from(yaml));
    } catch (const assim::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(refusal("{method: pertobs, inflation: {finite_size: true}}")
            .find("components.enkf.inflation.finite_size: the EnKF-N inflates a square-root analysis") !=
        std::string::npos);
  CHECK(refusal("{inflation: {finite_size_xn: 2}}").find("components.enkf.inflation.finite_size_xn") !=
        std::string::npos);

  // Additive inflation: Q from the climatology needs a scale and no scalar std,
  // and a scale without it would be ignored; only then is a climatology needed.
  CHECK_FALSE(EnsembleKalmanFilter(config_from("{inflation: {additive: 0.1}}")).needs().climatology);
  CHECK(EnsembleKalmanFilter(config_from("{inflation: {additive_covariance: diagonal, additive_scale: 0.01}}"))
            .needs()
            .climatology);
  CHECK(refusal("{inflation: {additive_covariance: climatology}}")
            .find("components.enkf.inflation.additive_covariance: diagonal or climatology needs a positive "
                  "additive_scale") != std::string::npos);
  CHECK(refusal("{inflation: {additive_covariance: diagonal, additive_scale: 0.01, additive: 0.1}}")
            .find("components.enkf.inflation.additive: is the std of the scalar Q") != std::string::npos);
  CHECK(refusal("{inflation: {additive_scale: 0.01}}").find("components.enkf.inflation.additive_scale: scales a Q") !=
        std::string::npos);
}

TEST_CASE("sampler.enkf with finite_size gives the core's EnKF-N analysis") {
  const auto p = problem_for(ring(12), false, 6);
  Options options;
  options.inflation.finite_size = true;
  options.inflation.finite_size_xn = 2;
  const at::Tensor got = EnsembleKalmanFilter(options).sample(p, 6, 1);
  RowMatrix E = rows(*p.forecast());
  const RowMatrix HX = E;
  const Eigen::Map<const Eigen::VectorXd> y(p.observations().contiguous().data_ptr<double>(), 12);
  Rng rng(1);
  analyse(E, HX, y, 0.5, options.settings(), nullptr, rng);
  CHECK((rows(got.squeeze(1)) - E).norm() < 1e-12 * E.norm());
  // and not the plain ETKF's
  RowMatrix plain = rows(*p.forecast());
  analyse(plain, HX, y, 0.5, Settings{}, nullptr, rng);
  CHECK((rows(got.squeeze(1)) - plain).norm() > 1e-6 * plain.norm());
}

TEST_CASE("sampler.enkf returns the core's analysis of the observed entries of frame 0") {
  const std::int64_t members = 6;
  assim::AssimilationProblem p = problem_for(ring(12), false, members);
  // Leave out every third site; what lies outside the mask must not matter.
  for (std::int64_t k = 0; k < 12; k += 3) {
    p.mask()[0][k] = 0;
    p.observations()[0][k] = NAN;
  }
  // A second frame is not this filter's business.
  p.set_observations(at::cat({p.observations(), at::full_like(p.observations(), NAN)}));
  p.set_mask(at::cat({p.mask(), at::ones_like(p.mask())}));

  Options options;
  options.inflation.posterior_anomalies = 1.02;
  const at::Tensor analysis = EnsembleKalmanFilter(options).sample(p, members, 7);
  CHECK(analysis.sizes().vec() == std::vector<std::int64_t>{members, 1, 12});
  CHECK((analysis.scalar_type() == at::kDouble));

  RowMatrix E = rows(*p.forecast());
  RowMatrix HX(members, 8);
  Eigen::VectorXd y(8);
  for (std::int64_t k = 0, m = 0; k < 12; ++k) {
    if (k % 3 == 0) continue;
    HX.col(m) = E.col(k);
    y(m++) = p.observations()[0][k].item<double>();
  }
  Rng rng(7);
  analyse(E, HX, y, 0.5, options.settings(), nullptr, rng);
  CHECK((rows(analysis) - E).norm() < 1e-12);
}

TEST_CASE("sampler.enkf takes an error per observation: R = diag(sigma_i^2)") {
  const std::int64_t members = 6;
  const assim::AssimilationProblem p = problem_for(ring(12), false, members);
  CHECK(EnsembleKalmanFilter(Options{}).needs().observation_sigmas);
  for (const Method method : {Method::ETKF, Method::PertObs, Method::LETKF}) {
    CAPTURE(static_cast<int>(method));
    Options options;
    options.method = method;
    options.localisation.radius = 3;
    const EnsembleKalmanFilter filter(options);
    const at::Tensor scalar = filter.sample(p, members, 7);
    // The same sigma for every observation is the scalar sigma's analysis.
    auto same = p;
    same.set_observation_sigmas(at::full_like(p.observations(), 0.5));
    CHECK(at::allclose(filter.sample(same, members, 7), scalar, 1e-12, 1e-12));
    // An observation of an error too large to count is no observation: its
    // site left out of the mask gives the same analysis (the square-root
    // filters; PertObs draws one perturbation per observation, so another
    // count of them is another draw). Another site's smaller error moves it.
    if (method == Method::PertObs) continue;
    auto vague = p;
    at::Tensor sigmas = at::full_like(p.observations(), 0.5);
    sigmas[0][4] = 1e9;
    vague.set_observation_sigmas(sigmas);
    auto without = p;
    without.set_mask(p.mask().clone());
    without.mask()[0][4] = 0;
    CHECK(at::allclose(filter.sample(vague, members, 7), filter.sample(without, members, 7), 1e-9, 1e-9));
    sigmas[0][7] = 0.05;
    vague.set_observation_sigmas(sigmas);
    CHECK_FALSE(at::allclose(filter.sample(vague, members, 7), filter.sample(without, members, 7), 1e-6, 1e-6));
  }
}

TEST_CASE("sampler.enkf locates observations on the grid: layers share a point, the grid is the trailing dims") {
  const std::int64_t members = 5;
  const assim::StateSpec state = layered_plane(2, 4, 6);
  assim::AssimilationProblem p = problem_for(state, true, members);
  p.mask()[0][1][2] = 0;

  Options options;
  options.method = Method::LETKF;
  options.localisation.radius = 1;
  const at::Tensor analysis = EnsembleKalmanFilter(options).sample(p, members, 3);

  // The same analysis with the geometry spelt out: entry (layer, y, x) at
  // point 6 y + x, the observation of (y, x) at point 6 y + x.
  Localisation loc;
  loc.extent = {4, 6};
  for (std::int64_t j = 0; j < 48; ++j) loc.state_point.push_back(j % 24);
  RowMatrix HX(members, 23);
  Eigen::VectorXd y(23);
  RowMatrix E = rows(*p.forecast());
  for (std::int64_t k = 0, m = 0; k < 24; ++k) {
    if (k == 8) continue;  // (1, 2) is masked
    loc.observation_point.push_back(k);
    HX.col(m) = E.col(k);
    y(m++) = p.observations()[0].reshape({-1})[k].item<double>();
  }
  loc.radius = 1;
  Rng rng(3);
  analyse(E, HX, y, 0.5, options.settings(), &loc, rng);
  CHECK((rows(analysis) - E).norm() < 1e-12);
  // Localisation matters: the global ETKF's analysis is another.
  Options global;
  CHECK((rows(EnsembleKalmanFilter(global).sample(p, members, 3)) - E).norm() > 1e-3);
}

TEST_CASE("sampler.enkf is reproducible from the seed") {
  const std::int64_t members = 8;
  const assim::AssimilationProblem p = problem_for(ring(10), false, members);
  Options options;
  options.method = Method::PertObs;
  options.rotate = true;
  const EnsembleKalmanFilter filter(options);
  CHECK(at::equal(filter.sample(p, members, 42), filter.sample(p, members, 42)));
  CHECK_FALSE(at::equal(filter.sample(p, members, 42), filter.sample(p, members, 43)));
}

TEST_CASE("sampler.enkf refuses problems it cannot analyse, saying why") {
  const EnsembleKalmanFilter etkf{Options{}};
  assim::AssimilationProblem p = problem_for(ring(10), false, 1);
  CHECK(error_of(etkf, p, 1).find("at least 2 members") != std::string::npos);

  p = problem_for(ring(10), false, 4);
  CHECK(error_of(etkf, p, 5).find("asked for 5 members, but the forecast has 4") != std::string::npos);
  p.set_observation_sigma(0);
  CHECK(error_of(etkf, p, 4).find("noise standard deviation must be positive") != std::string::npos);
  p.set_observation_sigma(1);
  p.set_forecast(p.forecast()->to(at::kFloat));
  CHECK(error_of(etkf, p, 4).find("must be float64") != std::string::npos);
  p.set_forecast(std::nullopt);
  CHECK(error_of(etkf, p, 4).find("needs a forecast ensemble") != std::string::npos);

  // LETKF on a state without a spatial dim, and with observations off the grid.
  Options letkf_options;
  letkf_options.method = Method::LETKF;
  letkf_options.localisation.radius = 2;
  const EnsembleKalmanFilter letkf(letkf_options);
  p = problem_for(ring(10), false, 4);
  assim::StateSpec unspaced = p.state();
  unspaced.dims[0].spacing = 0;
  p.set_state(unspaced);
  CHECK(error_of(letkf, p, 4).find("1 or 2 spatial dims") != std::string::npos);
  p = problem_for(ring(10), false, 4);
  p.set_observation_operator(std::make_shared<Folded>());
  p.set_observations(p.observations().reshape({1, 2, 5}));
  p.set_mask(p.mask().reshape({1, 2, 5}));
  CHECK(error_of(letkf, p, 4).find("must be the state's spatial dims (10)") != std::string::npos);
  p.set_observations(p.observations().reshape({1, 10}));
  p.set_mask(p.mask().reshape({1, 10}));
  CHECK(error_of(letkf, p, 4).find("observation operator returned shape (4, 2, 5)") != std::string::npos);
}

TEST_CASE("sampler.enkf's additive inflation perturbs the forecast before the observation operator sees it") {
  // H scales by 3, so an analysis that applied H to the unperturbed forecast
  // would differ from the one checked here.
  auto p = problem_for(ring(10), false, 5);
  p.set_observation_operator(std::make_shared<FirstLayer>(false, 3.0));
  Options options;
  options.inflation.additive = 0.3;
  options.rotate = true;  // draws after the noise, from the same generator
  const at::Tensor got = EnsembleKalmanFilter(options).sample(p, 5, 7);

  RowMatrix E = rows(*p.forecast());
  Rng rng(7);
  add_model_error(E, 0.3, rng);
  const RowMatrix HX = 3.0 * E;
  const Eigen::Map<const Eigen::VectorXd> y(p.observations().contiguous().data_ptr<double>(), 10);
  analyse(E, HX, y, 0.5, options.settings(), nullptr, rng);
  CHECK((rows(got.squeeze(1)) - E).norm() < 1e-12 * E.norm());
  // reproducible from the seed, different with another
  CHECK(at::equal(got, EnsembleKalmanFilter(options).sample(p, 5, 7)));
  CHECK_FALSE(at::allclose(got, EnsembleKalmanFilter(options).sample(p, 5, 8)));
}

TEST_CASE("sampler.enkf's additive inflation from the climatology: its variance per entry, or its anomalies") {
  auto p = problem_for(ring(10), false, 5);
  const auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  // Climatological states whose spread differs per site (std 1 + site / 3).
  const at::Tensor climate = at::randn({50, 10}, gen, at::kDouble) * (at::arange(10, at::kDouble) / 3 + 1) + 5.0;
  const RowMatrix anomalies = rows(climate).rowwise() - rows(climate).colwise().mean();
  for (const auto covariance : {AdditiveCovariance::Diagonal, AdditiveCovariance::Climatology}) {
    Options options;
    options.inflation.additive_covariance = covariance;
    options.inflation.additive_scale = 0.04;
    const EnsembleKalmanFilter filter(options);
    CHECK(error_of(filter, p, 5).find("takes Q from the climatology's states, but the stage gave none") !=
          std::string::npos);
    p.set_climatology(climate.narrow(1, 0, 9));
    CHECK(error_of(filter, p, 5).find("the climatology has shape (50, 9)") != std::string::npos);
    p.set_climatology(climate);
    const at::Tensor got = filter.sample(p, 5, 7);

    RowMatrix E = rows(*p.forecast());
    Rng rng(7);
    if (covariance == AdditiveCovariance::Diagonal)
      add_model_error(E, (0.04 * anomalies.colwise().squaredNorm() / 49.0).cwiseSqrt(), rng);
    else
      add_climatological_model_error(E, anomalies, 0.04, rng);
    CHECK_FALSE(E == rows(*p.forecast()));
    const Eigen::Map<const Eigen::VectorXd> y(p.observations().contiguous().data_ptr<double>(), 10);
    const RowMatrix HX = E;
    analyse(E, HX, y, 0.5, options.settings(), nullptr, rng);
    CHECK((rows(got.squeeze(1)) - E).norm() < 1e-12 * E.norm());
    p.set_climatology(std::nullopt);
  }
}
