#include "science/off_grid.hpp"

#include <assim/error.hpp>
#include <assim/interpolation.hpp>
#include <assim/shape.hpp>

#include <utility>

namespace assim::off_grid {

namespace {

// States of `state_shape` with their trailing `grid_rank` dims replaced by `places`.
std::vector<std::int64_t> at_places(const std::vector<std::int64_t>& state_shape, std::size_t grid_rank,
                                    std::int64_t places) {
  std::vector<std::int64_t> out(state_shape.begin(), state_shape.end() - static_cast<std::ptrdiff_t>(grid_rank));
  out.push_back(places);
  return out;
}

}  // namespace

AtPlaces::AtPlaces(std::shared_ptr<const ObservationOperator> element_wise, at::Tensor places)
    : element_wise_(std::move(element_wise)), places_(std::move(places)) {}

at::Tensor AtPlaces::apply(const at::Tensor& x) const { return element_wise_->apply(interpolate_at(x, places_)); }

std::vector<std::int64_t> AtPlaces::output_shape(const std::vector<std::int64_t>& state_shape) const {
  const auto k = static_cast<std::size_t>(places_.size(1));
  if (state_shape.size() < k)
    throw Error("states of shape " + shape_text(state_shape) + " have fewer than " + std::to_string(k) +
                " grid dims to interpolate");
  return element_wise_->output_shape(at_places(state_shape, k, places_.size(0)));
}

bool AtPlaces::linear() const { return element_wise_->linear(); }

void check_element_wise(const ObservationOperator& op, const std::vector<std::int64_t>& state_shape,
                        std::size_t grid_rank, std::int64_t places) {
  const std::vector<std::int64_t> interpolated = at_places(state_shape, grid_rank, places);
  std::vector<std::int64_t> on_grid, off_grid;
  try {
    on_grid = op.output_shape(state_shape);
    off_grid = op.output_shape(interpolated);
  } catch (const std::exception& e) {
    throw Error("the observations lie between grid points, where H is applied to the state interpolated at " +
                std::to_string(places) + " places, " + shape_text(interpolated) + ", which it refuses: " +
                without_backtrace(e.what()) + " (take an element-wise operator: obs.identity, obs.arctan, obs.sine)");
  }
  const std::vector<std::int64_t> expected = at_places(on_grid, grid_rank, places);
  if (off_grid != expected)
    throw Error("the observations lie between grid points, where H is applied to the state interpolated at " +
                std::to_string(places) + " places, " + shape_text(interpolated) + ": it gives " + shape_text(off_grid) +
                ", not one value per place and channel " + shape_text(expected) + " (take an element-wise operator)");
}

}  // namespace assim::off_grid
