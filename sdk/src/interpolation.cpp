#include <assim/interpolation.hpp>

#include <assim/error.hpp>

#include <ATen/ATen.h>

#include <string>

namespace assim {

namespace {

// The grid points either side of each place along a periodic dim of n
// points, and the weight of the one above.
struct Along {
  Along(const at::Tensor& place, std::int64_t n) {
    const at::Tensor floor = at::floor(place);
    weight = place - floor;
    below = at::remainder(floor.to(at::kLong), n);
    above = at::remainder(below + 1, n);
  }
  at::Tensor below, above, weight;
};

}  // namespace

at::Tensor interpolate_at(const at::Tensor& x, const at::Tensor& places) {
  if (places.dim() != 2 || places.size(1) < 1 || places.size(1) > 2)
    throw Error("interpolation: places must be (places, 1) or (places, 2), got " + std::to_string(places.dim()) +
                " dims");
  const std::int64_t dims = places.size(1);
  if (x.dim() < dims)
    throw Error("interpolation: a state of " + std::to_string(x.dim()) + " dims has fewer than " +
                std::to_string(dims) + " to interpolate");
  const at::Tensor at_places = places.to(x.options());
  if (dims == 1) {
    const Along a(at_places.select(1, 0), x.size(-1));
    return x.index_select(-1, a.below) * (1 - a.weight) + x.index_select(-1, a.above) * a.weight;
  }
  const std::int64_t nx = x.size(-1);
  const Along r(at_places.select(1, 0), x.size(-2)), s(at_places.select(1, 1), nx);
  const at::Tensor plane = x.flatten(-2);
  const auto at_point = [&](const at::Tensor& row, const at::Tensor& column) {
    return plane.index_select(-1, row * nx + column);
  };
  return at_point(r.below, s.below) * ((1 - r.weight) * (1 - s.weight)) +
         at_point(r.below, s.above) * ((1 - r.weight) * s.weight) +
         at_point(r.above, s.below) * (r.weight * (1 - s.weight)) + at_point(r.above, s.above) * (r.weight * s.weight);
}

}  // namespace assim
