// H of observations at places between grid points (read from a file): the
// element-wise operator the experiment names, applied to the state
// interpolated there (arctan of an interpolated value), with the SDK
// toolkit's interpolation, the one obs.interpolate applies. Every sampler
// that takes H as a function of the state (the EnKF family, 3D/4D-Var, SDA)
// takes it as it is; autograd differentiates it.
#pragma once

#include <assim/observation_operator.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace assim::off_grid {

class AtPlaces : public ObservationOperator {
 public:
  // `places` (places, k) in grid units along the state's k trailing dims.
  AtPlaces(std::shared_ptr<const ObservationOperator> element_wise, at::Tensor places);
  at::Tensor apply(const at::Tensor& x) const override;
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override;
  bool linear() const override;

 private:
  std::shared_ptr<const ObservationOperator> element_wise_;
  at::Tensor places_;
};

// Throws Error unless `op` acts on the interpolated values of states of
// `state_shape` at `places` places as it does on the grid (an element-wise
// operator: same channels, one value per place); says why otherwise.
void check_element_wise(const ObservationOperator& op, const std::vector<std::int64_t>& state_shape,
                        std::size_t grid_rank, std::int64_t places);

}  // namespace assim::off_grid
