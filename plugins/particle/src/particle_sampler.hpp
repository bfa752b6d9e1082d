// sampler.particle: the analysis step of a bootstrap particle filter as an
// assim::Sampler, the non-Gaussian reference beside the EnKFs. It weighs the
// forecast ensemble (`problem.forecast()`, frame 0) by the likelihood of the
// observations under the problem's noise law, resamples and regularises.
//
// A plugin of its own rather than a `method:` of sampler.enkf: the stages
// route both the same way (SamplerNeeds::forecast, a filter cycled with a
// model), but nothing of the EnKF's analysis is shared: its options
// (inflation, localisation, rotation) act on a Gaussian linear update this
// filter does not make, and this filter's weights come from the exact
// likelihood of every noise law, which the EnKF's R = sigma^2 I cannot express.
//
// The SDK hands a sampler an equally weighted forecast and takes back an
// equally weighted ensemble: weights cannot survive from one analysis to the
// next through the stage. So this sampler resamples at every analysis
// (DAPPER's PartFilt with NER = 1). The resampling threshold NER < 1 lives in
// the core (particle.hpp) and its Lorenz-96 driver (bench/particle_l96.cpp).
#pragma once

#include "particle.hpp"

#include <assim/config.hpp>
#include <assim/parameters.hpp>
#include <assim/sampler.hpp>

#include <cstdint>

namespace assim::particle {

struct Options {
  // DAPPER's reg: the jitter after resampling, in Scott's bandwidths times
  // the weighted ensemble's covariance.
  double regularisation = 0.0;
};

class ParticleFilter : public Sampler {
 public:
  SamplerNeeds needs() const override {
    SamplerNeeds needs;
    needs.forecast = true;
    // The jitter's covariance needs two particles; fewer is refused at validate.
    needs.min_members = 2;
    return needs;
  }
  static Parameters parameters();
  explicit ParticleFilter(const Config& config);
  explicit ParticleFilter(Options options);

  // Returns the analysis ensemble, (members, 1, state dims...) float64.
  at::Tensor sample(const AssimilationProblem& problem, std::int64_t members, std::uint64_t seed) const override;

 private:
  Options options_;
};

// log p(y | x) of residuals r = y - H(x) with noise of the given law and std
// sigma, up to a constant, summed over the last dim: (particles, observed) ->
// (particles). -inf where the law gives the residual no density (outside
// the uniform's support, below the shifted log-normal's).
at::Tensor log_likelihood(NoiseLaw law, double sigma, const at::Tensor& residuals);

}  // namespace assim::particle
