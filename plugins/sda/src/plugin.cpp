// The SDA plugin: one sampler type, sampler.sda.
#include "sda.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("sda", "0.1.0") {
  registrar.add<assim::sda::ScoreBasedSampler>(
      "sampler.sda",
      "score-based data assimilation: guided reverse diffusion with a prior over states and a Gaussian "
      "approximation of the likelihood through any differentiable observation operator");
}
