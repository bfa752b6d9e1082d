// sampler.enkf: the analysis step of an ensemble Kalman filter as an
// assim::Sampler. It analyses frame 0 of the problem starting from
// `problem.forecast()`; cycling (the forecast between analyses) belongs to the
// stage that calls it.
#pragma once

#include "enkf.hpp"

#include <assim/config.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <cstdint>
#include <optional>

namespace assim::enkf {

// The model-error covariance Q of additive inflation: additive^2 I, or
// additive_scale times the climatology's variance per entry or its covariance.
enum class AdditiveCovariance { Scalar, Diagonal, Climatology };

// sampler.enkf's settings, as its YAML spells them; each initial value is
// the default.
struct InflationOptions {
  double posterior_anomalies = 1.0;
  double rtps = 0.0;
  bool finite_size = false;
  double finite_size_xn = 1.0;
  double additive = 0.0;
  AdditiveCovariance additive_covariance = AdditiveCovariance::Scalar;
  double additive_scale = 0.0;
};
// LETKF only; in grid points.
struct LocalisationOptions {
  std::optional<double> radius;
  double taper_cutoff = 1e-3;
  std::int64_t batch = 2;
};
struct Options {
  Method method = Method::ETKF;
  InflationOptions inflation;
  LocalisationOptions localisation;
  bool rotate = false;

  // What the core's analysis takes of them.
  Settings settings() const {
    return {method, inflation.posterior_anomalies, inflation.rtps, rotate, inflation.finite_size,
            inflation.finite_size_xn};
  }
};

class EnsembleKalmanFilter : public Sampler {
 public:
  SamplerNeeds needs() const override {
    SamplerNeeds needs;
    needs.forecast = true;
    needs.min_members = 2;
    // The LETKF's local analyses are independent of each other; the ETKF's
    // and PertObs' global transforms are not.
    needs.local = options_.method == Method::LETKF;
    // Errors that differ are whitened before the transforms (enkf_sampler.cpp).
    needs.observation_sigmas = true;
    // Additive inflation with Q from the climatology's states.
    needs.climatology = options_.inflation.additive_covariance != AdditiveCovariance::Scalar;
    return needs;
  }
  static Parameters parameters();
  explicit EnsembleKalmanFilter(const Config& config);
  explicit EnsembleKalmanFilter(Options options);

  // Returns the analysis ensemble, (members, 1, state dims...) float64.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;

 private:
  Options options_;
};

}  // namespace assim::enkf
