// The isotropic power spectrum against waves whose power is known by hand,
// and the ratio evaluate reports: below 1 at the small scales of a smoothed
// field, 1 at the large scales it keeps.
#include <ATen/ATen.h>

#include "../../framework/src/science/spectrum.hpp"

#include <assim/error.hpp>

#include <doctest/doctest.h>

#include <cmath>

namespace {

assim::StateSpec sites(std::int64_t n) { return {"x", "", "1", {{"site", n, "1", 1.0}}, 0.01, "1"}; }
assim::StateSpec layers(std::int64_t n) {
  return {"q", "", "s-1", {{"layer", 2, "", 0.0}, {"y", n, "m", 1e4}, {"x", n, "m", 1e4}}, 3600, "s"};
}

// The periodic 1-2-1 average along every grid axis (the last `axes` dims):
// response cos^2(pi k / n), 1 at k = 0 and 0 at k = n / 2.
at::Tensor smoothed(const at::Tensor& fields, int axes) {
  at::Tensor out = fields;
  for (int a = 1; a <= axes; ++a)
    out = 0.25 * at::roll(out, {1}, {-a}) + 0.5 * out + 0.25 * at::roll(out, {-1}, {-a});
  return out;
}

}  // namespace

TEST_CASE("a wave's power is at its wavenumber, as much as worked out by hand") {
  const std::int64_t n = 16;
  // sin(2 pi 3 j / n): FFT coefficients of modulus n / 2 at k = +-3, power 2 (n / 2)^2.
  const at::Tensor j = at::arange(n, at::kDouble);
  const at::Tensor wave = at::sin(2 * M_PI * 3 * j / n).unsqueeze(0);
  at::Tensor expected = at::zeros({n / 2}, at::kDouble);
  expected[2] = 2.0 * (n / 2.0) * (n / 2.0);
  CHECK(at::allclose(assim::spectrum::power(wave, sites(n)), expected, 1e-9, 1e-9));
  CHECK(at::equal(assim::spectrum::wavenumbers(sites(n)), at::arange(1, n / 2 + 1, at::kDouble)));
  // cos(2 pi (3 x + 4 y) / n) in one layer, 0 in the other: |k| = 5, power
  // 2 (n^2 / 2)^2 at k = +-(3, 4).
  const at::Tensor plane = at::cos(2 * M_PI * (3 * j.view({1, n}) + 4 * j.view({n, 1})) / n);
  const at::Tensor field = at::stack({plane, at::zeros_like(plane)}).unsqueeze(0);
  expected.zero_();
  expected[4] = 2.0 * std::pow(n * n / 2.0, 2);
  CHECK(at::allclose(assim::spectrum::power(field, layers(n)), expected, 1e-9, 1e-6));
  // Averaged over the count: the same wave twice and nothing once, two thirds of it.
  const at::Tensor three = at::cat({field, field, at::zeros_like(field)});
  CHECK(at::allclose(assim::spectrum::power(three, layers(n)), expected * 2.0 / 3.0, 1e-9, 1e-6));
}

TEST_CASE("a smoothed field has less power than the truth at high wavenumbers, the truth itself as much") {
  at::manual_seed(8);
  for (const auto& [state, axes] : {std::pair{sites(32), 1}, std::pair{layers(32), 2}}) {
    auto shape = state.shape();
    shape.insert(shape.begin(), 200);
    const at::Tensor truth = at::randn(shape, at::kDouble);
    const at::Tensor power = assim::spectrum::power(truth, state);
    const at::Tensor smooth = assim::spectrum::power(smoothed(truth, axes), state);
    const at::Tensor ratio = assim::spectrum::ratio(smooth, power);
    const std::int64_t shells = ratio.size(0);
    CHECK(at::allclose(assim::spectrum::ratio(assim::spectrum::power(truth, state), power), at::ones_like(ratio)));
    CHECK(assim::spectrum::small_scale_ratio(power, power) == doctest::Approx(1.0));
    CHECK(ratio[0].item<double>() > 0.9);                                        // the largest scale kept
    CHECK(assim::spectrum::small_scale_ratio(smooth, power) < 0.35);             // the small ones damped
    CHECK(ratio[shells - 1].item<double>() < ratio[shells / 2].item<double>());  // more so the smaller
  }
  // Where the truth has no power, no ratio: a wave at wavenumber 2 alone.
  const at::Tensor j = at::arange(16, at::kDouble);
  const at::Tensor wave = assim::spectrum::power(at::sin(2 * M_PI * 2 * j / 16).unsqueeze(0), sites(16));
  const at::Tensor half = assim::spectrum::ratio(0.5 * wave + 1e-3, wave);
  CHECK(half[1].item<double>() == doctest::Approx(0.5).epsilon(1e-4));
  CHECK(at::isnan(half[0]).item<bool>());
  CHECK(std::isnan(assim::spectrum::small_scale_ratio(0.5 * wave + 1e-3, wave)));
  // No grid: no spectrum, and an error that names the state.
  const assim::StateSpec lumped{"z", "", "1", {{"component", 3, "", 0.0}}, 0.01, "1"};
  CHECK(!assim::spectrum::defined_for(lumped));
  CHECK_THROWS_WITH_AS(assim::spectrum::wavenumbers(lumped), doctest::Contains("'z'"), assim::Error);
}
