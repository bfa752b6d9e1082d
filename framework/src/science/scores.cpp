#include "scores.hpp"

#include <cmath>
#include <utility>

namespace assim::scores {

MeanScores of_mean(const at::Tensor& samples, const at::Tensor& truth) {
  const std::int64_t members = samples.size(0), frames = truth.size(0);
  MeanScores s;
  s.rmse = (samples.mean(0) - truth).pow(2).reshape({frames, -1}).mean(1).sqrt();
  s.spread = members > 1 ? samples.var(0, /*unbiased=*/true).reshape({frames, -1}).mean(1).sqrt()
                         : at::full({frames}, NAN, samples.options());  // absent, not zero
  return s;
}

FrameScores of_frames(const at::Tensor& samples, const at::Tensor& truth) {
  const std::int64_t members = samples.size(0), frames = truth.size(0);
  const at::Tensor error = samples - truth.unsqueeze(0);  // (M, L, state...)
  FrameScores s;
  MeanScores mean = of_mean(samples, truth);
  s.rmse = std::move(mean.rmse);
  s.spread = std::move(mean.spread);
  s.rmse_sample = error.pow(2).reshape({members, frames, -1}).mean(2).sqrt().mean(0);
  // sum_{i != j} |X_i - X_j| = 2 sum_k (2k - M + 1) X_(k) over the sorted members.
  at::Tensor crps = error.abs().mean(0);
  if (members > 1) {
    const at::Tensor sorted = std::get<0>(samples.sort(0));
    std::vector<std::int64_t> view(static_cast<std::size_t>(samples.dim()), 1);
    view[0] = members;
    const at::Tensor weight = (2 * at::arange(members, samples.options()) - (members - 1)).view(view);
    const at::Tensor pairs = 2 * (weight * sorted).sum(0);
    crps = crps - pairs / (2.0 * static_cast<double>(members * (members - 1)));
  }
  s.crps = crps.reshape({frames, -1}).mean(1);
  // Per frame, the members as (frames, M, points): the distances to the truth
  // and between members, summed exactly (not by the |a|^2 + |b|^2 - 2ab
  // shortcut, which cancels for close members).
  const at::Tensor by_frame = samples.reshape({members, frames, -1}).transpose(0, 1);
  const double points = static_cast<double>(by_frame.size(2));
  s.energy = error.reshape({members, frames, -1}).pow(2).mean(2).sqrt().mean(0);
  if (members > 1) {
    const at::Tensor distances = at::cdist(by_frame, by_frame, 2.0, /*donot_use_mm_for_euclid_dist=*/2);
    s.energy = s.energy - distances.sum({1, 2}) / std::sqrt(points) /
                              (2.0 * static_cast<double>(members * (members - 1)));
  }
  const at::Tensor below = (samples < truth.unsqueeze(0)).sum(0).reshape({-1});
  s.ranks = at::bincount(below, {}, members + 1).to(at::kDouble);
  return s;
}

double calibration(double spread, double rmse, double members) {
  return std::sqrt((members + 1) / members) * spread / rmse;
}

void Climatology::add(const at::Tensor& truth) {
  // Chan et al.'s pairwise update: the batch's own mean and squared
  // deviations merged into the running ones, stable over long runs.
  const double n = static_cast<double>(truth.numel());
  if (n == 0) return;
  const at::Tensor x = truth.to(at::kDouble);
  const double mean = x.mean().item<double>(), squares = (x - mean).square().sum().item<double>();
  const double total = count_ + n, delta = mean - mean_;
  squares_ += squares + delta * delta * count_ * n / total;
  mean_ += delta * n / total;
  count_ = total;
}

double Climatology::std() const { return count_ > 1 ? std::sqrt(squares_ / (count_ - 1)) : NAN; }

double after_burn_in(const std::vector<double>& series, std::int64_t burn_in) {
  double sum = 0;
  for (std::size_t c = static_cast<std::size_t>(burn_in); c < series.size(); ++c) sum += series[c];
  return sum / static_cast<double>(series.size() - static_cast<std::size_t>(burn_in));
}

double standard_error(const std::vector<double>& values) {
  if (values.size() < 2) return NAN;
  const double n = static_cast<double>(values.size());
  double mean = 0, squares = 0;
  for (double v : values) mean += v / n;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / (n - 1) / n);
}

}  // namespace assim::scores
