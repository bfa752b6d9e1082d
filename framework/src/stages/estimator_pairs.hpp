// The pairs a learned estimator trains on (Li & Liu's eq. 21 sums over
// them): windows of a generated dataset observed through an observe stage's
// design, in that stage's units. A window of a random piece at a random
// start, rolled by a random shift on the (periodic) grid as the prior's
// windows are, observed on a fresh mask when the design's mask is random
// (else on that stage's very mask), with fresh noise and a fresh background
// perturbation.
#pragma once

#include <assim/framework/stage.hpp>
#include <assim/model.hpp>
#include <assim/noise.hpp>
#include <assim/observation_operator.hpp>
#include <assim/sampler.hpp>

#include "products/products.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace assim {

class EstimatorPairs {
 public:
  // Reads the design of the train stage's `design` input and checks it
  // against the dataset; the stage's settings name what fails.
  EstimatorPairs(const StageContext& context, const products::Dataset& data);

  // `count` pairs from pieces [first, first + pieces), a function of the
  // arguments only.
  TrainingPairs draw(std::int64_t first, std::int64_t pieces, std::int64_t count, std::uint64_t seed) const;

  // The distinct windows one piece holds.
  std::int64_t windows_per_piece() const { return frames_ - offset_ - window_ + 1; }
  const std::shared_ptr<const ObservationOperator>& observation_operator() const { return operator_; }
  // What the pairs are, for the log.
  std::string description() const;

 private:
  at::Tensor mask_of_pair(std::mt19937_64& rng, at::Generator& generator) const;

  std::string design_stage_;
  std::shared_ptr<const ObservationOperator> operator_;
  // The fractions a pair's random mask draws from; empty: the stage's mask.
  std::vector<double> fractions_;
  std::int64_t stride_ = 1;
  NoiseLaw law_ = NoiseLaw::Gaussian;
  std::string law_name_;
  double sigma_ = 0;
  bool with_background_ = false;
  double perturbation_ = 0;
  // A forecast background (the design's background.model) starts from the
  // frame before the window, as the observe stage's do.
  std::shared_ptr<const Model> forecast_;
  std::int64_t offset_ = 0, window_ = 0, every_ = 1, frames_ = 0, frame_steps_ = 0;
  at::Tensor stage_mask_, grid_mask_, states_;
  std::vector<std::int64_t> observation_frame_;  // one observed frame's shape
  std::vector<std::int64_t> grid_dims_;          // the grid's dims in a piece's frames (rolled)
};

}  // namespace assim
