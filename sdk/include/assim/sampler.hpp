// A posterior sampler: given observations of a window of L frames, returns an
// ensemble of states that explain them. Score-based samplers (SDA, SOAD) take
// the prior from the problem and sample the whole window; an ensemble Kalman
// filter analyses one frame (L = 1) starting from a forecast ensemble; 4D-Var
// minimises its cost over the window through the problem's model; a learned
// estimator x = F_w(y) maps the observations to the window's states with
// weights a train stage fitted on pairs of observations and states.
#pragma once

#include <assim/component.hpp>
#include <assim/model.hpp>
#include <assim/noise.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace assim {

// What solving one problem cost, counted while it runs: the host counts the
// model steps taken through the problem's model and the network evaluations
// of its prior; a sampler that holds a network of its own (a learned
// estimator) adds that network's evaluations here. Totals over members: a
// step of B members counts B, a network pass over a batch of B windows counts B.
struct ASSIM_API Evaluations {
  ~Evaluations();
  std::int64_t model_steps = 0;  // forward model steps (the adjoint pass that autograd adds is not counted apart)
  std::int64_t network = 0;      // network evaluations of one window each
  // A minimiser's objective after each iteration, the first at its starting
  // point (4D-Var: J and |grad J| of the sum over members), for the result
  // file; the host clears them before each problem; empty for samplers that
  // minimise nothing.
  std::vector<double> cost, gradient_norm;
};

struct ASSIM_API AssimilationProblem {
  ~AssimilationProblem();

  // The state of one member and frame: its dims, spacing and units.
  StateSpec state;
  // H, applied to every observed frame before masking.
  std::shared_ptr<const ObservationOperator> observation_operator;
  // y, shape (L, observation dims...): entries outside the mask are ignored.
  at::Tensor observations;
  // 1 where observed, 0 elsewhere; same shape as `observations`. A frame
  // that is not observed at all has an all-zero mask.
  at::Tensor mask;
  // Standard deviation of the observation noise, in the observations' units,
  // and the law it was drawn from.
  double observation_sigma = 0;
  NoiseLaw observation_law = NoiseLaw::Gaussian;
  // Optional background state at frame 0, shape (state dims...), and the
  // standard deviation of its error.
  std::optional<at::Tensor> background;
  double background_sigma = 0;
  // Optional forecast ensemble at frame 0, shape (members, state dims...):
  // what a cycling filter starts its analysis from.
  std::optional<at::Tensor> forecast;
  // The prior over windows (fitted, when learned), for score-based samplers.
  // States, observations and background are then in the prior's normalised
  // units (divided by TrainingData::scale per channel).
  std::shared_ptr<const Prior> prior;
  // For a sampler that differentiates through the dynamics (4D-Var): the
  // model, in the problem's units (the stage converts normalised states), and
  // the model steps from one frame of the window to the next.
  std::shared_ptr<const Model> model;
  std::int64_t frame_steps = 0;
  // States drawn from the system's climatology, (samples, state dims...), in
  // the problem's units, for a sampler that estimates a static background
  // covariance from them (DAPPER's B = xB * the truth's covariance).
  std::optional<at::Tensor> climatology;
  // Where the cost is counted; null when nobody counts.
  std::shared_ptr<Evaluations> evaluations;
  // For a sampler whose needs().local: the grid points whose state entries it
  // must analyse, a bool tensor (points) over the state's spatial dims
  // flattened row-major; entries at the other points may hold anything.
  // Undefined: every point. The host gives the ranks of a team disjoint sets
  // and takes each rank's points from its result, which must then be what
  // the analysis of every point gives there, bit for bit.
  at::Tensor analysed_points;
};

// What a sampler needs besides the observations, so that a stage routes it
// by that (not by which keys an experiment happens to give) and refuses a
// missing piece before anything runs.
struct ASSIM_API SamplerNeeds {
  bool prior = false;             // problem.prior: a score-based sampler
  bool forecast = false;          // problem.forecast: a filter, cycled with a model between analyses
  std::int64_t min_members = 1;   // the fewest members it works with
  bool differentiable_model = false;  // problem.model, with Model::differentiable()
  bool climatology = false;       // problem.climatology
  // One member only: the estimate is a function of the observations, so
  // more members would be copies and their zero spread a false certainty.
  bool deterministic = false;
  // Its analysis at a grid point needs no other point's analysis (a
  // localised filter such as the LETKF): it may be asked for some points
  // only (problem.analysed_points), so that one analysis is split over ranks.
  bool local = false;
  // problem.background: it cannot estimate without a background of frame 0
  // (a learned estimator that takes one as an input).
  bool background = false;
  // The one state shape it works on (a learned estimator's network); empty: any.
  std::vector<std::int64_t> state_shape;
  // The observation channels (the first dim of an observation of several)
  // its settings are given per channel for (SDA's channel_gamma); 0: any.
  std::int64_t observation_channels = 0;
};

// Pairs of observations and the states that made them: the training data of
// a learned estimator (Li & Liu's eq. 21 sums over them). Same layouts as an
// AssimilationProblem, with a leading pair dim.
struct ASSIM_API TrainingPairs {
  ~TrainingPairs();
  at::Tensor observations;  // (pairs, L, observation dims...), 0 outside the mask
  at::Tensor mask;          // same shape; 1 observed, 0 not
  at::Tensor background;    // (pairs, state dims...), or undefined without a background
  at::Tensor states;        // (pairs, L, state dims...): the truth
};

// What a train stage hands a learned estimator: windows of its training data
// observed through the observe stage's design (operator, frames, mask law,
// noise, background), in the units that stage's problems are in.
struct ASSIM_API EstimatorData {
  ~EstimatorData();
  StateSpec state;
  std::shared_ptr<const ObservationOperator> observation_operator;  // the H the pairs were observed through
  // `count` pairs, a function of (count, seed) only, so that a fit resumed at
  // an epoch boundary draws what the uninterrupted fit would have.
  std::function<TrainingPairs(std::int64_t count, std::uint64_t seed)> draw;
  std::int64_t pairs_per_epoch = 0;  // pairs one epoch draws (the distinct windows, or a fixed pool's size)
  TrainingPairs validation;          // fixed held-out pairs; `states` undefined when none
};

class ASSIM_API Sampler : public Component {
 public:
  static constexpr Kind kind = Kind::Sampler;
  ~Sampler() override;
  // The default needs nothing but the observations.
  virtual SamplerNeeds needs() const;

  // Returns (members, L, state dims...) posterior samples. Throws
  // DivergenceError naming the step if a sample stops being finite.
  virtual at::Tensor sample(const AssimilationProblem& problem, std::int64_t members,
                            std::uint64_t seed) const = 0;

  // Learned samplers (estimators) are fitted by a train stage and loaded by
  // the assimilate stage from what the fit wrote. The defaults refuse.
  virtual bool learned() const;
  virtual void fit(const EstimatorData& data, const TrainingOptions& options);
  virtual void load(const std::filesystem::path& folder);
};

}  // namespace assim
