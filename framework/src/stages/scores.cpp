#include "scores.hpp"

namespace assim::scores {

FrameScores of_frames(const at::Tensor& samples, const at::Tensor& truth) {
  const std::int64_t frames = truth.size(0);
  at::Tensor mean = samples.mean(0);
  FrameScores s;
  s.rmse = (mean - truth).pow(2).reshape({frames, -1}).mean(1).sqrt();
  s.spread = samples.var(0, /*unbiased=*/true).reshape({frames, -1}).mean(1).sqrt();
  // Ensemble CRPS per point: E|X - y| - E|X - X'| / 2, averaged over the frame.
  at::Tensor skill = (samples - truth.unsqueeze(0)).abs().mean(0);
  at::Tensor pairs = (samples.unsqueeze(0) - samples.unsqueeze(1)).abs().mean(at::IntArrayRef{0, 1});
  s.crps = (skill - 0.5 * pairs).reshape({frames, -1}).mean(1);
  return s;
}

}  // namespace assim::scores
