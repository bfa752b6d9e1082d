#include "observation_space.hpp"

#include "scores.hpp"

#include <cmath>

namespace assim::observation_space {

namespace {

at::Tensor zeros(std::int64_t n) { return at::zeros({n}, at::kDouble); }

// Sums over time and point of `values` where `where` holds: (channel).
at::Tensor per_channel(const at::Tensor& values, const at::Tensor& where) {
  return at::where(where, values, at::zeros_like(values)).sum(at::IntArrayRef{0, 2});
}
// The same over channel and point: (time).
at::Tensor per_frame(const at::Tensor& values, const at::Tensor& where) {
  return at::where(where, values, at::zeros_like(values)).sum(at::IntArrayRef{1, 2});
}

// sum / count, NaN where nothing was counted.
at::Tensor ratio(const at::Tensor& sum, const at::Tensor& count) {
  return at::where(count > 0, sum / count, at::full_like(sum, NAN));
}

}  // namespace

Accumulator::Accumulator(std::int64_t channels, std::int64_t frames, std::int64_t members, double sigma, NoiseLaw law)
    : members_(members), sigma_(sigma), law_(law) {
  for (at::Tensor* t : {&n_oa_, &s_oa_, &ss_oa_, &n_oa_member_, &ss_oa_member_, &n_ob_, &s_ob_, &ss_ob_, &n_both_, &s_oa_ob_,
                        &n_ens_b_, &s_ab_ob_, &s_hbh_, &s_chi2_, &n_ens_a_, &s_var_a_})
    *t = zeros(channels);
  for (at::Tensor* t : {&n_frame_oa_, &ss_frame_oa_, &n_frame_ob_, &ss_frame_ob_}) *t = zeros(frames);
  analysis_.ranks = zeros(members + 1);
  background_.ranks = zeros(members + 1);
}

void Accumulator::rank(const at::Tensor& members, const at::Tensor& y, const at::Tensor& sigma, const at::Tensor& mask,
                       at::Generator& generator, Ensemble& into) const {
  // The observed values alone, as one frame of n points: (M, 1, n) and (1, n).
  const at::Tensor observed = y.masked_select(mask).unsqueeze(0);
  const at::Tensor perturbed = members.masked_select(mask.unsqueeze(0)).view({members.size(0), 1, -1});
  // Unit noise of the law, scaled by each observation's sigma.
  const at::Tensor ensemble =
      perturbed + noise(law_, 1.0, perturbed.sizes(), generator) * sigma.masked_select(mask).view({1, 1, -1});
  const scores::FrameScores s = scores::of_frames(ensemble, observed);
  const double n = static_cast<double>(observed.numel());
  into.ranks += s.ranks;
  into.spread2 += s.spread.item<double>() * s.spread.item<double>() * n;
  into.error2 += s.rmse.item<double>() * s.rmse.item<double>() * n;
  into.count += n;
}

void Accumulator::add(const Departures& d, at::Generator& generator) {
  if (!at::isfinite(d.analysis).all().item<bool>()) return;
  // Each observation's error variance; what is measured against it is left
  // out where it is 0 (noiseless observations) and absent when all are.
  const at::Tensor sigma = d.sigma.defined() ? d.sigma.to(at::kDouble) : at::full_like(d.analysis, sigma_);
  const at::Tensor sigma2 = sigma.square();
  const at::Tensor& mask = d.mask;
  const at::Tensor noisy = mask.logical_and(sigma2 > 0);
  const at::Tensor over_r = at::where(noisy, 1.0 / sigma2, at::zeros_like(sigma2));
  const at::Tensor d_oa = d.observations - d.analysis;
  n_oa_ += per_channel(at::ones_like(d_oa), mask);
  s_oa_ += per_channel(d_oa, mask);
  ss_oa_ += per_channel(d_oa.square(), mask);
  n_frame_oa_ += per_frame(at::ones_like(d_oa), mask);
  ss_frame_oa_ += per_frame(d_oa.square(), mask);
  const bool members = d.analysis_members.defined() && d.analysis_members.size(0) > 1;
  if (d.analysis_members.defined()) {
    n_oa_member_ += per_channel(at::ones_like(d_oa), mask);
    ss_oa_member_ += per_channel((d.observations.unsqueeze(0) - d.analysis_members).square().mean(0), mask);
  }
  if (members) {
    // DFS = tr(R^-1 H P_a H^T): the analysis variance in observation space over sigma_o^2.
    s_var_a_ += per_channel(d.analysis_members.var(0, /*unbiased=*/true) * over_r, noisy);
    n_ens_a_ += per_channel(at::ones_like(d_oa), noisy);
    windows_with_members_ += 1;
    rank(d.analysis_members, d.observations, sigma, mask, generator, analysis_);
  }
  if (!d.background.defined()) return;
  const at::Tensor with_background = mask.logical_and(at::isfinite(d.background));
  const at::Tensor d_ob = d.observations - d.background;
  n_ob_ += per_channel(at::ones_like(d_ob), with_background);
  s_ob_ += per_channel(d_ob, with_background);
  ss_ob_ += per_channel(d_ob.square(), with_background);
  n_frame_ob_ += per_frame(at::ones_like(d_ob), with_background);
  ss_frame_ob_ += per_frame(d_ob.square(), with_background);
  const at::Tensor noisy_with_background = with_background.logical_and(noisy);
  s_oa_ob_ += per_channel(d_oa * d_ob * over_r, noisy_with_background);
  n_both_ += per_channel(at::ones_like(d_ob), noisy_with_background);
  if (d.background_members.defined() && d.background_members.size(0) > 1) {
    const at::Tensor hbh = d.background_members.var(0, /*unbiased=*/true);
    const at::Tensor d_ab = d.analysis - d.background;
    s_ab_ob_ += per_channel(d_ab * d_ob, with_background);
    s_hbh_ += per_channel(hbh, with_background);
    s_chi2_ += per_channel(d_ob.square() / (hbh + sigma2), with_background);
    n_ens_b_ += per_channel(at::ones_like(d_ob), with_background);
    rank(d.background_members, d.observations, sigma, with_background, generator, background_);
  }
}

Diagnostics Accumulator::result() const {
  Diagnostics r;
  const auto absent_where_none = [](const at::Tensor& counts) {
    return at::where(counts > 0, counts, at::full_like(counts, NAN));
  };
  r.count_oa = n_oa_.clone();
  r.oma_bias = ratio(s_oa_, n_oa_);
  r.oma_rms = ratio(ss_oa_, n_oa_).sqrt();
  r.oma_rms_member = ratio(ss_oa_member_, n_oa_member_).sqrt();  // absent without the members
  r.count_ob = n_ob_.clone();
  r.omb_bias = ratio(s_ob_, n_ob_);
  r.omb_rms = ratio(ss_ob_, n_ob_).sqrt();
  r.desroziers_r = ratio(s_oa_ob_, n_both_);
  r.desroziers_b = ratio(s_ab_ob_, absent_where_none(n_ens_b_)) / ratio(s_hbh_, n_ens_b_);
  r.chi2 = ratio(s_chi2_, n_ens_b_);
  r.dfs = windows_with_members_ > 0 ? at::where(n_ens_a_ > 0, s_var_a_ / windows_with_members_, at::full_like(s_var_a_, NAN))
                                    : at::full_like(s_var_a_, NAN);
  r.dfs_fraction = ratio(s_var_a_, n_ens_a_);
  r.oma_rms_frame = ratio(ss_frame_oa_, n_frame_oa_).sqrt();
  r.omb_rms_frame = ratio(ss_frame_ob_, n_frame_ob_).sqrt();
  const auto ensemble = [&](const Ensemble& e, at::Tensor& ranks, double& spread, double& rmse, double& calibration) {
    if (e.count == 0) {
      ranks = at::full_like(e.ranks, NAN);
      return;
    }
    ranks = e.ranks.clone();
    spread = std::sqrt(e.spread2 / e.count);
    rmse = std::sqrt(e.error2 / e.count);
    calibration = scores::calibration(spread, rmse, static_cast<double>(members_));
  };
  ensemble(analysis_, r.ranks_a, r.spread_a, r.rmse_a, r.calibration_a);
  ensemble(background_, r.ranks_b, r.spread_b, r.rmse_b, r.calibration_b);
  return r;
}

}  // namespace assim::observation_space
