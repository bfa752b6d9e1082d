// The particle plugin: one sampler type, sampler.particle.
#include "particle_sampler.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("particle", "0.1.0") {
  registrar.add<assim::particle::ParticleFilter>(
      "sampler.particle",
      "bootstrap particle filter analysis of a forecast ensemble: weights from the likelihood of the problem's noise "
      "law, systematic resampling, Gaussian regularisation of the duplicated particles (DAPPER's PartFilt, NER = 1)");
}
