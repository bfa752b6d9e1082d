// The learned score prior of SDA / SOAD: a temporal U-Net denoiser.
#include "score_prior.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("score_prior", "0.1.0") {
  registrar.add<assim::score_prior::ScorePrior>(
      "prior.score_unet",
      "learned diffusion prior over windows of normalised states (temporal U-Net, optionally over z = (x, H(x)))");
}
