#include <assim/error.hpp>
#include <assim/shape.hpp>
#include <assim/framework/observation_design.hpp>

#include <ATen/ATen.h>

#include <cmath>

namespace assim::design {

at::Tensor mask(at::IntArrayRef grid, double fraction, std::int64_t stride, at::Generator& generator) {
  at::Tensor keep = at::rand(grid, generator, at::TensorOptions().dtype(at::kDouble)) < fraction;
  for (std::size_t d = 0; d < grid.size(); ++d) {
    at::Tensor on_stride = (at::arange(grid[d], at::kLong) % stride) == 0;
    std::vector<std::int64_t> view(grid.size(), 1);
    view[d] = grid[d];
    keep = keep.logical_and(on_stride.view(view));
  }
  return keep;
}

void check_stride(const Config& mask, at::IntArrayRef grid) {
  const auto stride = mask.get<std::int64_t>("stride");
  for (auto n : grid)
    if (stride > n)
      mask.fail("stride", "stride " + std::to_string(stride) + " is larger than the grid (" + std::to_string(n) +
                              " points)");
}

void check_observes(const at::Tensor& mask, const Config& config, const std::string& key) {
  if (mask.sum().item<std::int64_t>() == 0) config.fail(key, "observes no grid point at all");
}

at::Tensor window_mask(std::int64_t frames, std::int64_t every, const at::Tensor& grid_mask) {
  const at::Tensor observed = (at::arange(frames, at::kLong) % every) == 0;
  std::vector<std::int64_t> time_view(static_cast<std::size_t>(1 + grid_mask.dim()), 1);
  time_view[0] = frames;
  return observed.view(time_view).logical_and(grid_mask.to(at::kBool).unsqueeze(0));
}

at::Tensor over_observations(const at::Tensor& mask, at::IntArrayRef observations) {
  // (time, 1..., grid...) broadcast over the observation's channel dims.
  const auto grid = static_cast<std::int64_t>(mask.dim()) - 1;
  std::vector<std::int64_t> view = {mask.size(0)};
  for (std::int64_t d = 0; d + grid + 1 < static_cast<std::int64_t>(observations.size()); ++d) view.push_back(1);
  for (std::int64_t d = 1; d < mask.dim(); ++d) view.push_back(mask.size(d));
  return mask.to(at::kDouble).view(view).expand(observations).contiguous();
}

at::Tensor observe(const ObservationOperator& op, const at::Tensor& windows, const at::Tensor& mask, NoiseLaw law,
                   double sigma, at::Generator& generator) {
  const at::Tensor y = op.apply(windows);
  std::vector<std::int64_t> expected = mask.sizes().vec();
  if (mask.dim() < y.dim()) expected.insert(expected.begin(), windows.size(0));
  if (y.sizes().vec() != expected)
    throw Error("returned shape " + shape_text(y.sizes().vec()) + " instead of the " + shape_text(expected) +
                " its output_shape promised");
  return ((y + noise(law, sigma, y.sizes(), generator)) * mask).contiguous();
}

at::Tensor background(const at::Tensor& x0, const at::Tensor& previous, const Model* forecaster, std::int64_t steps,
                      double perturbation, at::Generator& generator) {
  if (!forecaster) return (x0 + perturbation * at::randn(x0.sizes(), generator, x0.options())).contiguous();
  const at::Tensor perturbed = previous + perturbation * at::randn(previous.sizes(), generator, previous.options());
  auto trajectory = forecaster->start(perturbed.contiguous());
  trajectory->advance(steps);
  return trajectory->state().contiguous();
}

}  // namespace assim::design
