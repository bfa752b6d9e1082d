// Small problems and broken or counting priors, for what the score-based
// samplers (plugins/sda/tests, plugins/soad/tests) accept and refuse, and
// how many network calls they make.
//
// Every header of torch comes before doctest in the files that include this
// one: glog's CHECK macros would otherwise replace doctest's.
#pragma once

#include "known_posteriors.hpp"

#include <assim/error.hpp>
#include <assim/parameters.hpp>
#include <assim/score_sampling.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace toy::checks {

// Two frames of a (1, 2, 3) state, every other entry observed.
inline assim::AssimilationProblem small_problem(at::ScalarType dtype) {
  assim::AssimilationProblem p;
  assim::StateSpec state;
  state.variable = "x";
  state.dims = {{"channel", 1, "", 0.0}, {"y", 2, "1", 1.0}, {"x", 3, "1", 1.0}};
  p.set_state(state);
  p.set_observation_operator(identity());
  p.set_observations(at::linspace(-1, 1, 12, f64).reshape({2, 1, 2, 3}).to(dtype));
  p.set_mask((at::arange(12).remainder(2) == 0).reshape({2, 1, 2, 3}).to(dtype));
  p.set_observation_sigma(0.1);
  p.set_background(at::zeros({1, 2, 3}, dtype));
  p.set_background_sigma(0.2);
  return p;
}

// The small problem with a prior over the state alone, as SDA takes it.
inline assim::AssimilationProblem for_sda(at::ScalarType dtype = at::kDouble) {
  auto p = small_problem(dtype);
  p.set_prior(gaussian({2, 1, 2, 3}, 0.0, 1.0));
  return p;
}

// The small problem with a prior over z = (x, H(x)), as SOAD takes it.
inline assim::AssimilationProblem for_soad(at::ScalarType dtype = at::kDouble) {
  auto p = small_problem(dtype);
  p.set_prior(std::make_shared<AugmentedGaussian>(gaussian({2, 2, 2, 3}, 0.0, 1.0), p.observation_operator()));
  return p;
}

// A sampler's options for the small problems: 8 diffusion steps (as
// call_cases counts), the rest the defaults.
template <class Options>
Options quick() {
  Options o;
  o.steps = 8;
  return o;
}

// A denoiser that breaks down below t = 0.5: NaN from there on.
class BrokenPrior : public assim::Prior {
 public:
  BrokenPrior(std::shared_ptr<const assim::Prior> inner, std::shared_ptr<const assim::ObservationOperator> h)
      : inner_(std::move(inner)), h_(std::move(h)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    const at::Tensor eps = inner_->denoise(z_t, t);
    return t.max().item<double>() < 0.5 ? eps * NAN : eps;
  }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return h_; }

 private:
  std::shared_ptr<const assim::Prior> inner_;
  std::shared_ptr<const assim::ObservationOperator> h_;
};

// The names a declaration lists, in its order.
inline std::vector<std::string> names_of(const assim::Parameters& declared) {
  std::vector<std::string> names;
  for (const auto& p : declared.list()) names.push_back(p.name);
  return names;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const assim::Error& e) {
    return e.what();
  }
  return "no error";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Counts the denoiser calls (one per chunk of members) of the prior it wraps.
class CountingPrior : public assim::Prior {
 public:
  explicit CountingPrior(std::shared_ptr<const assim::Prior> inner) : inner_(std::move(inner)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    ++calls;
    return inner_->denoise(z_t, t);
  }
  std::shared_ptr<const assim::ObservationOperator> augmentation() const override { return inner_->augmentation(); }
  mutable long calls = 0;

 private:
  std::shared_ptr<const assim::Prior> inner_;
};

// A sampler's samples of a problem for seed 11, again for 11, for 12, and
// for 11 with 3 members per batch: the first two must be equal, the third
// differ, the last agree to rounding.
struct SeedRuns {
  at::Tensor first, again, other_seed, batched;
};
template <class Sampler, class Options>
SeedRuns seed_runs(const assim::AssimilationProblem& p, Options o) {
  SeedRuns runs{Sampler(o).sample(p, 7, 11), Sampler(o).sample(p, 7, 11), Sampler(o).sample(p, 7, 12), {}};
  o.batch = 3;
  runs.batched = Sampler(o).sample(p, 7, 11);
  return runs;
}

// Network calls per window of K = 8 steps (quick's): K (1 + N_c) fresh, 2K
// as Algorithm 1, K + 1 stale; all K without moves.
struct CallCase {
  assim::score::Guidance guidance;
  int moves;
  long calls;
};
inline std::vector<CallCase> call_cases() {
  using assim::score::Guidance;
  constexpr int kSteps = 8, kMoves = 3;
  return {{Guidance::kFresh, kMoves, kSteps * (1 + kMoves)},
          {Guidance::kAlgorithm1, kMoves, 2 * kSteps},
          {Guidance::kStale, kMoves, kSteps + 1},
          {Guidance::kFresh, 0, kSteps},
          {Guidance::kAlgorithm1, 0, kSteps},
          {Guidance::kStale, 0, kSteps}};
}

// The samples, and the denoiser calls it took to draw them.
template <class Sampler>
std::pair<at::Tensor, long> counted(assim::AssimilationProblem problem, const Sampler& sampler) {
  auto prior = std::make_shared<CountingPrior>(problem.prior());
  problem.set_prior(prior);
  const at::Tensor samples = sampler.sample(problem, 3, 4);
  return std::make_pair(samples, prior->calls);
}

}  // namespace toy::checks
