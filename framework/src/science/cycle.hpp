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

// A filter cycled through an assimilation window: the background ensemble
// (`members` draws of background_sigma about the background) analysed at
// frame 0, then forecast `frame_steps` and analysed frame by frame; counts
// the model steps in `evaluations`. Each frame's analysis and the forecast
// it started from (at frame 0 the background ensemble), which evaluate
// takes as the background of the innovations y - H(x_b).
struct Window {
  at::Tensor analyses, forecasts;  // (members, L, state...)
};
Window through_window(const Model& model, const Sampler& filter, const AssimilationProblem& window,
                          std::int64_t members, std::uint64_t seed, const products::Normalisation& normalisation,
                          std::int64_t frame_steps, Evaluations& evaluations, const Ranks& team);

// A filter's sliding window (DAPPER's Lag): the window keeps its start,
// the estimate at its first time, which is frame 1 of the previous window's
// solution once the window is full.
class Sliding {
 public:
  Sliding(const Model& model, const Sampler& sampler, std::int64_t window, std::int64_t steps)
      : model_(model), sampler_(sampler), window_(window), steps_(steps) {}
  // Observation time t = c + 1; the window covers (start, t]. Only t is
  // observed: the earlier times are already in the start state, which the
  // previous windows fitted to them (DAPPER's Var4D and iEnKS assimilate each
  // observation once).
  Step analyse(at::Tensor& ensemble, AssimilationProblem problem, const at::Tensor& obs_mask, std::int64_t c,
               std::uint64_t seed, Seconds& seconds);

 private:
  const Model& model_;
  const Sampler& sampler_;
  std::int64_t window_, steps_;  // observation times per window; model steps between them
  std::int64_t start_ = 0;
  at::Tensor next_start_;
};

}  // namespace assim::cycle
