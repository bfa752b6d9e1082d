// The EnKF plugin: one sampler type, sampler.enkf.
#include "enkf_sampler.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("enkf", "0.1.0") {
  registrar.add<assim::enkf::EnsembleKalmanFilter>(
      "sampler.enkf",
      "ensemble Kalman filter analysis of a forecast ensemble: ETKF, stochastic EnKF (perturbed observations) "
      "or LETKF, with posterior-anomaly inflation, RTPS and random rotations");
}
