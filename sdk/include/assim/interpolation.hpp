// The state at places between grid points: linear along the last dim (a ring
// such as Lorenz-96's) or bilinear on the last two (QG's plane), both
// periodic. One implementation for the operator obs.interpolate and for the
// observe stage's observations read at places between grid points, so that
// both see the same H. Written with index_select and products, so autograd
// differentiates it.
#pragma once

#include <assim/abi.hpp>

#include <ATen/core/Tensor.h>

namespace assim {

// x (leading dims..., grid dims...) at `places` (P, k) in grid units (cell i's
// centre at i; periodic: any real wraps), k = 1 or 2 the trailing grid dims
// interpolated: returns (leading dims..., P). Throws Error for another k or
// a state with fewer than k dims.
ASSIM_TOOLKIT at::Tensor interpolate_at(const at::Tensor& x, const at::Tensor& places);

}  // namespace assim
