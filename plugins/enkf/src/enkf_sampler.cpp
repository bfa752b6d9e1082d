#include "enkf_sampler.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace assim::enkf {

namespace {

const char* const kName = "sampler.enkf";

[[noreturn]] void fail(const std::string& message) { throw Error(std::string(kName) + ": " + message); }


// The methods by the names `method` takes.
const std::vector<std::pair<std::string, Method>>& method_names() {
  static const std::vector<std::pair<std::string, Method>> names = {
      {"etkf", Method::ETKF}, {"pertobs", Method::PertObs}, {"letkf", Method::LETKF}};
  return names;
}

std::string name_of(Method method) {
  for (const auto& [name, value] : method_names())
    if (value == method) return name;
  return "?";
}

// Each setting bound to the Options field it fills.
Fields<Options> fields() {
  Fields<InflationOptions> inflation;
  inflation.real("posterior_anomalies", &InflationOptions::posterior_anomalies, "1",
                 "factor multiplying the analysis anomalies (DAPPER's infl; the variance grows by its square)")
      .at_least(1);
  inflation.real("rtps", &InflationOptions::rtps, "1",
                 "relaxation of the analysis spread to the forecast spread, alpha (Whitaker & Hamill 2012)")
      .at_least(0)
      .at_most(1);
  inflation.boolean("finite_size", &InflationOptions::finite_size,
                    "finite-size EnKF-N (Bocquet 2011; Bocquet, Raanes & Hannart 2015): each analysis inflates the "
                    "prior anomalies by the factor minimising the dual cost; etkf and letkf (per local analysis)");
  inflation.real("finite_size_xn", &InflationOptions::finite_size_xn, "1",
                 "EnKF-N only: DAPPER's xN, the hyperprior's weight as if the ensemble had xN N members; "
                 "1 is Jeffreys' hyperprior, larger suits more linear, deterministic models")
      .above(0);
  inflation.real("additive", &InflationOptions::additive, "state units",
                 "additive inflation (additive_covariance: scalar): standard deviation of N(0, additive^2 I) model "
                 "error added to every forecast member before the analysis (Q = additive^2 I per cycle); 0: none")
      .at_least(0);
  inflation.choice("additive_covariance", &InflationOptions::additive_covariance,
                   {{"scalar", AdditiveCovariance::Scalar},
                    {"diagonal", AdditiveCovariance::Diagonal},
                    {"climatology", AdditiveCovariance::Climatology}},
                   "Q of the additive inflation: scalar = additive^2 I; from the climatology's states, which the "
                   "stage supplies: diagonal = additive_scale x their variance per entry, climatology = "
                   "additive_scale x their covariance (drawn as random combinations of their anomalies)");
  inflation.real("additive_scale", &InflationOptions::additive_scale, "1",
                 "additive_covariance diagonal or climatology: the fraction of the climatology's (co)variance Q is "
                 "(its square root: the noise's std as a fraction of the climatology's std)")
      .at_least(0);
  Fields<LocalisationOptions> localisation;
  localisation
      .real("radius", &LocalisationOptions::radius, "grid points",
            "letkf localisation radius; Gaspari-Cohn half-width 1.82 radius, zero beyond 3.64 radius")
      .above(0);
  localisation
      .real("taper_cutoff", &LocalisationOptions::taper_cutoff, "1",
            "observations with a smaller taper are left out of a local analysis")
      .above(0)
      .below(1);
  localisation
      .integer("batch", &LocalisationOptions::batch, "grid points",
               "side of the squares (1-D: segments) of grid points analysed together")
      .at_least(1)
      .at_most(64);
  Fields<Options> p;
  p.choice("method", &Options::method, method_names(),
           "etkf: square-root filter with the symmetric transform; pertobs: stochastic EnKF with perturbed "
           "observations; letkf: local ETKF on batches of grid points");
  p.section("inflation", &Options::inflation,
            "inflation: additive on the forecast, finite_size of the prior anomalies in the analysis, then rtps, "
            "then posterior_anomalies on the analysis ensemble",
            inflation);
  p.section("localisation", &Options::localisation, "letkf only: observation localisation on the state's periodic grid",
            localisation);
  p.boolean("rotate", &Options::rotate, "random mean-preserving rotation of the analysis anomalies");
  return p;
}

// The geometry LETKF needs. State dims with a spacing form the periodic grid;
// the others (a layer, a field) index entries colocated at a grid point.
// The observations' trailing dims are that grid, so the observation at flat
// index k lies at grid point k mod (number of grid points); or, with
// `places` (observations read between grid points), their last dim lists
// the places, and observation k lies at place k mod (number of places).
Localisation localisation(const StateSpec& state, at::IntArrayRef observation_dims, const at::Tensor& places,
                          const std::vector<std::int64_t>& observed, const Options& options) {
  Localisation loc;
  std::vector<std::string> spatial;
  for (const auto& d : state.dims)
    if (d.spacing > 0) {
      loc.extent.push_back(d.size);
      spatial.push_back(d.name);
    }
  if (loc.extent.empty() || loc.extent.size() > 2)
    fail("letkf needs a state with 1 or 2 spatial dims (dims with a spacing); '" + state.variable + "' has " +
         std::to_string(loc.extent.size()));
  const auto k = static_cast<std::int64_t>(loc.extent.size());
  const auto d = static_cast<std::int64_t>(observation_dims.size());
  if (places.defined()) {
    if (places.dim() != 2 || places.size(1) != k || d < 1 || places.size(0) != observation_dims[d - 1])
      fail("letkf: the observations' places " + shape_text(places.sizes()) + " are not one row of " +
           std::to_string(k) + " coordinates per entry of the observations' last dim " + shape_text(observation_dims));
  } else if (d < k || !std::equal(loc.extent.begin(), loc.extent.end(), observation_dims.end() - k)) {
    fail("letkf locates an observation by its trailing dims, which must be the state's spatial dims " +
         shape_text(loc.extent) + "; the observations have dims " + shape_text(observation_dims));
  }

  std::int64_t points = 1;
  for (auto e : loc.extent) points *= e;
  // Row-major unravelling of every state entry, keeping the spatial coordinates.
  std::int64_t size = 1;
  for (const auto& dim : state.dims) size *= dim.size;
  loc.state_point.resize(static_cast<std::size_t>(size));
  for (std::int64_t j = 0; j < size; ++j) {
    std::int64_t rest = j, point = 0, scale = 1;
    for (std::size_t i = state.dims.size(); i-- > 0;) {
      const auto coordinate = rest % state.dims[i].size;
      rest /= state.dims[i].size;
      if (state.dims[i].spacing > 0) {
        point += coordinate * scale;
        scale *= state.dims[i].size;
      }
    }
    loc.state_point[static_cast<std::size_t>(j)] = point;
  }
  if (!places.defined()) {
    for (auto index : observed) loc.observation_point.push_back(index % points);
  } else {
    // Each observation's coordinates within [0, extent), and its nearest grid point.
    const at::Tensor at_places = places.to(at::kCPU, at::kDouble).contiguous();
    const auto coordinates = at_places.accessor<double, 2>();
    const std::int64_t count = places.size(0);
    for (auto index : observed) {
      std::int64_t point = 0;
      for (std::int64_t dim = 0; dim < k; ++dim) {
        const auto extent = static_cast<double>(loc.extent[static_cast<std::size_t>(dim)]);
        const double c = std::fmod(std::fmod(coordinates[index % count][dim], extent) + extent, extent);
        loc.observation_coordinates.push_back(c);
        point = point * loc.extent[static_cast<std::size_t>(dim)] +
                static_cast<std::int64_t>(std::llround(c)) % loc.extent[static_cast<std::size_t>(dim)];
      }
      loc.observation_point.push_back(point);
    }
  }
  loc.radius = options.localisation.radius.value_or(0);
  loc.taper_cutoff = options.localisation.taper_cutoff;
  loc.batch = options.localisation.batch;
  return loc;
}

// Additive inflation: draws the model error of Q onto every forecast member
// (the rows of E). Returns whether anything was drawn.
bool perturb_forecast(Eigen::Map<RowMatrix>& E, const InflationOptions& inflation, const AssimilationProblem& problem,
                      Rng& rng) {
  if (inflation.additive_covariance == AdditiveCovariance::Scalar) {
    add_model_error(E, inflation.additive, rng);
    return inflation.additive > 0;
  }
  if (!problem.climatology())
    fail("additive_covariance diagonal or climatology takes Q from the climatology's states, but the stage gave none");
  const at::Tensor& states = *problem.climatology();
  if (states.dim() < 2 || states.size(0) < 2 || states.numel() / states.size(0) != E.cols())
    fail("the climatology has shape " + shape_text(states.sizes()) + "; additive inflation needs at least 2 states of " +
         std::to_string(E.cols()) + " entries each");
  const at::Tensor climate = states.reshape({states.size(0), -1}).to(at::kCPU, at::kDouble);
  const at::Tensor anomalies = (climate - climate.mean(0, true)).contiguous();
  const Eigen::Map<const RowMatrix> A(anomalies.data_ptr<double>(), anomalies.size(0), anomalies.size(1));
  if (inflation.additive_covariance == AdditiveCovariance::Diagonal) {
    const Eigen::RowVectorXd variance = A.colwise().squaredNorm() / static_cast<double>(A.rows() - 1);
    add_model_error(E, (inflation.additive_scale * variance).cwiseSqrt(), rng);
  } else {
    add_climatological_model_error(E, A, inflation.additive_scale, rng);
  }
  return true;
}

}  // namespace

Parameters EnsembleKalmanFilter::parameters() { return fields().parameters(); }

EnsembleKalmanFilter::EnsembleKalmanFilter(const Config& config) : options_(fields().read(config)) {
  const bool letkf = options_.method == Method::LETKF;
  if (options_.localisation.radius && !letkf)
    config.section("localisation")
        .fail("radius", "method " + name_of(options_.method) + " analyses the whole state at once "
                        "and would ignore it: localise with method: letkf, or leave localisation out");
  if (options_.inflation.finite_size && options_.method == Method::PertObs)
    config.section("inflation")
        .fail("finite_size", "the EnKF-N inflates a square-root analysis: use method etkf or letkf");
  if (!options_.inflation.finite_size && options_.inflation.finite_size_xn != 1)
    config.section("inflation")
        .fail("finite_size_xn", "sets the EnKF-N's hyperprior and would be ignored without finite_size: true");
  const InflationOptions& inflation = options_.inflation;
  const bool from_climatology = inflation.additive_covariance != AdditiveCovariance::Scalar;
  if (from_climatology && inflation.additive > 0)
    config.section("inflation")
        .fail("additive", "is the std of the scalar Q = additive^2 I; with additive_covariance diagonal or "
                          "climatology, Q is additive_scale x the climatology's (co)variance: give additive_scale");
  if (from_climatology && inflation.additive_scale == 0)
    config.section("inflation")
        .fail("additive_covariance", "diagonal or climatology needs a positive additive_scale, the fraction of "
                                     "the climatology's (co)variance added as model error");
  if (!from_climatology && inflation.additive_scale > 0)
    config.section("inflation")
        .fail("additive_scale", "scales a Q from the climatology and would be ignored with the scalar Q: set "
                                "additive_covariance: diagonal or climatology, or use additive (state units)");
  if (!options_.localisation.radius && letkf)
    config.fail("localisation", "letkf needs a localisation radius (radius: ..., in grid points)");
}

EnsembleKalmanFilter::EnsembleKalmanFilter(Options options) : options_(std::move(options)) {}

at::Tensor EnsembleKalmanFilter::sample(const AssimilationProblem& problem, std::int64_t members,
                                        std::uint64_t seed) const {
  const at::Tensor& forecast = forecast_ensemble_of(problem, members, kName);

  const at::NoGradGuard no_grad;
  // The analysis overwrites a copy of the forecast in place: the tensor's
  // (member, state...) memory is the row-major members x state matrix.
  at::Tensor analysis = forecast.to(at::kCPU).contiguous().clone();
  const std::int64_t n = analysis.numel() / members;
  Eigen::Map<RowMatrix> E(analysis.data_ptr<double>(), members, n);
  Rng rng(seed);
  // The model error goes into the members before H sees them, so that the
  // analysis weighs the observations against the perturbed forecast.
  const bool perturbed = perturb_forecast(E, options_.inflation, problem, rng);
  const at::Tensor prior = perturbed ? analysis.to(forecast.device()) : forecast;
  const at::IntArrayRef observation_dims = problem.observations().sizes().slice(1);
  const at::Tensor hx = problem.observation_operator()->apply(prior).detach();
  if (hx.dim() < 1 || hx.size(0) != members || !hx.sizes().slice(1).equals(observation_dims))
    fail("the observation operator returned shape " + shape_text(hx.sizes()) + " for the forecast, expected (members, " +
         shape_text(observation_dims).substr(1));

  // Frame 0, observed entries only. Entries outside the mask may hold anything.
  const at::Tensor observed =
      at::nonzero(problem.mask()[0].reshape({-1}).to(at::kCPU) != 0).reshape({-1}).to(at::kLong).contiguous();
  const at::Tensor y =
      problem.observations()[0].reshape({-1}).to(at::kCPU, at::kDouble).index_select(0, observed).contiguous();
  const at::Tensor predicted =
      hx.reshape({members, -1}).to(at::kCPU, at::kDouble).index_select(1, observed).contiguous();
  if (!at::isfinite(y).all().item<bool>()) fail("an observed entry (mask = 1) is not finite");
  // Errors that differ (R = diag(sigma_i^2)) are whitened away: y and H(x)
  // divided by each sigma_i see R = I, which the transforms take as sigma 1.
  double sigma = problem.observation_sigma();
  if (problem.observation_sigmas().defined()) {
    const at::Tensor sigmas =
        problem.observation_sigmas()[0].reshape({-1}).to(at::kCPU, at::kDouble).index_select(0, observed).contiguous();
    if (!(sigmas > 0).all().item<bool>()) fail("an observed entry's error standard deviation is not positive");
    y.div_(sigmas);
    predicted.div_(sigmas.unsqueeze(0));
    sigma = 1;
  }
  if (!at::isfinite(predicted).all().item<bool>())
    throw DivergenceError(0, std::string(kName) + ": the observation operator returned non-finite values");

  const std::int64_t p = observed.numel();
  const std::vector<std::int64_t> observed_index(observed.data_ptr<std::int64_t>(),
                                                 observed.data_ptr<std::int64_t>() + p);
  Localisation loc;
  if (options_.method == Method::LETKF)
    loc = localisation(problem.state(), observation_dims, problem.observation_places(), observed_index, options_);
  if (problem.analysed_points().defined()) {
    if (options_.method != Method::LETKF)
      fail("only the letkf analyses a share of the grid points; the etkf and pertobs transforms are global");
    std::int64_t points = 1;
    for (auto e : loc.extent) points *= e;
    const at::Tensor share = problem.analysed_points().to(at::kCPU, at::kBool).reshape({-1}).contiguous();
    if (share.numel() != points)
      fail("analysed_points has " + std::to_string(share.numel()) + " entries, the grid " + std::to_string(points));
    loc.analysed.assign(share.data_ptr<bool>(), share.data_ptr<bool>() + points);
  }

  const Eigen::Map<const RowMatrix> HX(predicted.data_ptr<double>(), members, p);
  const Eigen::Map<const Eigen::VectorXd> yv(y.data_ptr<double>(), p);
  try {
    analyse(E, HX, yv, sigma, options_.settings(),
            options_.method == Method::LETKF ? &loc : nullptr, rng);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  if (!E.allFinite()) throw DivergenceError(0, std::string(kName) + ": the analysis is not finite");
  return analysis.unsqueeze(1).to(forecast.device());
}

}  // namespace assim::enkf
