#include "spectrum.hpp"

#include <assim/error.hpp>

#include "products/products.hpp"

#include <algorithm>
#include <vector>

namespace assim::spectrum {

namespace {

std::vector<std::int64_t> grid_of(const StateSpec& state) {
  if (!defined_for(state))
    throw Error("spectrum: the state '" + state.variable + "' has " + std::to_string(products::grid_rank(state)) +
                " grid dims (dims with a spacing); a spectrum needs 1 or 2");
  return products::grid_of(state);
}

}  // namespace

bool defined_for(const StateSpec& state) {
  const std::size_t rank = products::grid_rank(state);
  return rank == 1 || rank == 2;
}

at::Tensor wavenumbers(const StateSpec& state) {
  const auto grid = grid_of(state);
  const std::int64_t n = *std::min_element(grid.begin(), grid.end());
  return at::arange(1, n / 2 + 1, at::kDouble);
}

at::Tensor power(const at::Tensor& fields, const StateSpec& state) {
  const auto grid = grid_of(state);
  const auto count = fields.size(0);
  const std::int64_t shells = wavenumbers(state).size(0);
  std::vector<std::int64_t> shape = {count, -1};
  shape.insert(shape.end(), grid.begin(), grid.end());
  std::vector<std::int64_t> axes;
  for (std::size_t d = 0; d < grid.size(); ++d) axes.push_back(static_cast<std::int64_t>(2 + d));
  const at::Tensor modes = at::fft_fftn(fields.to(at::kDouble).reshape(shape), c10::nullopt, axes);
  // (grid...): the power summed over the count and channels.
  const at::Tensor total = at::abs(modes).square().sum(at::IntArrayRef{0, 1}) / static_cast<double>(count);
  // |k| per wavevector, k in cycles per domain along each axis (numpy's fftfreq(n) n).
  at::Tensor length = at::zeros(grid, at::kDouble);
  for (std::size_t d = 0; d < grid.size(); ++d) {
    const std::int64_t n = grid[d];
    at::Tensor k = at::arange(n, at::kDouble);
    k = at::where(k > (n - 1) / 2, k - static_cast<double>(n), k);  // n/2 counts as -n/2 for even n, like fftfreq
    std::vector<std::int64_t> view(grid.size(), 1);
    view[d] = n;
    length = length + k.view(view).square();
  }
  const at::Tensor shell = at::round(length.sqrt()).to(at::kLong).flatten();
  const at::Tensor kept = (shell >= 1) & (shell <= shells);
  at::Tensor spectrum = at::zeros({shells + 1}, at::kDouble);
  spectrum.index_add_(0, shell.masked_select(kept), total.flatten().masked_select(kept));
  return spectrum.slice(0, 1);
}

namespace {
// Power below this share of the truth's strongest wavenumber's is none.
constexpr double negligible = 1e-6;
}  // namespace

at::Tensor ratio(const at::Tensor& estimate, const at::Tensor& truth) {
  const at::Tensor some = truth > negligible * truth.max();
  return at::where(some, estimate / truth, at::full_like(truth, NAN));
}

double small_scale_ratio(const at::Tensor& estimate, const at::Tensor& truth) {
  const std::int64_t upper = truth.size(0) / 2;
  const double truth_energy = truth.slice(0, upper).sum().item<double>();
  return truth_energy > negligible * truth.max().item<double>() ? estimate.slice(0, upper).sum().item<double>() / truth_energy : NAN;
}

}  // namespace assim::spectrum
