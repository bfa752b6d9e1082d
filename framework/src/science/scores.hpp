// The scores of an ensemble against the truth, one definition for every
// stage that scores (assimilate per window frame, filter per cycle), each
// over channels and grid points: the RMSE of each member (the papers' metric:
// one posterior sample scored per run) and of the ensemble mean, the RMS
// ensemble spread, the fair ensemble CRPS and its multivariate form the
// energy score, and the rank of the truth among the members.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace assim::scores {

struct FrameScores {
  at::Tensor rmse;         // (frames) of the ensemble mean
  at::Tensor rmse_sample;  // (frames) of each member, averaged over the members
  at::Tensor spread;       // (frames) RMS over points of the ensemble std (divisor M - 1); NaN for one member
  at::Tensor crps;         // (frames) fair CRPS: E|X - y| - sum_{i != j} |X_i - X_j| / (2 M (M - 1))
  // (frames) fair energy score (Gneiting & Raftery 2007, section 4.3), the CRPS
  // over the whole state vector: E||X - y|| - sum_{i != j} ||X_i - X_j|| /
  // (2 M (M - 1)), ||v|| the RMS norm sqrt(mean_k v_k^2), so that it is in
  // the state's units, one member scores its RMSE and a one-point state its CRPS.
  at::Tensor energy;
  at::Tensor ranks;        // (M + 1) how often the truth has k members below it, over frames and points
};

// samples (members, frames, state...) against truth (frames, state...).
FrameScores of_frames(const at::Tensor& samples, const at::Tensor& truth);

// Of those, the RMSE of the ensemble mean and the spread only, in O(M) work:
// what a filter scores every cycle, where of_frames's sums over member pairs
// (the energy score's M x M distances) would cost more than a particle
// filter's analysis at M = 3000.
struct MeanScores {
  at::Tensor rmse;    // as FrameScores::rmse
  at::Tensor spread;  // as FrameScores::spread
};
MeanScores of_mean(const at::Tensor& samples, const at::Tensor& truth);

// The spread-skill ratio sqrt((M + 1) / M) spread / RMSE of the mean: 1 for a
// calibrated ensemble of M members, whose mean misses the truth by the
// spread times sqrt((M + 1) / M) on average.
double calibration(double spread, double rmse, double members);

// The truth's spread, the climatology an estimate is judged against: its
// standard deviation (divisor n - 1) over every frame and point added, which
// may come a state at a time (a filter's cycles) or as a window.
class Climatology {
 public:
  void add(const at::Tensor& truth);
  double std() const;
  // The RMSE above which an estimate has diverged, one rule for every stage
  // that scores: `factor` times std() (the climatological mean scores about
  // std(), a climatological draw about sqrt(2) std()).
  double divergence_limit(double factor) const { return factor * std(); }

 private:
  double count_ = 0, mean_ = 0, squares_ = 0;  // squares_: sum of squared deviations from mean_
};

// The time mean of a series after its first `burn_in` values (a filter
// repetition's rmse.a, DAPPER's convention).
double after_burn_in(const std::vector<double>& series, std::int64_t burn_in);

// The standard error of the mean of `values`: their std (n - 1) / sqrt(n);
// NaN for fewer than 2.
double standard_error(const std::vector<double>& values);

}  // namespace assim::scores
