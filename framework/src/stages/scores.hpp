// The scores of an ensemble against the truth, one definition for every
// stage that scores (assimilate per window frame, filter per cycle): the RMSE
// of the ensemble mean, the RMS ensemble spread and the ensemble CRPS, each
// over channels and grid.
#pragma once

#include <ATen/ATen.h>

namespace assim::scores {

struct FrameScores {
  at::Tensor rmse, spread, crps;  // (frames)
};

// samples (members, frames, state...) against truth (frames, state...).
FrameScores of_frames(const at::Tensor& samples, const at::Tensor& truth);

}  // namespace assim::scores
