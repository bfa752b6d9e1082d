// A prior over states (or over augmented states z = (x, H(x))) given as a
// diffusion denoiser: eps_hat(z_t, t) predicts the noise in z_t at diffusion
// time t. Learned (a U-Net) or analytic (a Gaussian, whose score is exact).
#pragma once

#include <assim/component.hpp>

#include <ATen/core/Tensor.h>

namespace assim {

class ASSIM_API Prior : public Component {
 public:
  static constexpr Kind kind = Kind::Prior;
  ~Prior() override;

  // z_t has shape (batch, event dims...), t shape (batch) with values in [0, 1].
  virtual at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const = 0;
};

}  // namespace assim
