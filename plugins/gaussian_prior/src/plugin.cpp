// The analytic Gaussian prior: the exact-score oracle for sampler tests.
#include "gaussian.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("gaussian_prior", "0.1.0") {
  registrar.add<assim::gaussian_prior::GaussianPrior>(
      "prior.gaussian", "analytic N(m, Sigma) over windows [frames, channels, y, x] with the exact eps_hat");
}
