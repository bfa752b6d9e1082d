#include "stages/estimator_pairs.hpp"

#include <assim/framework/observation_design.hpp>
#include <assim/shape.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

namespace assim {

namespace {

using uniform = std::uniform_int_distribution<std::int64_t>;

// "1, 0.25, 0.0625" for the log.
std::string join_fractions(const std::vector<double>& fractions) {
  std::ostringstream out;
  for (std::size_t i = 0; i < fractions.size(); ++i) out << (i ? ", " : "") << fractions[i];
  return out.str();
}

}  // namespace

EstimatorPairs::EstimatorPairs(const StageContext& context, const products::Dataset& data) {
  const Config& config = context.config();
  const StageInput& design_stage = context.input("design");
  const Config& design = design_stage.settings;
  design_stage_ = design_stage.name;
  operator_ = design.component<ObservationOperator>("operator");
  const products::ObservationSet observed = products::read_observations(design_stage);
  // Pairs are drawn through the design's mask over the grid.
  if (observed.places.defined())
    config.fail("design", "stage '" + design_stage_ + "' holds observations at places between grid points (" +
                              observed.design.mask_design + "); a learned estimator is trained on pairs drawn "
                              "through a mask over the grid: give a design stage that observes grid points");
  const Config mask_design = design.section("mask");
  // The train stage's masks, else the design's random fraction.
  fractions_ = config.get<std::vector<double>>("masks");
  if (fractions_.empty() && mask_design.get<std::string>("file").empty() && mask_design.get<double>("random") < 1)
    fractions_ = {mask_design.get<double>("random")};
  stride_ = mask_design.get<std::int64_t>("stride");
  law_ = noise_law(observed.design.noise_law);
  law_name_ = observed.design.noise_law;
  sigma_ = observed.design.sigma;
  const Config background = design.section("background");
  with_background_ = background.has("sigma");
  perturbation_ = !with_background_ ? 0
                  : background.has("perturbation") ? background.get<double>("perturbation")
                                                   : background.get<double>("sigma");
  window_ = observed.truth.size(1);
  every_ = observed.design.every;
  stage_mask_ = observed.mask.to(at::kBool);  // (time, grid...)
  grid_mask_ = stage_mask_.any(0);
  observation_frame_ = observed.observations.sizes().slice(1).vec();
  const products::Normalisation normalisation(observed.scale, data.spec);
  states_ = normalisation.normalise(data.states(), 2);
  frames_ = states_.size(1);
  frame_steps_ = data.frame_steps;
  const std::size_t grid = products::grid_rank(data.spec);
  for (std::size_t d = 0; d < grid; ++d) grid_dims_.push_back(static_cast<std::int64_t>(states_.dim() - grid + d) - 1);
  if (background.has("model")) {
    auto model = background.component<Model>("model");
    if (model->state_spec().shape() != data.spec.shape())
      config.fail("design", "stage '" + design_stage_ + "' forecasts its background with a model of states " +
                                shape_text(model->state_spec().shape()) + ", not the states of stage '" +
                                config.reference("data") + "' " + shape_text(data.spec.shape()));
    forecast_ = products::in_units(model, normalisation, data.spec);
  }
  offset_ = forecast_ ? 1 : 0;
  if (frames_ < window_ + offset_)
    config.fail("data", "pieces of " + std::to_string(frames_) + " frames are shorter than stage '" + design_stage_ +
                            "''s windows of " + std::to_string(window_) +
                            (forecast_ ? " and the frame before them (its forecast background)" : ""));
}

at::Tensor EstimatorPairs::mask_of_pair(std::mt19937_64& rng, at::Generator& generator) const {
  if (fractions_.empty()) return stage_mask_;
  const auto choices = static_cast<std::int64_t>(fractions_.size());
  const double fraction = fractions_[static_cast<std::size_t>(uniform(0, choices - 1)(rng))];
  return design::window_mask(window_, every_, design::mask(grid_mask_.sizes(), fraction, stride_, generator));
}

TrainingPairs EstimatorPairs::draw(std::int64_t first, std::int64_t pieces, std::int64_t count,
                                   std::uint64_t seed) const {
  std::mt19937_64 rng(seed);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(rng());
  std::vector<at::Tensor> windows, before, masks;
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t p = first + uniform(0, pieces - 1)(rng), s = uniform(offset_, frames_ - window_)(rng);
    std::vector<std::int64_t> shifts;
    for (std::int64_t d : grid_dims_) shifts.push_back(uniform(0, states_.size(d + 1) - 1)(rng));
    const at::Tensor frames_drawn = states_[p].narrow(0, s - offset_, window_ + offset_).roll(shifts, grid_dims_);
    windows.push_back(frames_drawn.narrow(0, offset_, window_));
    if (forecast_) before.push_back(frames_drawn.select(0, 0));
    masks.push_back(design::over_observations(mask_of_pair(rng, generator), observation_frame_));
  }
  TrainingPairs pairs;
  pairs.states = at::stack(windows);
  pairs.mask = at::stack(masks);
  pairs.observations = design::observe(*operator_, pairs.states, pairs.mask, law_, sigma_, generator);
  if (with_background_)
    pairs.background = design::background(pairs.states.select(1, 0), forecast_ ? at::stack(before) : at::Tensor(),
                                          forecast_.get(), frame_steps_, perturbation_, generator);
  return pairs;
}

std::string EstimatorPairs::description() const {
  std::ostringstream out;
  out << "through stage '" << design_stage_ << "': windows of " << window_ << " frames, "
      << (fractions_.empty() ? std::string("its mask")
                             : "a fresh random mask per pair of " + join_fractions(fractions_) + " of the points")
      << ", " << law_name_ << " noise sigma " << sigma_
      << (!with_background_ ? ", no background" : forecast_ ? ", a forecast background" : ", a background");
  return out.str();
}

}  // namespace assim
