// The items of an assimilate stage (stages/assimilate.cpp): what every
// window and seed shares, what one gives, and how the leader assembles and
// writes them into the assimilation result (stages/assimilate_result.cpp).
#pragma once

#include "products/products.hpp"

#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace assim::assimilate {

// What one window and seed gave, as it crosses workers and ranks to the
// leader: its scores and fields, or why it diverged; and what it cost.
struct WindowOutcome {
  std::string diverged;  // empty: scored
  double seconds = 0;
  at::Tensor mean, spread, rmse, rmse_sample, ranks, ensemble_spread, crps, energy, samples;
  // A filter cycled through the window: the mean of the forecast each frame
  // was analysed from, and its members where the samples are kept.
  at::Tensor forecast, forecast_samples;
  std::vector<double> cost, gradient_norm;
  std::int64_t model_steps = 0, network = 0;

  void pack(Packer& out) const {
    out.text(diverged).real(seconds);
    for (const at::Tensor* t : {&mean, &spread, &rmse, &rmse_sample, &ranks, &ensemble_spread, &crps, &energy, &samples,
                                &forecast, &forecast_samples})
      out.tensor(*t);
    out.reals(cost).reals(gradient_norm).integer(model_steps).integer(network);
  }
  static WindowOutcome unpack(Unpacker& in) {
    WindowOutcome o;
    o.diverged = in.text();
    o.seconds = in.real();
    for (at::Tensor* t : {&o.mean, &o.spread, &o.rmse, &o.rmse_sample, &o.ranks, &o.ensemble_spread, &o.crps, &o.energy,
                          &o.samples, &o.forecast, &o.forecast_samples})
      *t = in.tensor();
    o.cost = in.reals();
    o.gradient_norm = in.reals();
    o.model_steps = in.integer();
    o.network = in.integer();
    return o;
  }
};

// What every window and seed shares: read once, only read by the items.
struct Windows {
  const products::ObservationSet& set;
  std::shared_ptr<const ObservationOperator> op;
  std::shared_ptr<const Sampler> sampler;
  std::shared_ptr<const Prior> prior;
  std::shared_ptr<Model> model;
  const products::Normalisation& normalisation;
  const std::optional<at::Tensor>& climatology;
  at::Tensor mask;  // (L, obs...)
  std::int64_t members, seeds;
  std::uint64_t seed;
  bool cycle_filter;  // a filter cycled through the window with the model; 4D-Var integrates it itself
  double divergence_factor;
  bool keep_samples;
};

// The result's fields and scores, every window and seed in place (NaN where
// one diverged), and a minimiser's iterations, in window and seed order.
products::AssimilationResult assemble(const Windows& job, const std::vector<WindowOutcome>& outcomes,
                                      std::int64_t windows);

// The result, on the leader only: every window's and seed's fields and
// scores, what the method cost and took, and the observation design it was
// given, for the tables.
void write_result(StageContext& context, const Windows& job, const std::vector<WindowOutcome>& outcomes,
                  std::int64_t windows);

}  // namespace assim::assimilate
