// An observation operator H: maps states to what an instrument sees, before
// masking and noise. Written with torch operations so that autograd can
// differentiate through it (the SDA sampler needs the gradient).
#pragma once

#include <assim/component.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace assim {

class ASSIM_API ObservationOperator : public Component {
 public:
  static constexpr Kind kind = Kind::ObservationOperator;
  ~ObservationOperator() override;

  // x has shape (batch..., state dims...), where the state dims are the
  // model's (for QG: layer, y, x). Returns (batch..., output dims...).
  virtual at::Tensor apply(const at::Tensor& x) const = 0;
  // Output dims for the given state dims; throws Error when the operator
  // cannot act on such a state (wrong grid, wrong number of layers).
  virtual std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const;
  // True when apply is linear in x.
  virtual bool linear() const;
};

}  // namespace assim
