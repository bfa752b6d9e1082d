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
// Its data lives in libassim_sdk, so that a new count is a new function, not
// a new layout. Shared through a pointer, never copied: a copy would count
// apart from the problem it belongs to.
class ASSIM_API Evaluations {
 public:
  Evaluations();
  ~Evaluations();
  Evaluations(const Evaluations&) = delete;
  Evaluations& operator=(const Evaluations&) = delete;

  // Forward model steps (the adjoint pass that autograd adds is not counted apart).
  std::int64_t model_steps() const;
  void add_model_steps(std::int64_t steps);
  // Network evaluations of one window each.
  std::int64_t network() const;
  void add_network(std::int64_t evaluations);
  // A minimiser's objective after each iteration, the first at its starting
  // point (4D-Var: J and |grad J| of the sum over members), for the result
  // file; empty for samplers that minimise nothing. The host counts each
  // problem in a fresh Evaluations.
  const std::vector<double>& cost() const;
  const std::vector<double>& gradient_norm() const;
  void set_minimiser_trace(std::vector<double> cost, std::vector<double> gradient_norm);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The problem a sampler solves. Its data lives in libassim_sdk behind a
// pointer and crosses the plugin boundary through the functions below, so
// that a new piece is a new pair of functions, never a new layout every
// plugin must be rebuilt for. The host builds one with the setters (each
// returns the problem, so that they chain); a sampler reads it.
class ASSIM_API AssimilationProblem {
 public:
  AssimilationProblem();
  ~AssimilationProblem();
  // A copy shares the tensors and components (as copies of their handles
  // do): the host copies a problem per frame, window or region and replaces
  // the pieces that differ.
  AssimilationProblem(const AssimilationProblem& other);
  AssimilationProblem& operator=(const AssimilationProblem& other);

  // The state of one member and frame: its dims, spacing and units.
  const StateSpec& state() const;
  AssimilationProblem& set_state(StateSpec state);
  // H, applied to every observed frame before masking.
  const std::shared_ptr<const ObservationOperator>& observation_operator() const;
  AssimilationProblem& set_observation_operator(std::shared_ptr<const ObservationOperator> op);
  // y, shape (L, observation dims...): entries outside the mask are ignored.
  const at::Tensor& observations() const;
  AssimilationProblem& set_observations(at::Tensor observations);
  // 1 where observed, 0 elsewhere; same shape as `observations`. A frame
  // that is not observed at all has an all-zero mask.
  const at::Tensor& mask() const;
  AssimilationProblem& set_mask(at::Tensor mask);
  // Standard deviation of the observation noise, in the observations' units
  // (0 until set), and the law it was drawn from (Gaussian until set).
  double observation_sigma() const;
  AssimilationProblem& set_observation_sigma(double sigma);
  NoiseLaw observation_law() const;
  AssimilationProblem& set_observation_law(NoiseLaw law);
  // Each observation's error standard deviation, the shape of `observations`
  // (R diagonal), where they differ (observations read from a file);
  // undefined: observation_sigma() for every one. Given only to a sampler
  // whose needs().observation_sigmas says it reads them.
  const at::Tensor& observation_sigmas() const;
  AssimilationProblem& set_observation_sigmas(at::Tensor sigmas);
  // Where the observations lie when they are not on the grid (read from a
  // file at places between grid points): (places, k) in grid units along the
  // state's k spatial dims (cell i's centre at i, periodic), one row per
  // entry of the observations' last dim, which then lists places instead of
  // the grid; the operator already interpolates to them. Undefined: the
  // observations' trailing dims are the state's grid. A localised sampler
  // (the LETKF) locates each observation by it.
  const at::Tensor& observation_places() const;
  AssimilationProblem& set_observation_places(at::Tensor places);
  // Optional background state at frame 0, shape (state dims...), and the
  // standard deviation of its error.
  const std::optional<at::Tensor>& background() const;
  AssimilationProblem& set_background(std::optional<at::Tensor> background);
  double background_sigma() const;
  AssimilationProblem& set_background_sigma(double sigma);
  // Optional forecast ensemble at frame 0, shape (members, state dims...):
  // what a cycling filter starts its analysis from.
  const std::optional<at::Tensor>& forecast() const;
  AssimilationProblem& set_forecast(std::optional<at::Tensor> forecast);
  // The prior over windows (fitted, when learned), for score-based samplers.
  // States, observations and background are then in the prior's normalised
  // units (divided by TrainingData::scale per channel).
  const std::shared_ptr<const Prior>& prior() const;
  AssimilationProblem& set_prior(std::shared_ptr<const Prior> prior);
  // For a sampler that differentiates through the dynamics (4D-Var): the
  // model, in the problem's units (the stage converts normalised states), and
  // the model steps from one frame of the window to the next.
  const std::shared_ptr<const Model>& model() const;
  AssimilationProblem& set_model(std::shared_ptr<const Model> model);
  std::int64_t frame_steps() const;
  AssimilationProblem& set_frame_steps(std::int64_t steps);
  // States drawn from the system's climatology, (samples, state dims...), in
  // the problem's units, for a sampler that estimates a static background
  // covariance from them (DAPPER's B = xB * the truth's covariance).
  const std::optional<at::Tensor>& climatology() const;
  AssimilationProblem& set_climatology(std::optional<at::Tensor> climatology);
  // Where the cost is counted; null when nobody counts.
  const std::shared_ptr<Evaluations>& evaluations() const;
  AssimilationProblem& set_evaluations(std::shared_ptr<Evaluations> evaluations);
  // For a sampler whose needs().local: the grid points whose state entries it
  // must analyse, a bool tensor (points) over the state's spatial dims
  // flattened row-major; entries at the other points may hold anything.
  // Undefined: every point. The host gives the ranks of a team disjoint sets
  // and takes each rank's points from its result, which must then be what
  // the analysis of every point gives there, bit for bit.
  const at::Tensor& analysed_points() const;
  AssimilationProblem& set_analysed_points(at::Tensor points);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a sampler needs besides the observations, so that a stage routes it
// by that (not by which keys an experiment happens to give) and refuses a
// missing piece before anything runs.
struct ASSIM_API SamplerNeeds {
  bool prior = false;             // problem.prior(): a score-based sampler
  bool forecast = false;          // problem.forecast(): a filter, cycled with a model between analyses
  std::int64_t min_members = 1;   // the fewest members it works with
  bool differentiable_model = false;  // problem.model(), with Model::differentiable()
  bool climatology = false;       // problem.climatology()
  // problem.background_sigma(): its B is scaled by the observe design's
  // sigma_b (sampler.var4d's scalar B without a background_sigma of its own);
  // a filter draws no background and has none to give.
  bool background_sigma = false;
  // One member only: the estimate is a function of the observations, so
  // more members would be copies and their zero spread a false certainty.
  bool deterministic = false;
  // Its analysis at a grid point needs no other point's analysis (a
  // localised filter such as the LETKF): it may be asked for some points
  // only (problem.analysed_points()), so that one analysis is split over ranks.
  bool local = false;
  // problem.background(): it cannot estimate without a background of frame 0
  // (a learned estimator that takes one as an input).
  bool background = false;
  // The one state shape it works on (a learned estimator's network); empty: any.
  std::vector<std::int64_t> state_shape;
  // It reads problem.observation_sigmas(), an error std per observation; a
  // sampler that does not is refused observations whose errors differ.
  bool observation_sigmas = false;
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
// noise, background), in the units that stage's problems are in. Its data
// lives in libassim_sdk, as the problem's does, and a copy shares the
// tensors and the draw, as the problem's copy does.
class ASSIM_API EstimatorData {
 public:
  EstimatorData();
  ~EstimatorData();
  EstimatorData(const EstimatorData& other);
  EstimatorData& operator=(const EstimatorData& other);

  // The state of one member and frame of the pairs' windows.
  const StateSpec& state() const;
  EstimatorData& set_state(StateSpec state);
  // The H the pairs were observed through.
  const std::shared_ptr<const ObservationOperator>& observation_operator() const;
  EstimatorData& set_observation_operator(std::shared_ptr<const ObservationOperator> op);
  // `count` pairs, a function of (count, seed) only, so that a fit resumed at
  // an epoch boundary draws what the uninterrupted fit would have; empty
  // until set.
  using Draw = std::function<TrainingPairs(std::int64_t count, std::uint64_t seed)>;
  const Draw& draw() const;
  EstimatorData& set_draw(Draw draw);
  // Pairs one epoch draws (the distinct windows, or a fixed pool's size).
  std::int64_t pairs_per_epoch() const;
  EstimatorData& set_pairs_per_epoch(std::int64_t pairs);
  // Fixed held-out pairs; `states` undefined when none.
  const TrainingPairs& validation() const;
  EstimatorData& set_validation(TrainingPairs validation);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
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

// What every sampler that analyses a forecast ensemble (the EnKF family, the
// particle filter) checks before it starts: a float64 forecast of `members`
// states (2 or more), observations of at least one frame with a mask of
// their shape, an operator, and a positive noise sigma. Returns the forecast;
// throws Error starting with `sampler` (its type name) otherwise.
ASSIM_API const at::Tensor& forecast_ensemble_of(const AssimilationProblem& problem, std::int64_t members,
                                                 const std::string& sampler);

}  // namespace assim
