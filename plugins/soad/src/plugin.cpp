// The SOAD plugin: one sampler type, sampler.soad.
#include "soad.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("soad", "0.1.0") {
  registrar.add<assim::soad::AugmentedSampler>(
      "sampler.soad",
      "state-observation augmented diffusion (Algorithm 1): guided reverse diffusion on z = (x, H(x)) with a "
      "prior augmented by H, forward-diffusion corrector and Langevin moves; returns the x channels");
}
