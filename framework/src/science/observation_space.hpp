// Observation-space diagnostics of an assimilation, as DA centres judge one
// (DART's obs_diag, JEDI's ObsErrorDiag): the residuals d_oa = y - H(x_a) of
// the analysis and the innovations d_ob = y - H(x_b) of the background it
// started from, on the observed points alone, summed over frames, windows and
// seeds per operator channel, and from them
//   - bias (mean) and RMS of d_oa (of the ensemble mean, and of each member)
//     and of d_ob, with their counts, per channel and per frame;
//   - Desroziers et al. (2005) consistency ratios, 1 when the R and B the
//     method assumed are the true ones: E[d_oa d_ob] / sigma_o^2 (from
//     E[d_oa d_ob^T] = R; with an error per observation, E[d_oa d_ob / sigma_i^2])
//     and E[d_ab d_ob] / HBH^T with d_ab = H(x_a) -
//     H(x_b) (from E[d_ab d_ob^T] = H B H^T), both exact for the optimal
//     gain K = B H^T (H B H^T + R)^-1 of a linear H; diagonal
//     elements averaged over the observations, HBH^T the forecast ensemble's
//     variance in observation space;
//   - chi^2 / N of the innovations, E[d_ob^2 / (HBH^T_ii + sigma_o^2)]: 1 when
//     H B H^T + R is the innovations' covariance (diagonal: correlations
//     between observations left out);
//   - the degrees of freedom for signal, DFS = tr(HK), estimated from the
//     analysis ensemble (Liu et al. 2009, with K = P_a H^T R^-1):
//     DFS = sum_i var_a(H x)_i / sigma_o^2 over the observations, var_a
//     the analysis members' variance (divisor M - 1). For the scalar
//     Kalman filter with B = b, R = r it is b / (b + r);
//   - the rank of y among the members perturbed by the assumed noise,
//     H(x_i) + eps_i (Hamill 2001: without eps the histogram of a calibrated
//     ensemble is U-shaped), and the spread-skill of that ensemble against y,
//     scored by scores::of_frames as in state space.
// Where an ingredient is missing the diagnostic is absent (NaN, "-" in the
// table), never 0: d_ob needs a background, HBH^T and chi^2 a forecast
// ensemble, DFS and the ranks of the analysis two members or more, the R
// ratio and the DFS a noise sigma above 0.
#pragma once

#include <assim/noise.hpp>

#include <ATen/ATen.h>

#include <cstdint>

namespace assim::observation_space {

// One window and seed in observation space, each (time, channel, point),
// the channels the operator's output dims before the grid's, flattened.
struct Departures {
  at::Tensor observations;  // y
  at::Tensor mask;          // true where observed
  at::Tensor analysis;      // H(mean of the analysis)
  at::Tensor background;    // H(mean of the background); NaN in frames without one; undefined: none at all
  at::Tensor analysis_members, background_members;  // (member, time, channel, point) H(x_i); undefined: none
  at::Tensor sigma;  // each observation's error std where they differ (from a file); undefined: the run's sigma
};

// The diagnostics of a run; each NaN where absent.
struct Diagnostics {
  // (channel)
  at::Tensor count_oa, oma_bias, oma_rms, oma_rms_member;
  at::Tensor count_ob, omb_bias, omb_rms;
  at::Tensor desroziers_r, desroziers_b, chi2, dfs, dfs_fraction;
  at::Tensor oma_rms_frame, omb_rms_frame;  // (time), over the channels
  // (rank): how often y has k perturbed members below it, over every
  // observation, of the analysis and of the background ensemble.
  at::Tensor ranks_a, ranks_b;
  // RMS spread of the perturbed members, RMSE of their mean against y, and
  // the spread-skill ratio (scores::calibration), of the analysis (_a) and of
  // the background (_b).
  double spread_a = NAN, rmse_a = NAN, calibration_a = NAN, spread_b = NAN, rmse_b = NAN, calibration_b = NAN;
};

// Sums a run's windows and seeds; `sigma` is the noise std the method
// assumed, `law` the noise law the members are perturbed with.
class Accumulator {
 public:
  Accumulator(std::int64_t channels, std::int64_t frames, std::int64_t members, double sigma, NoiseLaw law);
  // One window and seed; a diverged one (a non-finite analysis) is left out.
  void add(const Departures& d, at::Generator& generator);
  Diagnostics result() const;

 private:
  struct Ensemble {
    at::Tensor ranks;  // (members + 1)
    double spread2 = 0, error2 = 0, count = 0;  // sums over observations of spread^2 and (mean - y)^2
  };
  void rank(const at::Tensor& members, const at::Tensor& y, const at::Tensor& sigma, const at::Tensor& mask,
            at::Generator& generator, Ensemble& into) const;

  std::int64_t members_;
  double sigma_;
  NoiseLaw law_;
  double windows_with_members_ = 0;
  // (channel) sums over the observed points.
  at::Tensor n_oa_, s_oa_, ss_oa_, n_oa_member_, ss_oa_member_, n_ob_, s_ob_, ss_ob_, n_both_, s_oa_ob_;
  at::Tensor n_ens_b_, s_ab_ob_, s_hbh_, s_chi2_, n_ens_a_, s_var_a_;
  at::Tensor n_frame_oa_, ss_frame_oa_, n_frame_ob_, ss_frame_ob_;  // (time)
  Ensemble analysis_, background_;
};

}  // namespace assim::observation_space
