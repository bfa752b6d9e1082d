// The observation-space diagnostics against values worked out by hand, and
// against the linear-Gaussian analysis for which Desroziers's ratios, chi^2
// and the DFS are known exactly.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "../../framework/src/science/observation_space.hpp"

#include <doctest/doctest.h>

#include <cmath>

using assim::NoiseLaw;
using assim::observation_space::Accumulator;
using assim::observation_space::Departures;

namespace {
// (time, channel, point) from a flat list.
at::Tensor field(std::vector<double> values, std::int64_t frames, std::int64_t points) {
  return at::tensor(values, at::kDouble).reshape({frames, 1, points});
}
}  // namespace

TEST_CASE("observation-space diagnostics of one frame, worked out by hand") {
  // One frame, one channel, two points, sigma_o = 1. y = (1, -1); the
  // background members (-1, -1) and (1, 1), mean 0, variance 2 (divisor
  // M - 1); the analysis members (0, -1) and (1, 0), mean (0.5, -0.5),
  // variance 0.5.
  Departures d;
  d.observations = field({1, -1}, 1, 2);
  d.mask = at::ones({1, 1, 2}, at::kBool);
  d.analysis = field({0.5, -0.5}, 1, 2);
  d.background = field({0, 0}, 1, 2);
  d.analysis_members = at::stack({field({0, -1}, 1, 2), field({1, 0}, 1, 2)});
  d.background_members = at::stack({field({-1, -1}, 1, 2), field({1, 1}, 1, 2)});
  Accumulator sums(1, 1, 2, 1.0, NoiseLaw::Gaussian);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  sums.add(d, generator);
  const auto r = sums.result();
  const auto at0 = [](const at::Tensor& t) { return t[0].item<double>(); };
  CHECK(at0(r.count_oa) == 2);
  CHECK(at0(r.oma_bias) == doctest::Approx(0));
  // d_oa = (0.5, -0.5): RMS 0.5; d_ob = (1, -1): RMS 1.
  CHECK(at0(r.oma_rms) == doctest::Approx(0.5));
  CHECK(at0(r.omb_rms) == doctest::Approx(1));
  CHECK(at0(r.count_ob) == 2);
  // Each member's y - H(x_i): (1, 0) and (0, -1): RMS sqrt(2 / 4).
  CHECK(at0(r.oma_rms_member) == doctest::Approx(std::sqrt(0.5)));
  // E[d_oa d_ob] = 0.5; E[d_ab d_ob] = 0.5 over HBH^T = 2; chi^2 = 1 / (2 + 1).
  CHECK(at0(r.desroziers_r) == doctest::Approx(0.5));
  CHECK(at0(r.desroziers_b) == doctest::Approx(0.25));
  CHECK(at0(r.chi2) == doctest::Approx(1.0 / 3));
  // DFS: 0.5 / 1 at each point, 1 for the window; 0.5 per observation.
  CHECK(at0(r.dfs) == doctest::Approx(1));
  CHECK(at0(r.dfs_fraction) == doctest::Approx(0.5));
  // Two observations ranked among two members: M + 1 = 3 ranks, 2 counted.
  CHECK(r.ranks_a.sum().item<double>() == 2);
  CHECK(r.ranks_b.sum().item<double>() == 2);
}

TEST_CASE("what has no background or no members is absent, not zero") {
  Departures d;
  d.observations = field({1, -1, 2, 0}, 2, 2);
  // The second frame's second point is not observed.
  d.mask = (at::tensor({1, 1, 1, 0}, at::kInt) > 0).reshape({2, 1, 2});
  d.analysis = field({0, 0, 0, 5}, 2, 2);
  // A background at frame 0 alone (the observe stage's, for a window method).
  d.background = field({0, 0, NAN, NAN}, 2, 2);
  Accumulator sums(1, 2, 1, 1.0, NoiseLaw::Gaussian);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  sums.add(d, generator);
  const auto r = sums.result();
  CHECK(r.count_oa[0].item<double>() == 3);
  CHECK(r.oma_rms[0].item<double>() == doctest::Approx(std::sqrt(6.0 / 3)));  // 1, 1, 4; the 5 unobserved
  CHECK(r.count_ob[0].item<double>() == 2);
  CHECK(r.desroziers_r[0].item<double>() == doctest::Approx(1));  // (1 * 1 + 1 * 1) / 2
  CHECK(std::isnan(r.omb_rms_frame[1].item<double>()));
  for (const at::Tensor* t : {&r.oma_rms_member, &r.desroziers_b, &r.chi2, &r.dfs, &r.dfs_fraction})
    CHECK(std::isnan((*t)[0].item<double>()));
  CHECK(std::isnan(r.calibration_a));
  CHECK(std::isnan(r.calibration_b));
  CHECK(at::isnan(r.ranks_b).all().item<bool>());
  // Noiseless observations: nothing is measured against R.
  Accumulator noiseless(1, 2, 1, 0.0, NoiseLaw::Gaussian);
  noiseless.add(d, generator);
  CHECK(std::isnan(noiseless.result().desroziers_r[0].item<double>()));
  CHECK(noiseless.result().omb_rms[0].item<double>() == doctest::Approx(1));
}

TEST_CASE("the optimal analysis of a linear-Gaussian problem has Desroziers's ratios, chi^2 and DFS it should") {
  // Scalar truth x ~ N(0, 4) at n points; background error variance b,
  // noise variance r; the Kalman analysis x_a = x_b + k (y - x_b), k = b /
  // (b + r), with ensembles drawn at the right variances. Then E[d_oa d_ob]
  // = r, E[d_ab d_ob] = b, chi^2 = 1 and DFS per observation k: every ratio
  // within sampling error of 1. Told R twice too large (k' = b / (b + 2r)),
  // the R ratio is (b + r) / (b + 2r) instead.
  const std::int64_t n = 40000, members = 16;
  const double b = 0.5, r = 1;
  at::manual_seed(3);
  const at::Tensor x = 2 * at::randn({1, 1, n}, at::kDouble);
  const at::Tensor x_b = x + std::sqrt(b) * at::randn({1, 1, n}, at::kDouble);
  const at::Tensor y = x + std::sqrt(r) * at::randn({1, 1, n}, at::kDouble);
  const auto analysed = [&](double told_r) {
    const double k = b / (b + told_r), a = b * told_r / (b + told_r);
    Departures d;
    d.observations = y;
    d.mask = at::ones({1, 1, n}, at::kBool);
    d.background = x_b;
    d.analysis = x_b + k * (y - x_b);
    // Members about each mean with the method's variances; their draws are
    // independent of the truth, as a calibrated ensemble's are.
    d.background_members = x_b.unsqueeze(0) + std::sqrt(b) * at::randn({members, 1, 1, n}, at::kDouble);
    d.analysis_members = d.analysis.unsqueeze(0) + std::sqrt(a) * at::randn({members, 1, 1, n}, at::kDouble);
    Accumulator sums(1, 1, members, std::sqrt(told_r), NoiseLaw::Gaussian);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
    sums.add(d, generator);
    return sums.result();
  };
  const auto right = analysed(r);
  CHECK(right.desroziers_r[0].item<double>() == doctest::Approx(1).epsilon(0.03));
  CHECK(right.desroziers_b[0].item<double>() == doctest::Approx(1).epsilon(0.03));
  CHECK(right.chi2[0].item<double>() == doctest::Approx(1).epsilon(0.03));
  CHECK(right.dfs_fraction[0].item<double>() == doctest::Approx(b / (b + r)).epsilon(0.03));
  // The background ensemble is calibrated: y's ranks among its members
  // perturbed by the noise are uniform, and its spread-skill ratio is 1.
  const at::Tensor share = right.ranks_b / right.ranks_b.sum() * static_cast<double>(members + 1);
  CHECK(share.min().item<double>() > 0.9);
  CHECK(share.max().item<double>() < 1.1);
  CHECK(right.calibration_b == doctest::Approx(1).epsilon(0.03));
  const auto twice = analysed(2 * r);
  CHECK(twice.desroziers_r[0].item<double>() == doctest::Approx((b + r) / (b + 2 * r)).epsilon(0.03));
}

TEST_CASE("with an error per observation (read from a file), each departure is measured against its own R") {
  // As above, but half the points have noise variance 1 and half 4, the
  // analysis using each point's own gain k_i = b / (b + r_i). Told those
  // r_i, the R ratio E[d_oa d_ob / r_i] and chi^2 are 1 and the DFS per
  // observation is the mean of k_i; told a scalar sigma of 1 instead, the
  // R ratio is (r_i mean) = 2.5, which is what a per-observation sigma lost on
  // the way would show.
  const std::int64_t n = 40000, members = 16;
  const double b = 0.5;
  at::manual_seed(4);
  const at::Tensor r = at::cat({at::ones({n / 2}, at::kDouble), 4 * at::ones({n / 2}, at::kDouble)}).view({1, 1, n});
  const at::Tensor x = 2 * at::randn({1, 1, n}, at::kDouble);
  const at::Tensor x_b = x + std::sqrt(b) * at::randn({1, 1, n}, at::kDouble);
  const at::Tensor y = x + r.sqrt() * at::randn({1, 1, n}, at::kDouble);
  const at::Tensor k = b / (b + r);
  Departures d;
  d.observations = y;
  d.mask = at::ones({1, 1, n}, at::kBool);
  d.background = x_b;
  d.analysis = x_b + k * (y - x_b);
  d.background_members = x_b.unsqueeze(0) + std::sqrt(b) * at::randn({members, 1, 1, n}, at::kDouble);
  d.analysis_members = d.analysis.unsqueeze(0) + (b * (1 - k)).sqrt() * at::randn({members, 1, 1, n}, at::kDouble);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  d.sigma = r.sqrt();
  Accumulator own(1, 1, members, 1.0, NoiseLaw::Gaussian);
  own.add(d, generator);
  const auto right = own.result();
  CHECK(right.desroziers_r[0].item<double>() == doctest::Approx(1).epsilon(0.03));
  CHECK(right.chi2[0].item<double>() == doctest::Approx(1).epsilon(0.03));
  CHECK(right.dfs_fraction[0].item<double>() == doctest::Approx(k.mean().item<double>()).epsilon(0.03));
  // y's ranks among the background members perturbed by each point's own noise are uniform.
  const at::Tensor share = right.ranks_b / right.ranks_b.sum() * static_cast<double>(members + 1);
  CHECK(share.min().item<double>() > 0.9);
  CHECK(share.max().item<double>() < 1.1);
  d.sigma = at::Tensor();
  Accumulator scalar(1, 1, members, 1.0, NoiseLaw::Gaussian);
  scalar.add(d, generator);
  CHECK(scalar.result().desroziers_r[0].item<double>() == doctest::Approx(2.5).epsilon(0.05));
}
