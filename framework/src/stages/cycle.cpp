#include "cycle.hpp"

#include <assim/error.hpp>

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
             Seconds& seconds, const Ranks& team) {
  Step out;
  out.forecast = ensemble;
  if (steps > 0) {
    auto t0 = std::chrono::steady_clock::now();
    const auto [first, last] = team.block(ensemble.size(0));
    at::Tensor block = ensemble.slice(0, first, last);
    // A member that diverges stops the forecast on every rank of the team alike.
    std::string diverged;
    std::int64_t diverged_at = 0;
    if (last > first) {
      try {
        auto trajectory = model.start((normalisation ? normalisation->physical(block, 1) : block).contiguous());
        trajectory->advance(steps);
        block = normalisation ? normalisation->normalise(trajectory->state(), 1) : trajectory->state();
      } catch (const DivergenceError& e) {
        if (team.size() == 1) throw;
        // Rethrown as it was on the other ranks: the step and the message without its prefix.
        const std::string prefix = "diverged at step " + std::to_string(e.step()) + ": ", what = e.what();
        diverged = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
        diverged_at = e.step();
      }
    }
    if (team.size() == 1) {
      out.forecast = block;
    } else {
      std::vector<at::Tensor> blocks;
      const std::string mine = Packer().text(diverged).integer(diverged_at).tensor(block.contiguous()).bytes();
      for (const auto& bytes : team.all_gather(mine)) {
        Unpacker in(bytes);
        const std::string failure = in.text();
        const std::int64_t step = in.integer();
        if (!failure.empty()) throw DivergenceError(step, failure);
        blocks.push_back(in.tensor());
      }
      out.forecast = at::cat(blocks, 0);
    }
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
