// The forecast/analysis cycle, one implementation for the filter stage and
// for a filter cycled through the window of an assimilate stage: advance the
// ensemble with the model, then analyse it with the sampler where something
// is observed.
#pragma once

#include "products/products.hpp"

#include <assim/config.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/model.hpp>
#include <assim/sampler.hpp>

#include <ATen/ATen.h>

#include <cstdint>

namespace assim::cycle {

// Refuses, naming `model`, a model the sampler must differentiate through
// (needs.differentiable_model) that has no differentiable step.
void check_differentiable(const Config& config, const SamplerNeeds& needs);

// The seed of the analysis at cycle `index` of a run seeded `seed`: every
// cycle draws its own stream, the same on every rerun.
std::uint64_t analysis_seed(std::uint64_t seed, std::int64_t index);

struct Seconds {
  double forecast = 0, analysis = 0;
};

struct Step {
  at::Tensor forecast, analysis;  // (members, state...); the analysis at the problem's last frame
  at::Tensor window;              // (members, frames, state...): every frame the sampler returned
};

// Forecasts `ensemble` (members, state...) by `steps` model steps (none for
// 0) and analyses it against `problem`'s observations, unless its mask
// observes nothing: one frame for a filter or 3D-Var, the frames of a
// variational window that starts at the forecast's time. States in
// normalised units go through the model in physical units when
// `normalisation` is given. With a `team` of several ranks, each forecasts
// its block of members and all gather the ensemble; every rank then makes
// the same analysis (same input, same seed).
Step advance(const Model& model, const Sampler& sampler, const at::Tensor& ensemble, std::int64_t steps,
             AssimilationProblem problem, std::uint64_t seed, const products::Normalisation* normalisation,
             Seconds& seconds, const Ranks& team = Ranks::self());

}  // namespace assim::cycle
