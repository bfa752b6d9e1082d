// How the truth is observed: which points (masks), with what noise. Drawn
// from explicit generators so that the same seed gives the same observations.
#pragma once

#include <assim/config.hpp>
#include <assim/model.hpp>
#include <assim/noise.hpp>
#include <assim/observation_operator.hpp>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace assim::design {

// A boolean mask over `grid` (the spatial dims): each point kept with
// probability `fraction`, then only points whose every index is a multiple
// of `stride`.
at::Tensor mask(at::IntArrayRef grid, double fraction, std::int64_t stride, at::Generator& generator);

// Refuses, at the `stride` key of `mask` (the settings of an observe stage's
// mask or a filter's observations), a stride longer than a dim of `grid`:
// it would observe that dim's first point only.
void check_stride(const Config& mask, at::IntArrayRef grid);

// Refuses, at `key` of `config`, a grid mask that observes no point at all.
void check_observes(const at::Tensor& mask, const Config& config, const std::string& key);

// Frames 0, N, 2N, ... of an L-frame window on the grid mask (grid...): (L, grid...), bool.
at::Tensor window_mask(std::int64_t frames, std::int64_t every, const at::Tensor& grid_mask);

// A window mask (L, grid...) spread over the channel dims of one window's
// observations, whose shape is (L, observation dims...): float64, 0 or 1.
at::Tensor over_observations(const at::Tensor& mask, at::IntArrayRef observations);

// y = (H(x) + noise) * mask for windows (B, L, state dims...): every
// observe stage's problems and every learned estimator's training pairs
// are drawn here. `mask` (L, observation dims...) is over_observations'
// result, or one per window (B, L, observation dims...).
at::Tensor observe(const ObservationOperator& op, const at::Tensor& windows, const at::Tensor& mask, NoiseLaw law,
                   double sigma, at::Generator& generator);

// Frame 0's background for windows whose frame 0 is x0 (B, state dims...):
// x0 + N(0, perturbation^2) without a forecaster; with one, the forecast over
// `steps` model steps of the frame before the window, `previous` (B, state
// dims...), perturbed by N(0, perturbation^2): the SOAD paper's Fig. 8
// background. The forecaster works in the units x0 is in (products::in_units).
// Every observe stage's backgrounds and every learned estimator's training
// pairs' are drawn here.
at::Tensor background(const at::Tensor& x0, const at::Tensor& previous, const Model* forecaster, std::int64_t steps,
                      double perturbation, at::Generator& generator);

}  // namespace assim::design
