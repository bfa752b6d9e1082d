// The scoring module against values worked out by hand and against the
// definitions it replaces with cheaper forms.
#include <ATen/ATen.h>

#include "../../framework/src/science/scores.hpp"

#include <doctest/doctest.h>

#include <cmath>

TEST_CASE("scores of a small ensemble, worked out by hand") {
  // Three members of one frame of two points; the truth is 0 at both.
  const at::Tensor samples = at::tensor({1.0, -1.0, 2.0, 0.0, 3.0, 1.0}, at::kDouble).reshape({3, 1, 2});
  const at::Tensor truth = at::zeros({1, 2}, at::kDouble);
  const auto s = assim::scores::of_frames(samples, truth);
  // Mean (2, 0): RMSE sqrt((4 + 0) / 2).
  CHECK(s.rmse.item<double>() == doctest::Approx(std::sqrt(2.0)));
  // Each member's RMSE: sqrt(1), sqrt(2), sqrt(5), averaged.
  CHECK(s.rmse_sample.item<double>() == doctest::Approx((1 + std::sqrt(2.0) + std::sqrt(5.0)) / 3));
  // Variances 1 and 1 (divisor M - 1): spread 1.
  CHECK(s.spread.item<double>() == doctest::Approx(1.0));
  // Fair CRPS per point: E|X - y| - sum_{i != j} |X_i - X_j| / (2 M (M - 1)).
  // Point 1 (1, 2, 3): 2 - 8 / 12; point 2 (-1, 0, 1): 2/3 - 8 / 12.
  CHECK(s.crps.item<double>() == doctest::Approx(((2 - 8.0 / 12) + (2.0 / 3 - 8.0 / 12)) / 2));
  // The truth has 0 members below it at point 1 and 1 at point 2.
  CHECK(at::equal(s.ranks, at::tensor({1.0, 1.0, 0.0, 0.0}, at::kDouble)));
}

TEST_CASE("the fair CRPS equals its pairwise definition, and is unbiased where the plain one is not") {
  at::manual_seed(4);
  const std::int64_t members = 5;
  const at::Tensor samples = at::randn({members, 3, 4, 4}, at::kDouble), truth = at::randn({3, 4, 4}, at::kDouble);
  const at::Tensor skill = (samples - truth.unsqueeze(0)).abs().mean(0);
  const at::Tensor pairs = (samples.unsqueeze(0) - samples.unsqueeze(1)).abs().sum(at::IntArrayRef{0, 1});
  const at::Tensor fair = (skill - pairs / (2.0 * members * (members - 1))).reshape({3, -1}).mean(1);
  CHECK(at::allclose(assim::scores::of_frames(samples, truth).crps, fair, 1e-12, 1e-14));
  // Members and truth from one law, N(0, 1): the fair CRPS of a small
  // ensemble has the expectation of the exact one, 1 / sqrt(pi) (about
  // 0.564), where the plain pairs mean over M^2 is biased up (about 0.677).
  const at::Tensor many = at::randn({members, 20000, 1}, at::kDouble), y = at::randn({20000, 1}, at::kDouble);
  const double expected = 1 / std::sqrt(M_PI);
  CHECK(assim::scores::of_frames(many, y).crps.mean().item<double>() == doctest::Approx(expected).epsilon(0.03));
  const at::Tensor plain = (many - y.unsqueeze(0)).abs().mean(0) -
                           0.5 * (many.unsqueeze(0) - many.unsqueeze(1)).abs().mean(at::IntArrayRef{0, 1});
  CHECK(plain.mean().item<double>() > 1.1 * expected);
}

TEST_CASE("the energy score, worked out by hand, is the CRPS of a one-point state and the RMSE of one member") {
  // Three members of one frame of two points, the truth 0: the members
  // (3, 4), (0, 0), (0, 4) are at RMS norms 5 / sqrt(2), 0, 4 / sqrt(2) from
  // it, and pairwise at 5, 3, 4 (times 2 for i != j, over 2 M (M - 1) = 12).
  const at::Tensor samples = at::tensor({3.0, 4.0, 0.0, 0.0, 0.0, 4.0}, at::kDouble).reshape({3, 1, 2});
  const at::Tensor truth = at::zeros({1, 2}, at::kDouble);
  const double expected = (9 / std::sqrt(2.0)) / 3 - (2 * (5 + 3 + 4) / std::sqrt(2.0)) / 12;
  CHECK(assim::scores::of_frames(samples, truth).energy.item<double>() == doctest::Approx(expected));
  // One point: the energy score is the fair CRPS, frame by frame.
  at::manual_seed(6);
  const at::Tensor scalar = at::randn({7, 5, 1}, at::kDouble), y = at::randn({5, 1}, at::kDouble);
  const auto one = assim::scores::of_frames(scalar, y);
  CHECK(at::allclose(one.energy, one.crps, 1e-12, 1e-14));
  CHECK(!at::allclose(one.energy, one.rmse));  // not equal to any other score by construction
  // One member: no pairs, the distance to the truth alone, its RMSE.
  const at::Tensor single = at::randn({1, 3, 4, 4}, at::kDouble), t = at::randn({3, 4, 4}, at::kDouble);
  const auto alone = assim::scores::of_frames(single, t);
  CHECK(at::allclose(alone.energy, alone.rmse, 1e-12, 1e-14));
}

TEST_CASE("the fair energy score is unbiased where the plain one is not") {
  // Members and truth from one law, N(0, I) in d dimensions: the exact
  // score E||X - y|| - E||X - X'|| / 2 is E||X - X'|| / 2 (X, X', y alike),
  // the chi distribution's mean with d degrees of freedom times sqrt(2) / 2,
  // over sqrt(d) for the RMS norm.
  at::manual_seed(7);
  const std::int64_t members = 4, d = 3, frames = 20000;
  const at::Tensor samples = at::randn({members, frames, d}, at::kDouble), truth = at::randn({frames, d}, at::kDouble);
  const double chi_mean = std::sqrt(2.0) * std::tgamma((d + 1) / 2.0) / std::tgamma(d / 2.0);
  const double exact = std::sqrt(2.0) * chi_mean / 2 / std::sqrt(static_cast<double>(d));
  const at::Tensor energy = assim::scores::of_frames(samples, truth).energy;
  CHECK(energy.mean().item<double>() == doctest::Approx(exact).epsilon(0.02));
  // The plain score's pairs over M^2, zeros included, are too small: the score too large.
  const at::Tensor rms_to_truth = (samples - truth.unsqueeze(0)).pow(2).mean(2).sqrt().mean(0);
  const at::Tensor plain_score = rms_to_truth - (rms_to_truth - energy) * (members - 1.0) / members;
  CHECK(plain_score.mean().item<double>() > 1.1 * exact);
}

TEST_CASE("a calibrated ensemble has a spread-skill ratio of 1 with the (M + 1) / M factor") {
  at::manual_seed(5);
  const std::int64_t members = 4, points = 20000;
  // Truth and members drawn from one N(0, 1): the mean misses by sqrt((M + 1) / M).
  const at::Tensor samples = at::randn({members, 1, points}, at::kDouble), truth = at::randn({1, points}, at::kDouble);
  const auto s = assim::scores::of_frames(samples, truth);
  const double ratio = assim::scores::calibration(s.spread.item<double>(), s.rmse.item<double>(), members);
  CHECK(ratio == doctest::Approx(1.0).epsilon(0.03));
  CHECK(s.spread.item<double>() / s.rmse.item<double>() < 0.95);  // without the factor it looks under-dispersed
}
