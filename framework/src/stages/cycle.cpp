#include "cycle.hpp"

#include <chrono>

namespace assim::cycle {

void check_differentiable(const Config& config, const SamplerNeeds& needs) {
  if (needs.differentiable_model && !config.component<Model>("model")->differentiable())
    config.fail("model", "sampler '" + config.reference("sampler") + "' differentiates through the model, and model '" +
                             config.reference("model") + "' has no differentiable time step");
}

std::uint64_t analysis_seed(std::uint64_t seed, std::int64_t index) {
  return seed * 1000003ull + static_cast<std::uint64_t>(index);
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Step advance(const Model& model, const Sampler& sampler, const at::Tensor& ensemble, std::int64_t steps,
             AssimilationProblem problem, std::uint64_t seed, const products::Normalisation* normalisation,
             Seconds& seconds) {
  Step out;
  out.forecast = ensemble;
  if (steps > 0) {
    auto t0 = std::chrono::steady_clock::now();
    auto trajectory = model.start((normalisation ? normalisation->physical(ensemble, 1) : ensemble).contiguous());
    trajectory->advance(steps);
    out.forecast = normalisation ? normalisation->normalise(trajectory->state(), 1) : trajectory->state();
    seconds.forecast += seconds_since(t0);
  }
  out.analysis = out.forecast;
  out.window = out.forecast.unsqueeze(1);
  if (problem.mask.sum().item<double>() > 0) {
    const std::int64_t members = ensemble.size(0);
    problem.forecast = out.forecast.contiguous();
    auto t0 = std::chrono::steady_clock::now();
    out.window = sampler.sample(problem, members, seed);
    out.analysis = out.window.select(1, out.window.size(1) - 1);
    seconds.analysis += seconds_since(t0);
  }
  return out;
}

}  // namespace assim::cycle
