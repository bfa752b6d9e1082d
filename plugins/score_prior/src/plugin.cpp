// The learned networks: the score prior of SDA / SOAD (a temporal U-Net
// denoiser) and the estimator x = F_w(y) (the same U-Net without the time).
#include "estimator.hpp"
#include "score_prior.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("score_prior", "0.1.0") {
  registrar.add<assim::score_prior::ScorePrior>(
      "prior.score_unet",
      "learned diffusion prior over windows of normalised states (temporal U-Net, optionally over z = (x, H(x)))");
  registrar.add<assim::score_prior::Estimator>(
      "sampler.estimator",
      "learned estimator x = F_w(y) (Li & Liu eq. 21): the U-Net without diffusion time, from observations, mask "
      "and background to the window's states");
}
